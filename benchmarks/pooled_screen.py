"""perturbkit's MAGeCK-style RRA test against the PyPI package mageck2 on the leukemia screen.

Runs ``mageck2 test`` (median normalisation, alpha-RRA; its ``RRA`` helper binary must be
on PATH: the script adds the folder holding the ``mageck2`` console script) and
``pk.tl.mageck_test`` on the same count table and comparison (HL-60 + KBM7 final vs
initial, as in MAGeCK's demo). Reports Spearman correlation of sgRNA log fold changes, of
gene log fold changes and of negative-selection ranks, the overlap of the top 20 and top 100
genes, and the speed ratio.

mageck2 is an optional extra (``pip install '.[benchmarks]'``); without it the script says
so and exits 0. To use a copy installed elsewhere, put its folder on PYTHONPATH and its
``bin`` folder on PATH (or set ``MAGECK2_BIN``).

With ``--mle`` it also runs ``mageck2 mle`` with MAGeCK's design matrix (a few minutes) and
compares the per-cell-line betas and standard errors with ``pk.tl.mageck_mle``.

Usage: python benchmarks/pooled_screen.py [--mle] [--out PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from scipy import stats

import perturbkit as pk

TREAT, CTRL = ["HL60.final", "KBM7.final"], ["HL60.initial", "KBM7.initial"]


def _mageck2_bin() -> Path | None:
    candidates = [os.environ.get("MAGECK2_BIN"), str(Path(sys.executable).parent)]
    spec = importlib.util.find_spec("mageck2")
    if spec and spec.origin:
        candidates.append(str(Path(spec.origin).parents[1] / "bin"))
    found = shutil.which("mageck2")
    if found:
        candidates.append(str(Path(found).parent))
    for c in candidates:
        if c and (Path(c) / "mageck2").exists() and (Path(c) / "RRA").exists():
            return Path(c)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="_build/benchmarks/pooled_screen.json")
    parser.add_argument("--mle", action="store_true", help="also compare MAGeCK-MLE (slow)")
    args = parser.parse_args()
    bindir = _mageck2_bin()
    if bindir is None:
        print("mageck2 (with its RRA binary) not found: pip install '.[benchmarks]'; skipped")
        return 0
    paths = pk.data.fetch("pooled_crispr_mageck_leukemia", ["leukemia.new.csv", "designmat.txt"])
    screen = pk.data.load("pooled_crispr_mageck_leukemia")

    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(bindir / "mageck2"), "test", "-k", str(paths["leukemia.new.csv"]),
             "-t", ",".join(TREAT), "-c", ",".join(CTRL), "-n", f"{tmp}/leuk", "--norm-method", "median"],
            capture_output=True, text=True, env=env, cwd=tmp,
        )
        t_ref = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
            return 1
        ref_genes = pd.read_csv(f"{tmp}/leuk.gene_summary.txt", sep="\t").set_index("id")
        ref_sg = pd.read_csv(f"{tmp}/leuk.sgrna_summary.txt", sep="\t").set_index("sgrna")
        mle_ref, t_mle_ref = None, float("nan")
        if args.mle:
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, str(bindir / "mageck2"), "mle", "-k", str(paths["leukemia.new.csv"]),
                 "-d", str(paths["designmat.txt"]), "-n", f"{tmp}/mle", "--norm-method", "median"],
                capture_output=True, text=True, env=env, cwd=tmp,
            )
            t_mle_ref = time.perf_counter() - t0
            if proc.returncode != 0:
                print(proc.stderr[-2000:])
                return 1
            mle_ref = pd.read_csv(f"{tmp}/mle.gene_summary.txt", sep="\t").set_index("Gene")

    t0 = time.perf_counter()
    pk.pp.normalize_screen(screen)
    ours = pk.tl.mageck_test(screen, treatment_samples=TREAT, control_samples=CTRL, n_perm=10000).set_index("gene")
    sg = pk.tl.sgrna_lfc(screen, treatment_samples=TREAT, control_samples=CTRL)
    t_ours = time.perf_counter() - t0

    genes = ours.index.intersection(ref_genes.index)
    sgr = sg.index.intersection(ref_sg.index)
    top = {}
    for k in (20, 100):
        a = set(ours.sort_values("neg_rank").index[:k])
        b = set(ref_genes.sort_values("neg|rank").index[:k])
        top[f"top{k}_overlap"] = len(a & b) / k
    result = {
        "n_genes": int(len(genes)),
        "spearman_sgrna_lfc": float(stats.spearmanr(sg.loc[sgr, "lfc"], ref_sg.loc[sgr, "LFC"])[0]),
        "spearman_sgrna_p_low": float(stats.spearmanr(sg.loc[sgr, "pvalue_low"], ref_sg.loc[sgr, "p.low"])[0]),
        "spearman_gene_lfc": float(stats.spearmanr(ours.loc[genes, "lfc"], ref_genes.loc[genes, "neg|lfc"])[0]),
        "spearman_neg_rank": float(stats.spearmanr(ours.loc[genes, "neg_rank"], ref_genes.loc[genes, "neg|rank"])[0]),
        **top,
        "hits_fdr25_perturbkit": int((ours["neg_padj"] < 0.25).sum()),
        "hits_fdr25_mageck2": int((ref_genes["neg|fdr"] < 0.25).sum()),
        "seconds_mageck2": t_ref,
        "seconds_perturbkit": t_ours,
        "speed_ratio": t_ref / t_ours,
        "top10_mageck2": ref_genes.sort_values("neg|rank").index[:10].tolist(),
        "top10_perturbkit": ours.sort_values("neg_rank").index[:10].tolist(),
    }
    if mle_ref is not None:
        t0 = time.perf_counter()
        mle = pk.tl.mageck_mle(screen)
        result["seconds_mle_perturbkit"] = time.perf_counter() - t0
        result["seconds_mle_mageck2"] = t_mle_ref
        for cond in ("HL60", "KBM7"):
            col = next(c for c in mle_ref.columns if c.startswith(cond) and c.endswith("|beta"))
            ours_c = mle[mle.condition == cond].set_index("gene")
            g = ours_c.index.intersection(mle_ref.index)
            ref_se = mle_ref.loc[g, col] / mle_ref.loc[g, col.replace("|beta", "|z")]
            result[f"mle_{cond}_spearman_beta"] = float(stats.spearmanr(ours_c.loc[g, "beta"], mle_ref.loc[g, col])[0])
            result[f"mle_{cond}_top20_overlap"] = len(
                set(ours_c.loc[g, "beta"].nsmallest(20).index) & set(mle_ref.loc[g, col].nsmallest(20).index)) / 20
            result[f"mle_{cond}_median_se_ratio"] = float((ours_c.loc[g, "se"] / ref_se).median())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    for key, value in result.items():
        print(f"{key:26s} {value:.4g}" if isinstance(value, float) else f"{key:26s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
