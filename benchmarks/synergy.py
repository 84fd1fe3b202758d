"""perturbkit's HSA and Bliss scores against the PyPI package ``synergy`` (Wooten) on the
SynergyFinder example blocks.

Both packages define HSA and Bliss the same way once responses are put on the same scale
(``synergy`` works with the surviving fraction E = 1 - inhibition / 100 and reports
reference - E; perturbkit reports observed - reference in % inhibition points, i.e. 100 times
the same number). Replicates are averaged first, and ``synergy``'s default single-drug model
(log-linear interpolation) reproduces the measured single-drug responses at the tested
doses. Reports, per block and model, the largest absolute difference of well scores and the
speed ratio. Loewe and ZIP are not compared: ``synergy`` fits a different single-drug model
(Hill without SynergyFinder's baseline conventions), so differences there are expected.

``synergy`` is an optional extra (``pip install '.[benchmarks]'``); without it the script
says so and exits 0.

Usage: python benchmarks/synergy.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import perturbkit as pk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="_build/benchmarks/synergy.json")
    args = parser.parse_args()
    # this script is itself called synergy.py: drop its folder so the package is imported
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.modules.pop("synergy", None)
    try:
        from synergy.combination import HSA, Bliss
    except ImportError:
        print("the PyPI package 'synergy' is not installed: pip install '.[benchmarks]'; skipped")
        return 0
    blocks = pk.data.load("drugcomb_synergyfinder", sets=("oneil", "mathews"))
    result: dict[str, dict[str, float]] = {}
    t_ours = t_ref = 0.0
    for method, cls in (("hsa", HSA), ("bliss", Bliss)):
        t0 = time.perf_counter()
        ours = pk.tl.synergy(blocks, method=method)
        t_ours += time.perf_counter() - t0
        for block, tab in ours.groupby("block_id", sort=False):
            d1, d2 = tab["conc_row"].to_numpy(), tab["conc_col"].to_numpy()
            e = 1.0 - tab["response"].to_numpy() / 100.0
            t0 = time.perf_counter()
            model = cls()
            ref = np.asarray(model.fit(d1, d2, e), dtype=float) * 100.0
            t_ref += time.perf_counter() - t0
            both = (d1 > 0) & (d2 > 0)
            diff = np.abs(ref[both] - tab["synergy"].to_numpy()[both])
            result.setdefault(block, {})[f"{method}_max_abs_diff"] = float(np.nanmax(diff))
            result[block][f"{method}_mean_perturbkit"] = float(tab["synergy"].to_numpy()[both].mean())
            result[block][f"{method}_mean_synergy_pkg"] = float(np.nanmean(ref[both]))
    summary = {"blocks": result, "seconds_perturbkit": t_ours, "seconds_synergy": t_ref,
               "speed_ratio": t_ref / t_ours if t_ours else float("nan")}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    for block, vals in result.items():
        print(block, {k: round(v, 6) for k, v in vals.items()})
    print(f"speed ratio (synergy / perturbkit): {summary['speed_ratio']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
