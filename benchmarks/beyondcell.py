"""Beyondcell parity: ``pk.tl.beyondcell_scores`` against Beyondcell's own R code (bcScore).

Scores the simulated tumour (``pk.data.simulate_tumour_subclones``, seeds 0-2; log
expression clipped at 0) against DREEP-style sensitivity signatures of its panel, exports
the expression and signatures, runs ``benchmarks/beyondcell_reference.R`` (which sources
``R/objects.R`` and ``R/Score.R`` from a checkout of github.com/cnio-bu/beyondcell; R with
Seurat and stringr), and compares the normalised BCS, the scaled BCS and the switch points.
Beyondcell rounds its scores to 2 decimals before scaling and before the switch point, so
agreement is expected to about 0.005 (normalised) and 0.01 (scaled, switch point).
Writes ``benchmarks/results/beyondcell.json``.

Usage: python benchmarks/beyondcell.py [--beyondcell PATH] [--commit SHA] [--out PATH]
Without the checkout or Rscript it says so and leaves the committed result alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import perturbkit as pk

HERE = Path(__file__).resolve().parent


def run_seed(seed: int, src: Path, expr_thres: float = 0.1) -> dict:
    sim = pk.data.simulate_tumour_subclones(seed=seed)
    cells = sim["cells"]
    cells.X = cells.X.clip(0)
    # dropout: a tenth of all values, and 97% of the values of 20 cells, are set to 0 so that
    # cells below the coverage threshold (NaN) are compared too
    rng = np.random.default_rng(seed)
    cells.X[rng.random(cells.X.shape) < 0.1] = 0.0
    sparse = rng.choice(cells.n_obs, 20, replace=False)
    cells.X[sparse] = np.where(rng.random((20, cells.n_vars)) < 0.97, 0.0, cells.X[sparse])
    sig = pk.tl.drug_response_signatures(sim["ic50"], sim["expression"])
    pk.tl.beyondcell_scores(cells, sig, expr_thres=expr_thres)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pd.DataFrame(np.asarray(cells.X, dtype=float).T, index=cells.var_names, columns=cells.obs_names).to_csv(
            folder / "expression.csv")
        sig[["source", "target", "weight"]].to_csv(folder / "signatures.csv", index=False)
        (folder / "expr_thres.txt").write_text(f"{expr_thres}\n")
        subprocess.run(["Rscript", str(HERE / "beyondcell_reference.R"), str(src), str(folder)], check=True,
                       capture_output=True)
        ref_norm = pd.read_csv(folder / "bcs_normalized.csv", index_col=0)
        ref_scaled = pd.read_csv(folder / "bcs_scaled.csv", index_col=0)
        ref_sp = pd.read_csv(folder / "switch_point.csv").set_index("drug")["switch_point"]
    ours = cells.obsm["beyondcell"].loc[ref_norm.index, ref_norm.columns]
    ours_scaled = cells.obsm["beyondcell_scaled"].loc[ref_norm.index, ref_norm.columns]
    sp = pd.Series(cells.uns["beyondcell"]["switch_point"])[ref_sp.index]
    same_nan = bool((ours.isna().to_numpy() == ref_norm.isna().to_numpy()).all())
    return {
        "seed": seed,
        "cells": int(cells.n_obs),
        "drugs": list(map(str, ref_norm.columns)),
        "nan_cells": int(ours.isna().to_numpy().sum()),
        "same_nan_cells": same_nan,
        "max_abs_diff_normalized": float(np.nanmax(np.abs(ours.to_numpy() - ref_norm.to_numpy()))),
        "max_abs_diff_scaled": float(np.nanmax(np.abs(ours_scaled.to_numpy() - ref_scaled.to_numpy()))),
        "max_abs_diff_switch_point": float((sp - ref_sp).abs().max()),
        "switch_point": {d: round(float(v), 4) for d, v in sp.items()},
        "switch_point_beyondcell": {d: float(v) for d, v in ref_sp.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beyondcell", type=Path, default=os.environ.get("BEYONDCELL_SRC"),
                        help="checkout of github.com/cnio-bu/beyondcell (default: $BEYONDCELL_SRC)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "beyondcell.json")
    parser.add_argument("--commit", default=None, help="Beyondcell commit of the checkout")
    args = parser.parse_args()
    if args.beyondcell is None or not (Path(args.beyondcell) / "R" / "Score.R").exists() or shutil.which("Rscript") is None:
        print("Beyondcell checkout (--beyondcell or $BEYONDCELL_SRC) or Rscript not found: the committed "
              f"{args.out.name} is left as it is")
        return 0
    rows = [run_seed(seed, Path(args.beyondcell)) for seed in (0, 1, 2)]
    out = {"reference": "github.com/cnio-bu/beyondcell R/Score.R (bcScore, SwitchPoint)",
           "commit": args.commit, "seeds": rows,
           "max_abs_diff_normalized": max(r["max_abs_diff_normalized"] for r in rows),
           "max_abs_diff_scaled": max(r["max_abs_diff_scaled"] for r in rows),
           "max_abs_diff_switch_point": max(r["max_abs_diff_switch_point"] for r in rows),
           "same_nan_cells": all(r["same_nan_cells"] for r in rows)}
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "seeds"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
