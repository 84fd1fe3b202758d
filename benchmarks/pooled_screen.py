"""perturbkit's MAGeCK-style RRA test against the PyPI package mageck2, per mirrored screen.

Runs ``mageck2 test`` (median normalisation, alpha-RRA; its ``RRA`` helper binary must be
on PATH: the script adds the folder holding the ``mageck2`` console script) and
``pk.tl.mageck_test`` (exact alpha-RRA null) on the same count table and comparison, for
each screen the book mirrors: the leukemia slice with HL-60 and KBM7 pooled (as in MAGeCK's
demo) and each line alone, and the HT-29 genome-wide screen (three end points vs plasmid).
Per screen it reports the Spearman correlation of sgRNA and gene log fold changes and of
negative-selection ranks, the overlap of the top 10 and top 100 genes, hits at FDR < 0.05
and < 0.25, how many of the top 10 genes have distinct p-values, and the run times.

mageck2 is an optional extra (``pip install '.[benchmarks]'``); without it the script says
so and exits 0. To use a copy installed elsewhere (e.g. ``pip install --target DIR
mageck2``), set ``MAGECK2_BIN=DIR/bin``: the script then runs it with ``DIR`` on its
PYTHONPATH.

With ``--mle`` it also runs ``mageck2 mle`` with MAGeCK's design matrix (a few minutes) and
compares the per-cell-line betas and standard errors with ``pk.tl.mageck_mle``.

Results go to ``benchmarks/results/pooled_screen.json`` (committed; the applications
chapter reads its table from there).

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

#: (name, dataset id, treatment samples, control samples); None = the dataset's roles
SCREENS = [
    ("leukemia_pooled", "pooled_crispr_mageck_leukemia", ["HL60.final", "KBM7.final"], ["HL60.initial", "KBM7.initial"]),
    ("leukemia_HL60", "pooled_crispr_mageck_leukemia", ["HL60.final"], ["HL60.initial"]),
    ("leukemia_KBM7", "pooled_crispr_mageck_leukemia", ["KBM7.final"], ["KBM7.initial"]),
    ("ht29", "pooled_crispr_ht29_crisprcleanr", None, None),
]


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


def _write_counts(screen, path: Path) -> None:
    """The loaded sgRNA x sample counts as a MAGeCK count table, so both tools read the same guides."""
    counts = pd.DataFrame(screen.layers["counts"], index=screen.obs_names, columns=screen.var_names).astype("int64")
    counts.insert(0, "Gene", screen.obs["gene"].astype(str).to_numpy())
    counts.index.name = "sgRNA"
    counts.to_csv(path, sep="\t")


def _run_mageck2(bindir: Path, env: dict, args: list[str], cwd: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(bindir / "mageck2"), *args], capture_output=True, text=True, env=env, cwd=cwd)
    if proc.returncode != 0:
        raise RuntimeError(f"mageck2 {args[0]} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def compare_screen(name: str, dataset: str, treat, ctrl, bindir: Path, env: dict, tmp: str) -> dict:
    screen = pk.data.load(dataset)
    if treat is None:
        treat = [v for v in screen.var_names if screen.var.loc[v, "role"] == "treatment"]
        ctrl = [v for v in screen.var_names if screen.var.loc[v, "role"] == "control"]
    table = Path(tmp) / f"{name}.count.txt"
    _write_counts(screen, table)
    t_ref = _run_mageck2(bindir, env, ["test", "-k", str(table), "-t", ",".join(treat), "-c", ",".join(ctrl),
                                       "-n", f"{tmp}/{name}", "--norm-method", "median"], tmp)
    ref_genes = pd.read_csv(f"{tmp}/{name}.gene_summary.txt", sep="\t").set_index("id")
    ref_sg = pd.read_csv(f"{tmp}/{name}.sgrna_summary.txt", sep="\t").set_index("sgrna")

    t0 = time.perf_counter()
    pk.pp.normalize_screen(screen)
    ours = pk.tl.mageck_test(screen, treatment_samples=treat, control_samples=ctrl).set_index("gene")
    t_ours = time.perf_counter() - t0
    sg = pk.tl.sgrna_lfc(screen, treatment_samples=treat, control_samples=ctrl)

    genes = ours.index.intersection(ref_genes.index)
    sgr = sg.index.intersection(ref_sg.index.astype(str))
    ref_sg.index = ref_sg.index.astype(str)
    ours_top = ours.sort_values("neg_rank")
    ref_top = ref_genes.sort_values("neg|rank")
    result = {
        "dataset": dataset,
        "treatment_samples": list(treat),
        "control_samples": list(ctrl),
        "n_genes": int(len(genes)),
        "spearman_sgrna_lfc": float(stats.spearmanr(sg.loc[sgr, "lfc"], ref_sg.loc[sgr, "LFC"])[0]),
        "spearman_gene_lfc": float(stats.spearmanr(ours.loc[genes, "lfc"], ref_genes.loc[genes, "neg|lfc"])[0]),
        "spearman_neg_rank": float(stats.spearmanr(ours.loc[genes, "neg_rank"], ref_genes.loc[genes, "neg|rank"])[0]),
    }
    for k in (10, 100):
        result[f"top{k}_overlap"] = len(set(ours_top.index[:k]) & set(ref_top.index[:k])) / k
    for q in (0.05, 0.25):
        result[f"hits_fdr{int(q * 100):02d}_perturbkit"] = int((ours["neg_padj"] < q).sum())
        result[f"hits_fdr{int(q * 100):02d}_mageck2"] = int((ref_genes["neg|fdr"] < q).sum())
    result |= {
        "distinct_top10_pvalues_perturbkit": int(ours_top["neg_pvalue"].iloc[:10].nunique()),
        "distinct_top10_pvalues_mageck2": int(ref_top["neg|p-value"].iloc[:10].nunique()),
        "min_pvalue_perturbkit": float(ours["neg_pvalue"].min()),
        "min_pvalue_mageck2": float(ref_genes["neg|p-value"].min()),
        "seconds_mageck2": t_ref,
        "seconds_perturbkit": t_ours,
        "top10_mageck2": ref_top.index[:10].tolist(),
        "top10_perturbkit": ours_top.index[:10].tolist(),
    }
    return result


def compare_mle(bindir: Path, env: dict, tmp: str) -> dict:
    paths = pk.data.fetch("pooled_crispr_mageck_leukemia", ["leukemia.new.csv", "designmat.txt"])
    t_ref = _run_mageck2(bindir, env, ["mle", "-k", str(paths["leukemia.new.csv"]), "-d", str(paths["designmat.txt"]),
                                       "-n", f"{tmp}/mle", "--norm-method", "median"], tmp)
    mle_ref = pd.read_csv(f"{tmp}/mle.gene_summary.txt", sep="\t").set_index("Gene")
    screen = pk.data.load("pooled_crispr_mageck_leukemia")
    pk.pp.normalize_screen(screen)
    t0 = time.perf_counter()
    mle = pk.tl.mageck_mle(screen)
    result = {"seconds_mle_perturbkit": time.perf_counter() - t0, "seconds_mle_mageck2": t_ref}
    for cond in ("HL60", "KBM7"):
        col = next(c for c in mle_ref.columns if c.startswith(cond) and c.endswith("|beta"))
        ours_c = mle[mle.condition == cond].set_index("gene")
        g = ours_c.index.intersection(mle_ref.index)
        ref_se = mle_ref.loc[g, col] / mle_ref.loc[g, col.replace("|beta", "|z")]
        result[f"mle_{cond}_spearman_beta"] = float(stats.spearmanr(ours_c.loc[g, "beta"], mle_ref.loc[g, col])[0])
        result[f"mle_{cond}_top20_overlap"] = len(
            set(ours_c.loc[g, "beta"].nsmallest(20).index) & set(mle_ref.loc[g, col].nsmallest(20).index)) / 20
        result[f"mle_{cond}_median_se_ratio"] = float((ours_c.loc[g, "se"] / ref_se).median())
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/pooled_screen.json")
    parser.add_argument("--mle", action="store_true", help="also compare MAGeCK-MLE (slow)")
    parser.add_argument("--screens", nargs="*", default=[s[0] for s in SCREENS], help="subset of screens")
    args = parser.parse_args()
    bindir = _mageck2_bin()
    if bindir is None:
        print("mageck2 (with its RRA binary) not found: pip install '.[benchmarks]'; skipped")
        return 0
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    if (bindir.parent / "mageck2").is_dir():  # a `pip install --target` copy brings its own dependencies
        env["PYTHONPATH"] = str(bindir.parent)
    version = subprocess.run([sys.executable, str(bindir / "mageck2"), "--version"], capture_output=True,
                             text=True, env=env).stdout.strip() or "unknown"
    result: dict = {"mageck2_version": version, "rra_null_perturbkit": "exact", "screens": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, dataset, treat, ctrl in SCREENS:
            if name in args.screens:
                result["screens"][name] = compare_screen(name, dataset, treat, ctrl, bindir, env, tmp)
                print(name, json.dumps({k: v for k, v in result["screens"][name].items() if not isinstance(v, list)}))
        if args.mle:
            result["mle"] = compare_mle(bindir, env, tmp)
            print("mle", json.dumps(result["mle"]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
