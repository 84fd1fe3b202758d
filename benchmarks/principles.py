"""E-distance and Augur: perturbkit timed (and, with pertpy installed, cross-checked).

On Kang 2018 (muscat subset; log-normalised, 500 HVGs, 20 PCs) this times
``pk.tl.edistance`` (per cell type, with and without a 1,000-permutation E-test) and
``pk.tl.augur`` (20 cells per condition, 10 subsamples). With the optional extra
``crosscheck`` (``pip install '.[crosscheck]'``: pertpy, which pulls JAX) it runs
``pertpy.tools.Distance("edistance")`` and ``pertpy.tools.Augur`` on the same data and
prints the agreement (pertpy's E-distance uses squared Euclidean distances, so it is
compared with ``metric="sqeuclidean"``; Augur AUCs are compared by rank) and the speed ratio.
Without pertpy the script says so and reports perturbkit's timings only.

Usage: python benchmarks/principles.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scanpy as sc
from scipy import stats

import perturbkit as pk


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="_build/benchmarks/principles.json")
    args = parser.parse_args()

    adata = pk.data.load("kang2018_ifnb_muscat")
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    sc.pp.highly_variable_genes(adata, n_top_genes=500)
    sc.pp.pca(adata, n_comps=20, mask_var="highly_variable", random_state=0)

    result: dict[str, object] = {}
    ed_sq, t = _timed(pk.tl.edistance, adata, metric="sqeuclidean", n_perms=0)
    result["pk_edistance_sqeuclidean_s"] = t
    _, t = _timed(pk.tl.edistance, adata, n_perms=1000)
    result["pk_edistance_etest_1000_s"] = t
    aug, t = _timed(pk.tl.augur, adata, subsample_size=20, n_subsamples=10, n_trees=100, seed=0)
    result["pk_augur_s"] = t
    result["pk_edistance_sqeuclidean"] = dict(zip(ed_sq["cell_type"], ed_sq["edistance"].round(4), strict=True))
    result["pk_augur_auc"] = dict(zip(aug["cell_type"], aug["auc"].round(4), strict=True))

    try:
        import pertpy as pt
    except ImportError:
        result["pertpy"] = "not installed (pip install '.[crosscheck]'): cross-check skipped"
    else:
        result["pertpy"] = pt.__version__
        dist = pt.tools.Distance(metric="edistance", obsm_key="X_pca")
        t0 = time.perf_counter()
        pt_ed = {}
        for ct in adata.obs["cell_type"].cat.categories:
            sub = adata[adata.obs["cell_type"] == ct]
            x = sub.obsm["X_pca"][(sub.obs["perturbation"] != pk.data.CONTROL).to_numpy()]
            y = sub.obsm["X_pca"][(sub.obs["perturbation"] == pk.data.CONTROL).to_numpy()]
            pt_ed[ct] = float(dist(x, y))
        result["pertpy_edistance_s"] = time.perf_counter() - t0
        ours = np.array([result["pk_edistance_sqeuclidean"][k] for k in pt_ed])
        result["edistance_max_rel_diff"] = float(np.max(np.abs(ours - np.array(list(pt_ed.values()))) / ours))
        result["edistance_speed_ratio_pertpy_over_pk"] = result["pertpy_edistance_s"] / result["pk_edistance_sqeuclidean_s"]

        ag = pt.tools.Augur("random_forest_classifier")
        loaded = ag.load(adata, label_col="perturbation", cell_type_col="cell_type")
        t0 = time.perf_counter()
        _, res = ag.predict(loaded, subsample_size=20, n_threads=1, random_state=0)
        result["pertpy_augur_s"] = time.perf_counter() - t0
        pt_auc = res["summary_metrics"].loc["mean_augur_score"].to_dict()
        shared = sorted(set(pt_auc) & set(result["pk_augur_auc"]))
        rho = stats.spearmanr([pt_auc[k] for k in shared], [result["pk_augur_auc"][k] for k in shared])
        result["pertpy_augur_auc"] = {k: round(float(v), 4) for k, v in pt_auc.items()}
        result["augur_spearman"] = float(rho.statistic)
        result["augur_speed_ratio_pertpy_over_pk"] = result["pertpy_augur_s"] / result["pk_augur_s"]

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    for key, value in result.items():
        print(f"{key:40s} {value:.4g}" if isinstance(value, float) else f"{key:40s} {value}")


if __name__ == "__main__":
    main()
