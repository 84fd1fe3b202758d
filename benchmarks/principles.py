"""E-distance and Augur: perturbkit timed (and, with pertpy installed, cross-checked).

On Kang 2018 (muscat subset; log-normalised, 500 HVGs, 20 PCs) this times
``pk.tl.edistance`` (per cell type, with and without a 1,000-permutation E-test) and
``pk.tl.augur`` (20 cells per condition, 50 subsamples). With the optional extra
``crosscheck`` (``pip install '.[crosscheck]'``: pertpy, which pulls JAX) it runs
``pertpy.tools.Distance("edistance")`` and ``pertpy.tools.Augur`` on the same data and
prints the agreement and the speed ratio. pertpy 1.0.3's ``Distance("edistance")`` uses
Euclidean cell-to-cell distances (``Distance.__call__`` ignores ``cell_wise_metric``: its
``Edistance`` keeps ``"euclidean"``), so it is compared with ``metric="euclidean"``; the
squared-Euclidean variant is compared by setting ``dist.metric_fct.cell_wise_metric``.
Augur is run with matched settings on both sides (Augur's defaults: 50 subsamples of 20
cells per condition, 3 folds, 100 trees with ``max_features=2`` as R Augur's ``mtry``, the
``select_variance`` gene filter with ``var_quantile=0.5``, ``feature_perc=0.5``); the script
prints the per-cell-type AUCs, their mean and max absolute difference, the Spearman
correlation of the ranks, the difference in units of its subsampling standard error, the
overlap (Jaccard) of the genes kept by the two gene filters, and the speed ratio.
Without pertpy the script says so and reports perturbkit's timings only.

Usage: python benchmarks/principles.py [--out PATH]
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


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _best_of(n, fn, *args, **kwargs):
    """Fastest of ``n`` runs: the E-distances take milliseconds, so one run is mostly noise."""
    best = np.inf
    for _ in range(n):
        out, t = _timed(fn, *args, **kwargs)
        best = min(best, t)
    return out, best


N_SUBSAMPLES = 50  # Augur's default; the subsampling noise of a mean AUC shrinks as 1/sqrt(50)


def _augur_crosscheck(pt, adata, result: dict) -> pd.DataFrame:
    """pertpy's Augur with pk.tl.augur's settings; agreement numbers go into ``result``."""
    from perturbkit._validate import as_dense
    from perturbkit.tl._stats._augur import _select_genes

    ag = pt.tools.Augur("random_forest_classifier", n_estimators=100, max_features=2, random_state=0)
    loaded = ag.load(adata, label_col="perturbation", cell_type_col="cell_type")
    t0 = time.perf_counter()
    _, res = ag.predict(loaded, n_subsamples=N_SUBSAMPLES, subsample_size=20, n_threads=1, random_state=0)
    result["pertpy_augur_s"] = time.perf_counter() - t0
    pt_auc = res["summary_metrics"].loc["mean_augur_score"].astype(float)
    per_subsample = res["full_results"].groupby(["cell_type", "idx"])["augur_score"].mean()
    pt_sd = per_subsample.groupby("cell_type").std()
    jaccard = {}
    for ct in pt_auc.index:
        sub = loaded[loaded.obs["cell_type"] == ct].copy()
        theirs = set(sub.var_names[ag.select_variance(sub, var_quantile=0.5,
                                                      filter_negative_residuals=False).var["highly_variable"]])
        ours = set(adata.var_names[_select_genes(as_dense(adata[adata.obs["cell_type"] == ct].X),
                                                 method="augur", var_quantile=0.5, span=0.75)])
        jaccard[ct] = len(ours & theirs) / len(ours | theirs)
    table = pd.DataFrame({"cell_type": sorted(result["pk_augur_auc"])})
    table["perturbkit"] = table["cell_type"].map(result["pk_augur_auc"])
    table["pertpy"] = table["cell_type"].map(pt_auc)
    table["diff"] = table["perturbkit"] - table["pertpy"]
    # standard error of the difference of two independent means over N_SUBSAMPLES subsamples
    se = np.sqrt((table["cell_type"].map(result["pk_augur_auc_sd"]) ** 2
                  + table["cell_type"].map(pt_sd) ** 2) / N_SUBSAMPLES)
    table["diff_over_se"] = table["diff"] / se
    table["gene_filter_jaccard"] = table["cell_type"].map(jaccard)
    result["pertpy_augur_auc"] = {k: round(float(v), 4) for k, v in pt_auc.items()}
    result["augur_mean_abs_diff"] = float(table["diff"].abs().mean())
    result["augur_max_abs_diff"] = float(table["diff"].abs().max())
    result["augur_max_abs_diff_over_se"] = float(table["diff_over_se"].abs().max())
    result["augur_spearman"] = float(stats.spearmanr(table["perturbkit"], table["pertpy"]).statistic)
    result["augur_pearson"] = float(np.corrcoef(table["perturbkit"], table["pertpy"])[0, 1])
    result["augur_gene_filter_min_jaccard"] = float(min(jaccard.values()))
    result["augur_speed_ratio_pertpy_over_pk"] = result["pertpy_augur_s"] / result["pk_augur_s"]
    return table


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
    ed_sq, t = _best_of(5, pk.tl.edistance, adata, metric="sqeuclidean", n_perms=0, unbiased=False)
    result["pk_edistance_sqeuclidean_s"] = t
    ed_eu, t = _best_of(5, pk.tl.edistance, adata, metric="euclidean", n_perms=0, unbiased=False)
    result["pk_edistance_euclidean_s"] = t
    _, t = _timed(pk.tl.edistance, adata, n_perms=1000)
    result["pk_edistance_etest_1000_s"] = t
    aug, t = _timed(pk.tl.augur, adata, subsample_size=20, n_subsamples=N_SUBSAMPLES, n_trees=100, seed=0)
    result["pk_augur_s"] = t
    result["pk_edistance_sqeuclidean"] = dict(zip(ed_sq["cell_type"], ed_sq["edistance"], strict=True))
    result["pk_edistance_euclidean"] = dict(zip(ed_eu["cell_type"], ed_eu["edistance"], strict=True))
    result["pk_augur_auc"] = dict(zip(aug["cell_type"], aug["auc"].round(4), strict=True))
    result["pk_augur_auc_sd"] = dict(zip(aug["cell_type"], aug["auc_sd"].round(4), strict=True))

    try:
        import pertpy as pt
    except ImportError:
        print("pertpy not installed (pip install '.[crosscheck]'): skipped the cross-check")
        result["pertpy"] = "pertpy not installed: skipped"
    else:
        result["pertpy"] = pt.__version__
        cell_types = list(adata.obs["cell_type"].cat.categories)
        is_ctrl = (adata.obs["perturbation"] == pk.data.CONTROL).to_numpy()
        rows = []
        for cell_metric in ("euclidean", "sqeuclidean"):
            dist = pt.tools.Distance(metric="edistance", obsm_key="X_pca", cell_wise_metric=cell_metric)
            dist.metric_fct.cell_wise_metric = cell_metric  # pertpy 1.0.3 drops it for direct calls
            def per_cell_type(dist=dist):
                out = {}
                for ct in cell_types:
                    in_ct = (adata.obs["cell_type"] == ct).to_numpy()
                    out[ct] = float(dist(adata.obsm["X_pca"][in_ct & ~is_ctrl], adata.obsm["X_pca"][in_ct & is_ctrl]))
                return out

            pt_ed, result[f"pertpy_edistance_{cell_metric}_s"] = _best_of(5, per_cell_type)
            result[f"pertpy_edistance_{cell_metric}"] = pt_ed
            ours = np.array([result[f"pk_edistance_{cell_metric}"][k] for k in cell_types])
            theirs = np.array([pt_ed[k] for k in cell_types])
            result[f"edistance_{cell_metric}_max_rel_diff"] = float(np.max(np.abs(ours - theirs) / np.abs(theirs)))
            result[f"edistance_{cell_metric}_pearson"] = float(np.corrcoef(ours, theirs)[0, 1])
            result[f"edistance_{cell_metric}_speed_ratio_pertpy_over_pk"] = (
                result[f"pertpy_edistance_{cell_metric}_s"] / result[f"pk_edistance_{cell_metric}_s"])
            rows += [{"metric": cell_metric, "cell_type": k, "perturbkit": a, "pertpy": b}
                     for k, a, b in zip(cell_types, ours, theirs, strict=True)]
        ed_table = pd.DataFrame(rows)
        ed_table["rel_diff"] = (ed_table["perturbkit"] - ed_table["pertpy"]).abs() / ed_table["pertpy"].abs()

        auc_table = _augur_crosscheck(pt, adata, result)
        print("E-distance per cell type (perturbkit vs pertpy, same X_pca):")
        print(ed_table.round(4).to_string(index=False))
        print(f"\nAugur AUC per cell type ({N_SUBSAMPLES} subsamples of 20 cells per condition, 100 trees,"
              " max_features=2, select_variance filter, on both sides):")
        print(auc_table.round(4).to_string(index=False))
        print()

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    for key, value in result.items():
        if isinstance(value, dict):
            continue  # the per-cell-type dicts are in the JSON and in the tables above
        print(f"{key:40s} {value:.4g}" if isinstance(value, float) else f"{key:40s} {value}")


if __name__ == "__main__":
    main()
