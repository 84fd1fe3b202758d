"""Batched dose-response fitting vs a per-curve scipy.optimize.curve_fit loop.

All L1000 LJP005 A375 gene x compound curves (59 compounds x 978 genes = 57,702 LL.4 fits;
each curve = one compound's 5-6 dose wells + the 26 DMSO wells at dose 0). Both fitters
start from the same self-start values, optimise (b, c, d, log e) with the analytic Jacobian
and stop by MINPACK's rules (ftol = xtol = 1.49e-8, a budget of 500 evaluations/iterations).
Reports the speed ratio, failure rates of both, and the largest relative difference of the
estimates where both converged to a valid fit. The default-settings batched fitter (early
abandoning of run-away curves, two restarts) is timed too.

Usage: python benchmarks/dose_fit.py [--groups N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import perturbkit as pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=None, help="only the first N compounds")
    parser.add_argument("--out", default="_build/benchmarks/dose_fit.json")
    args = parser.parse_args()
    adata = pk.data.load("l1000_ljp005_a375_dose")
    groups = [g for g in adata.obs["perturbation"].cat.categories if g != pk.data.CONTROL][: args.groups]
    batch = pk.get.dose_curves(adata, groups=groups)
    result = pk.dose.compare_with_scipy(batch["dose"], batch["response"], batch["weights"])
    t0 = time.perf_counter()
    default = pk.dose.fit_curves(batch["dose"], batch["response"], "LL.4", weights=batch["weights"])
    result["seconds_batched_default"] = time.perf_counter() - t0
    result["valid_batched_default"] = float(default["converged"].mean())
    result["speedup_default"] = result["seconds_scipy"] / result["seconds_batched_default"]
    result["n_groups"] = len(groups)
    table = result.pop("table")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    table.to_csv(out.with_suffix(".curves.csv.gz"), index=False)
    for key, value in result.items():
        print(f"{key:28s} {value:.6g}" if isinstance(value, float) else f"{key:28s} {value}")


if __name__ == "__main__":
    main()
