"""Single-cell screen methods: perturbkit timed on Papalexi 2021 (and cross-checked with pertpy).

Times guide assignment, the calibrated knockdown test, Mixscape, MIMOSCA, scMAGeCK-RRA and
MUSIC on the 20,729-cell ECCITE-seq screen. With the optional extra ``crosscheck``
(``pip install '.[crosscheck]'``: pertpy, which pulls JAX) it also runs
``pertpy.tools.Mixscape`` (signature from 20 non-targeting neighbours per replicate, then
classification) on the same cells and reports the knockout fraction per target from both,
their Spearman correlation, the share of cells classified alike and the speed ratio.
Without pertpy the script says so and reports perturbkit's timings only.

Usage: python benchmarks/screens.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

import perturbkit as pk


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _pertpy_mixscape(adata) -> tuple[pd.Series, pd.Series, float] | None:
    try:
        import pertpy as pt
        import scanpy as sc
    except ImportError:
        return None
    ad = adata[~adata.obs["perturbation"].isin(["multiple", "unassigned"])].copy()
    ad.X = ad.layers["counts"].copy()
    sc.pp.normalize_total(ad, target_sum=1e4)
    sc.pp.log1p(ad)
    sc.pp.pca(ad, n_comps=15)
    t0 = time.perf_counter()
    ms = pt.tl.Mixscape()
    # pertpy 1.0.3: the label column is ``pert_key`` in both calls (``labels=`` is gone)
    ms.perturbation_signature(ad, pert_key="perturbation", control="control", split_by="replicate",
                              n_neighbors=20)
    ms.mixscape(adata=ad, pert_key="perturbation", control="control", layer="X_pert")
    seconds = time.perf_counter() - t0
    glob = ad.obs["mixscape_class_global"].astype(str)
    frac = (glob == "KO").groupby(ad.obs["perturbation"].astype(str)).mean().drop("control", errors="ignore")
    return frac, glob, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="_build/benchmarks/screens.json")
    args = parser.parse_args()
    adata = pk.data.load("papalexi2021_eccite_sceptredata")
    timings = {}
    _, timings["assign_guides_mixture"] = _timed(pk.tl.assign_guides, adata, method="mixture")
    _, timings["knockdown_999_perm"] = _timed(pk.tl.knockdown, adata, n_permutations=999)
    _, timings["perturbation_signature"] = _timed(pk.tl.perturbation_signature, adata)
    _, timings["mixscape"] = _timed(pk.tl.mixscape, adata)
    _, timings["mimosca_100_perm"] = _timed(pk.tl.mimosca, adata, n_permutations=100)
    _, timings["scmageck_rra_500_null"] = _timed(pk.tl.scmageck_rra, adata, n_null=500)
    _, timings["music_8_topics"] = _timed(pk.tl.music, adata, n_topics=8)
    ours = adata.uns["mixscape"]["summary"]["ko_fraction"]
    result: dict[str, object] = {"seconds": timings, "ko_fraction_perturbkit": ours.to_dict()}
    print(pd.Series(timings).round(2).to_string())
    cross = _pertpy_mixscape(adata)
    if cross is None:
        print("pertpy not installed (pip install '.[crosscheck]'): skipped the cross-check")
        result["pertpy"] = "not installed"
    else:
        frac, glob, seconds = cross
        both = pd.concat({"perturbkit": ours, "pertpy": frac}, axis=1).dropna()
        mine = adata.obs.loc[glob.index, "mixscape_class_global"].astype(str)
        targeted = (glob != "control").to_numpy()  # controls are "control" on both sides by construction
        result.update({
            "ko_fraction_pertpy": frac.to_dict(),
            "ko_fraction_spearman": float(both["perturbkit"].corr(both["pertpy"], method="spearman")),
            "ko_fraction_pearson": float(both["perturbkit"].corr(both["pertpy"])),
            "ko_fraction_max_abs_diff": float((both["perturbkit"] - both["pertpy"]).abs().max()),
            "cells_classified_alike": float((mine.to_numpy() == glob.to_numpy()).mean()),
            "targeted_cells_classified_alike": float((mine.to_numpy() == glob.to_numpy())[targeted].mean()),
            "pertpy_mixscape_s": seconds,
            "speed_ratio_pertpy_over_perturbkit": seconds / (timings["perturbation_signature"] + timings["mixscape"]),
        })
        print("\nMixscape knockout fraction per target (same cells):")
        print(both.round(3).to_string())
        print("\nGlobal class of targeted cells, perturbkit (rows) x pertpy (columns):")
        print(pd.crosstab(mine[targeted].rename("perturbkit"), glob[targeted].rename("pertpy")).to_string())
        print({k: v for k, v in result.items() if not isinstance(v, dict)})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=lambda o: float(o) if isinstance(o, np.floating) else str(o)))


if __name__ == "__main__":
    main()
