"""Mixscape parity: perturbkit against Seurat's original (R) on the mirrored Papalexi 2021 screen.

Assigns guides with the mixture model, keeps single-target and non-targeting cells, runs
``pk.tl.perturbation_signature`` + ``pk.tl.mixscape`` with the settings of Seurat's Mixscape
vignette (40 PCs, 20 non-targeting neighbours per replicate, Wilcoxon DE genes with
log-fold-change >= 0.25, detected in >= 10 % of cells, Bonferroni p < 0.05, 10 iterations),
then exports the same cells and runs ``benchmarks/mixscape_seurat.R`` (Seurat 4.3
``CalcPerturbSig`` + ``RunMixscape``; Debian ``r-base-core r-cran-seurat``). Writes the
knockout fraction per target from both, the DE gene counts, the per-cell agreement and
versions to ``benchmarks/results/mixscape.json``; the screens chapter reads that file.
With pertpy in the ``crosscheck`` side environment it also runs ``benchmarks/mixscape_pertpy.py``
(pertpy's port) on the same exported cells and adds pertpy's fractions. ``--skip-seurat`` keeps
the committed Seurat columns and runs pertpy only. Without ``Rscript`` and pertpy it prints
perturbkit's fractions and leaves the committed result alone.

Usage: python benchmarks/mixscape.py [--out PATH] [--keep DIR] [--skip-seurat] [--pertpy-python PY]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
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


def _pertpy_python(arg: str | None) -> str | None:
    """The side environment's interpreter with pertpy (``--pertpy-python``, ``PERTPY_PYTHON``, or
    ``.venv-crosscheck`` that ``make crosscheck-env`` builds), or None."""
    side = Path(__file__).resolve().parents[1] / ".venv-crosscheck" / "bin" / "python"
    for cand in (arg, os.environ.get("PERTPY_PYTHON"), str(side)):
        if cand and Path(cand).exists():
            ok = subprocess.run([cand, "-c", "import pertpy"], capture_output=True).returncode == 0
            if ok:
                return cand
    return None


def _ko_by_target(ko: np.ndarray, labels: pd.Series, targeted: np.ndarray) -> pd.Series:
    return pd.Series(ko[targeted], index=labels[targeted].to_numpy()).groupby(level=0).mean()


def _pertpy_steps(adata, summary: pd.DataFrame) -> pd.DataFrame:
    """What pertpy 1.0.3 does differently, replayed on perturbkit's own run, per target:
    ``ko_fraction_weighted_posterior``: KO calls with the mixture's fitted weights in the
    posterior (pertpy's ``predict_proba``) instead of Seurat's equal-weight likelihood ratio;
    ``de_genes_bh``: DE genes with scanpy's Wilcoxon, BH-adjusted p < 0.05 and |logFC| >= 0.25
    without Seurat's min.pct and Bonferroni (pertpy's marker step; needs scanpy)."""
    from scipy import stats

    rows = {}
    for t in summary.index[summary["n_ko"] > 0]:
        s_t = adata.obs.loc[adata.obs["perturbation"] == t, "mixscape_score"].to_numpy()
        s_c = adata.uns["mixscape"]["control_scores"][t].to_numpy()
        x = np.r_[s_c, s_t]
        mu0, sd0 = s_c.mean(), s_c.std(ddof=1)
        lam, mu1, sd1 = 0.5, s_t.mean(), s_t.std(ddof=1)
        d0 = stats.norm.pdf(x, mu0, sd0)
        for _ in range(5000):  # the same EM as pk.tl.mixscape, keeping the weight
            l1 = lam * stats.norm.pdf(x, mu1, sd1)
            w = l1 / np.maximum((1 - lam) * d0 + l1, 1e-300)
            lam, mu1 = w.mean(), (w * x).sum() / w.sum()
            sd1 = np.sqrt((w * (x - mu1) ** 2).sum() / w.sum())
        l1 = lam * stats.norm.pdf(s_t, mu1, sd1)
        rows[t] = {"ko_weight": lam,
                   "ko_fraction_weighted_posterior": float((l1 / (l1 + (1 - lam) * stats.norm.pdf(s_t, mu0, sd0)) > 0.5).mean())}
    out = pd.DataFrame.from_dict(rows, orient="index")
    try:
        import scanpy as sc
    except ImportError:
        return out
    b = adata.copy()
    b.X = b.layers["counts"].copy()
    sc.pp.normalize_total(b, target_sum=1e4)
    sc.pp.log1p(b)
    targets = [t for t in summary.index if t != pk.data.CONTROL]
    sc.tl.rank_genes_groups(b, groupby="perturbation", groups=targets, reference=pk.data.CONTROL, method="wilcoxon")
    res = b.uns["rank_genes_groups"]
    de = {t: int(((np.abs(np.asarray(res["logfoldchanges"][t])) >= 0.25) & (np.asarray(res["pvals_adj"][t]) < 0.05)).sum())
          for t in targets}
    return out.join(pd.Series(de, name="de_genes_bh"), how="outer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "mixscape.json")
    parser.add_argument("--keep", type=Path, default=None, help="folder for the exported cells (default: temporary)")
    parser.add_argument("--skip-seurat", action="store_true",
                        help="keep the committed Seurat columns (R takes ~10 min) and run only pertpy")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: read pertpy_classes.csv already in that folder instead of rerunning pertpy")
    parser.add_argument("--pertpy-python", default=None,
                        help="python of the crosscheck side env (default: $PERTPY_PYTHON or .venv-crosscheck from make crosscheck-env)")
    args = parser.parse_args()
    adata = _screen()
    t0 = time.perf_counter()
    pk.tl.perturbation_signature(adata, split_by="replicate", n_neighbors=20, n_pcs=40)
    pk.tl.mixscape(adata)
    t_pk = time.perf_counter() - t0
    summary = adata.uns["mixscape"]["summary"]
    labels = adata.obs["perturbation"].astype(str)
    committed = json.loads(args.out.read_text()) if args.out.exists() else {}
    result = {"dataset": "papalexi2021_eccite_sceptredata", "n_cells": int(adata.n_obs),
              "settings": "Seurat Mixscape vignette: ndims 40, 20 neighbours per replicate, "
                          "logfc.threshold 0.25, min.pct 0.1, Bonferroni p < 0.05, iter.num 10",
              "perturbkit_seconds": round(t_pk, 1), "perturbkit": pk.__version__}
    table = summary[["n_cells", "n_de_genes", "ko_fraction"]].rename(
        columns={"n_de_genes": "de_genes_perturbkit", "ko_fraction": "ko_fraction_perturbkit"})
    rscript = None if args.skip_seurat else shutil.which("Rscript")
    reuse = args.reuse and args.keep is not None and (args.keep / "pertpy_classes.csv").exists()
    pertpy_py = "reuse" if reuse else _pertpy_python(args.pertpy_python)
    if rscript is None and pertpy_py is None:
        # the committed result (read by the chapter) keeps its reference columns: write nothing
        print(table.round(3).to_string())
        print("neither Rscript (apt-get install r-base-core r-cran-seurat) nor pertpy (the crosscheck "
              f"extra) found: perturbkit only, {args.out} left unchanged")
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mixscape_"))
    folder.mkdir(parents=True, exist_ok=True)
    _export(adata, folder)
    ko_p = (adata.obs["mixscape_class_global"].astype(str) == "KO").to_numpy()
    targeted = (labels != pk.data.CONTROL).to_numpy()
    if rscript is not None:
        t0 = time.perf_counter()
        subprocess.run([rscript, str(HERE / "mixscape_seurat.R"), str(folder)], check=True)
        result["seurat_seconds"] = round(time.perf_counter() - t0, 1)
        result["seurat"] = (folder / "seurat_session.txt").read_text().strip().splitlines()
        seurat = pd.read_csv(folder / "seurat_classes.csv").set_index("cell").loc[adata.obs_names]
        ko_s = (seurat["mixscape_class.global"] == "KO").to_numpy()
        table["ko_fraction_seurat"] = _ko_by_target(ko_s, labels, targeted).reindex(table.index).fillna(0.0)
        table["cells_classified_alike"] = _ko_by_target(ko_s == ko_p, labels, targeted)
        result["agreement_all_targeted_cells"] = float((ko_s == ko_p)[targeted].mean())
    else:  # the committed Seurat run (same cells: the export is deterministic)
        if committed.get("n_cells") != adata.n_obs:
            raise SystemExit(f"--skip-seurat: {args.out} holds no Seurat run on these {adata.n_obs} cells")
        old = pd.DataFrame(committed["per_target"]).set_index("target")
        for key in ("seurat_seconds", "seurat", "agreement_all_targeted_cells"):
            result[key] = committed[key]
        table["ko_fraction_seurat"] = old["ko_fraction_seurat"].reindex(table.index)
        table["cells_classified_alike"] = old["cells_classified_alike"].reindex(table.index)
    result["max_abs_ko_fraction_difference"] = float(
        (table["ko_fraction_perturbkit"] - table["ko_fraction_seurat"]).abs().max())
    if pertpy_py is not None:
        if not reuse:
            t0 = time.perf_counter()
            subprocess.run([pertpy_py, str(HERE / "mixscape_pertpy.py"), str(folder)], check=True)
            result["pertpy_seconds"] = round(time.perf_counter() - t0, 1)
        result["pertpy"] = (folder / "pertpy_session.txt").read_text().strip().splitlines()
        pt_cls = pd.read_csv(folder / "pertpy_classes.csv").set_index("cell").loc[adata.obs_names]
        ko_t = (pt_cls["mixscape_class_global"] == "KO").to_numpy()
        table["ko_fraction_pertpy"] = _ko_by_target(ko_t, labels, targeted).reindex(table.index).fillna(0.0)
        table["cells_classified_alike_pertpy"] = _ko_by_target(ko_t == ko_p, labels, targeted)
        result["agreement_pertpy_all_targeted_cells"] = float((ko_t == ko_p)[targeted].mean())
        result["max_abs_ko_fraction_difference_pertpy"] = float(
            (table["ko_fraction_perturbkit"] - table["ko_fraction_pertpy"]).abs().max())
        result["max_abs_ko_fraction_difference_pertpy_seurat"] = float(
            (table["ko_fraction_seurat"] - table["ko_fraction_pertpy"]).abs().max())
        # why pertpy departs: its posterior and its DE step, replayed on perturbkit's scores
        steps = _pertpy_steps(adata, summary)
        for col in steps.columns:
            table[col] = steps[col].reindex(table.index)
    if args.keep is None:
        shutil.rmtree(folder)
    rounded = table.round(4).reset_index()
    result["per_target"] = rounded.astype(object).where(rounded.notna(), None).to_dict(orient="records")  # JSON null
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(table.round(3).to_string())
    print({k: v for k, v in result.items() if k != "per_target"})


if __name__ == "__main__":
    main()
