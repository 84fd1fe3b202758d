"""Augur parity: ``pk.tl.augur`` against pertpy's ``Augur`` on Kang 2018 with the chapter's settings.

Both sides run on the same cells (the muscat subset of Kang 2018, log-normalised as in the
principles chapter), with Augur's defaults that the chapter also uses: subsamples of 20 cells
per condition, 3 folds, 100 trees with two genes tried per split (R Augur's ``mtry``), the
``select_variance`` gene filter (``var_quantile=0.5``) and half of the kept genes per
subsample. Each side averages ``--subsamples`` subsamples (50, Augur's default); the standard
error of a side's mean AUC is the SD across its subsamples over sqrt(subsamples), and the
difference is reported in units of the SE of the difference. The principles chapter quotes
``benchmarks/results/augur.json`` through ``pk.book.benchmark("augur")``.

pertpy 1.0.3 needs scikit-learn < 1.8, so it runs in a side environment (``make crosscheck-env``
builds ``.venv-crosscheck`` with the ``crosscheck`` extra's pins):

    make crosscheck-env
    PYTHONPATH=src .venv-crosscheck/bin/python benchmarks/augur.py

Usage: python benchmarks/augur.py [--subsamples N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scanpy as sc
from scipy import stats

import perturbkit as pk

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subsamples", type=int, default=50)
    parser.add_argument("--out", default=str(HERE / "results" / "augur.json"))
    args = parser.parse_args()
    import pertpy as pt
    import sklearn

    adata = pk.data.load("kang2018_ifnb_muscat")
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    n = args.subsamples

    t0 = time.perf_counter()
    ours = pk.tl.augur(adata, groupby="perturbation", control=pk.data.CONTROL, split_by="cell_type",
                       subsample_size=20, n_subsamples=n, n_trees=100, max_features=2, seed=0)
    pk_s = time.perf_counter() - t0

    ag = pt.tools.Augur("random_forest_classifier", n_estimators=100, max_features=2, random_state=0)
    loaded = ag.load(adata, label_col="perturbation", cell_type_col="cell_type")
    t0 = time.perf_counter()
    _, res = ag.predict(loaded, n_subsamples=n, subsample_size=20, n_threads=1, random_state=0)
    pt_s = time.perf_counter() - t0
    pt_auc = res["summary_metrics"].loc["mean_augur_score"].astype(float)
    # one AUC per subsample: pertpy reports per fold, so average the folds of each subsample
    pt_sd = res["full_results"].groupby(["cell_type", "idx"])["augur_score"].mean().groupby("cell_type").std()

    table = ours[["cell_type", "auc", "auc_sd"]].rename(columns={"auc": "perturbkit", "auc_sd": "perturbkit_sd"})
    table["pertpy"] = table["cell_type"].map(pt_auc)
    table["pertpy_sd"] = table["cell_type"].map(pt_sd)
    table["perturbkit_se"] = table["perturbkit_sd"] / np.sqrt(n)
    table["pertpy_se"] = table["pertpy_sd"] / np.sqrt(n)
    table["diff"] = table["perturbkit"] - table["pertpy"]
    table["diff_se"] = np.sqrt(table["perturbkit_se"] ** 2 + table["pertpy_se"] ** 2)
    table["diff_over_se"] = table["diff"] / table["diff_se"]
    print(table.round(4).to_string(index=False))
    result = {
        "dataset": "kang2018_ifnb_muscat",
        "settings": {"subsample_size": 20, "n_subsamples": n, "n_folds": 3, "n_trees": 100, "max_features": 2,
                     "feature_selection": "augur (select_variance, var_quantile=0.5)", "feature_fraction": 0.5},
        "pertpy": pt.__version__, "scikit_learn": sklearn.__version__,
        "table": table.round(4).to_dict(orient="records"),
        "max_abs_diff": float(table["diff"].abs().max()),
        "max_abs_diff_over_se": float(table["diff_over_se"].abs().max()),
        "within_2se": bool((table["diff_over_se"].abs() < 2).all()),
        "spearman": float(stats.spearmanr(table["perturbkit"], table["pertpy"]).statistic),
        "perturbkit_s": pk_s, "pertpy_s": pt_s,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print({k: v for k, v in result.items() if k != "table"})


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
