"""Mixscape parity: perturbkit against Seurat's original (R) on the mirrored Papalexi 2021 screen.

Assigns guides with the mixture model, keeps single-target and non-targeting cells, runs
``pk.tl.perturbation_signature`` + ``pk.tl.mixscape`` with the settings of Seurat's Mixscape
vignette (40 PCs, 20 non-targeting neighbours per replicate, Wilcoxon DE genes with
log-fold-change >= 0.25, detected in >= 10 % of cells, Bonferroni p < 0.05, 10 iterations),
then exports the same cells and runs ``benchmarks/mixscape_seurat.R`` (Seurat 4.3
``CalcPerturbSig`` + ``RunMixscape``; Debian ``r-base-core r-cran-seurat``). Writes the
knockout fraction per target from both, the DE gene counts, the per-cell agreement and
versions to ``benchmarks/results/mixscape.json``; the screens chapter reads that file.
Without ``Rscript`` it prints perturbkit's fractions and leaves the committed result alone.

Usage: python benchmarks/mixscape.py [--out PATH] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
from scipy import io, sparse

import perturbkit as pk

HERE = Path(__file__).resolve().parent
NT = "NT"


def _screen():
    adata = pk.data.load("papalexi2021_eccite_sceptredata")
    pk.tl.assign_guides(adata, method="mixture", non_targeting=adata.uns["non_targeting_label"])
    keep = ~adata.obs["perturbation"].isin(["multiple", "unassigned"])
    return adata[keep.to_numpy()].copy()


def _export(adata, folder: Path) -> None:
    counts = adata.layers["counts"]
    io.mmwrite(folder / "counts.mtx", sparse.csr_matrix(counts).T.tocoo())
    (folder / "genes.txt").write_text("\n".join(adata.var_names) + "\n")
    gene = adata.obs["perturbation"].astype(str).replace({pk.data.CONTROL: NT})
    pd.DataFrame({"cell": adata.obs_names, "gene": gene.to_numpy(),
                  "replicate": adata.obs["replicate"].astype(str).to_numpy(),
                  "guide_ID": adata.obs["guide"].astype(str).to_numpy()}).to_csv(folder / "cells.csv", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "mixscape.json")
    parser.add_argument("--keep", type=Path, default=None, help="folder for the exported cells (default: temporary)")
    args = parser.parse_args()
    adata = _screen()
    t0 = time.perf_counter()
    pk.tl.perturbation_signature(adata, split_by="replicate", n_neighbors=20, n_pcs=40)
    pk.tl.mixscape(adata)
    t_pk = time.perf_counter() - t0
    summary = adata.uns["mixscape"]["summary"]
    labels = adata.obs["perturbation"].astype(str)
    result = {"dataset": "papalexi2021_eccite_sceptredata", "n_cells": int(adata.n_obs),
              "settings": "Seurat Mixscape vignette: ndims 40, 20 neighbours per replicate, "
                          "logfc.threshold 0.25, min.pct 0.1, Bonferroni p < 0.05, iter.num 10",
              "perturbkit_seconds": round(t_pk, 1), "perturbkit": pk.__version__}
    table = summary[["n_cells", "n_de_genes", "ko_fraction"]].rename(
        columns={"n_de_genes": "de_genes_perturbkit", "ko_fraction": "ko_fraction_perturbkit"})
    rscript = shutil.which("Rscript")
    if rscript is None:
        # the committed result (read by the chapter) keeps its Seurat columns: write nothing
        print(table.round(3).to_string())
        print("Rscript not found (apt-get install r-base-core r-cran-seurat): perturbkit only, "
              f"{args.out} left unchanged")
        return
    else:
        folder = args.keep or Path(tempfile.mkdtemp(prefix="mixscape_"))
        folder.mkdir(parents=True, exist_ok=True)
        _export(adata, folder)
        t0 = time.perf_counter()
        subprocess.run([rscript, str(HERE / "mixscape_seurat.R"), str(folder)], check=True)
        result["seurat_seconds"] = round(time.perf_counter() - t0, 1)
        result["seurat"] = (folder / "seurat_session.txt").read_text().strip().splitlines()
        seurat = pd.read_csv(folder / "seurat_classes.csv").set_index("cell").loc[adata.obs_names]
        ko_s = (seurat["mixscape_class.global"] == "KO").to_numpy()
        ko_p = (adata.obs["mixscape_class_global"].astype(str) == "KO").to_numpy()
        targeted = (labels != pk.data.CONTROL).to_numpy()
        frac = pd.Series(ko_s[targeted], index=labels[targeted].to_numpy()).groupby(level=0).mean()
        table["ko_fraction_seurat"] = frac.reindex(table.index).fillna(0.0)
        table["cells_classified_alike"] = (
            pd.Series((ko_s == ko_p)[targeted], index=labels[targeted].to_numpy()).groupby(level=0).mean())
        result["agreement_all_targeted_cells"] = float((ko_s == ko_p)[targeted].mean())
        result["max_abs_ko_fraction_difference"] = float(
            (table["ko_fraction_perturbkit"] - table["ko_fraction_seurat"]).abs().max())
        if args.keep is None:
            shutil.rmtree(folder)
    result["per_target"] = table.round(4).reset_index().to_dict(orient="records")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(table.round(3).to_string())
    print({k: v for k, v in result.items() if k != "per_target"})


if __name__ == "__main__":
    main()
