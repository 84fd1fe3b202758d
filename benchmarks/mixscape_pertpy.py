"""pertpy's Mixscape on the cells exported by benchmarks/mixscape.py (the mirrored Papalexi screen).

Runs in the ``crosscheck`` side environment (pertpy pulls JAX; ``pip install '.[crosscheck]'``),
without perturbkit: reads ``<dir>/counts.mtx`` (genes x cells), ``<dir>/genes.txt`` and
``<dir>/cells.csv`` (cell, gene, replicate, guide_ID; non-targeting cells have gene "NT"),
follows pertpy's Mixscape tutorial with the numbers of Seurat's vignette (counts per 10k and
log1p, PCA with 40 components, 20 non-targeting neighbours per replicate, DE genes with
log2 FC >= 0.25 and Bonferroni p < 0.05, at least 5 of them, 10 iterations), and writes
``<dir>/pertpy_classes.csv`` (cell, mixscape_class, mixscape_class_global, p_ko) and
``<dir>/pertpy_session.txt``.

Usage: <side-env python> benchmarks/mixscape_pertpy.py <export dir>
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import io, sparse


def main() -> None:
    import anndata as ad
    import pertpy as pt
    import scanpy as sc

    folder = Path(sys.argv[1])
    counts = sparse.csr_matrix(io.mmread(folder / "counts.mtx").T)
    genes = (folder / "genes.txt").read_text().split()
    meta = pd.read_csv(folder / "cells.csv").set_index("cell")
    adata = ad.AnnData(X=counts.astype(np.float32), obs=meta, var=pd.DataFrame(index=genes))
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    # Seurat: ScaleData then RunPCA; scanpy's pca centres (and here scales) likewise
    scaled = adata.copy()
    sc.pp.scale(scaled, max_value=10)
    sc.pp.pca(scaled, n_comps=40, random_state=0)
    adata.obsm["X_pca"] = scaled.obsm["X_pca"]
    ms = pt.tl.Mixscape()
    ms.perturbation_signature(adata, "gene", "NT", split_by="replicate", n_neighbors=20, n_dims=40)
    ms.mixscape(adata, "gene", "NT", layer="X_pert", min_de_genes=5, logfc_threshold=0.25,
                pval_cutoff=0.05, iter_num=10, test_method="wilcoxon", random_state=0)
    p_ko = adata.obs["mixscape_class_p_ko"] if "mixscape_class_p_ko" in adata.obs else np.nan
    pd.DataFrame({"cell": adata.obs_names, "mixscape_class": adata.obs["mixscape_class"].astype(str),
                  "mixscape_class_global": adata.obs["mixscape_class_global"].astype(str),
                  "p_ko": p_ko}).to_csv(folder / "pertpy_classes.csv", index=False)
    from importlib.metadata import version

    (folder / "pertpy_session.txt").write_text(
        "".join(f"{name} {version(name)}\n" for name in ("pertpy", "scanpy", "anndata", "scikit-learn")))


if __name__ == "__main__":
    main()
