"""ASGARD parity: ``pk.tl.asgard`` against ASGARD's own R code (GetDrug, DrugScore).

Runs ``pk.tl.asgard`` on the planted atlas (``pk.data.simulate_cluster_reversal``, seeds
0-2) and on Kang 2018 IFN-beta PBMCs against the mirrored A375 L1000 plate, exports the
per-cluster t-statistics and the reference signatures, and runs
``benchmarks/asgard_reference.R``, which sources ASGARD's R files from a checkout of
github.com/lanagarmire/Asgard (``--asgard``; base R only: the .gctx readers DrugScore calls
are replaced by in-memory equivalents). Compares the per-cluster KS p-values and FDRs of
``GetDrug`` and the drug scores and combined p-values of ``DrugScore`` with ours and writes
``benchmarks/results/asgard.json``; the applications chapter reads that file.

Usage: python benchmarks/asgard.py [--asgard PATH] [--commit SHA] [--out PATH] [--keep DIR]
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
import scanpy as sc
from scipy import stats

import perturbkit as pk

HERE = Path(__file__).resolve().parent


def _export(adata, signatures: pd.DataFrame, res, folder: Path) -> None:
    shared = [g for g in adata.var_names if g in set(signatures.columns)]
    labels = [str(i).split("|")[0] for i in signatures.index]
    ids = [f"inst{k}" for k in range(len(signatures))]
    sig = signatures[shared].T
    sig.columns = ids
    sig.to_csv(folder / "signatures.csv")
    # ASGARD reads two L1000 releases; alternate the instances between them
    pd.DataFrame({"instance_id": ids, "cmap_name": labels,
                  "dataset": ["A" if k % 2 == 0 else "B" for k in range(len(ids))]}).to_csv(
        folder / "instances.csv", index=False)
    case = np.where(adata.obs["perturbation"].astype(str) == pk.data.CONTROL, "control", "disease")
    pd.DataFrame({"cluster": adata.obs["cell_type"].astype(str).to_numpy(), "sample": case}).to_csv(
        folder / "cells.csv", index=False)
    clusters = list(pd.unique(res.degs["cell_type"]))
    (folder / "clusters.txt").write_text("\n".join(clusters) + "\n")
    for cl in clusters:
        d = res.degs[res.degs["cell_type"] == cl].set_index("gene")
        pd.DataFrame({"score": d["t"], "adj.P.Val": d["padj"]}).to_csv(folder / f"deg_{cl}.csv")


def _compare(res, folder: Path) -> dict:
    ref_cl = pd.read_csv(folder / "asgard_getdrug.csv")
    ours = res.clusters.merge(ref_cl, on=["cell_type", "drug"], suffixes=("", "_asgard"))
    ref_ds = pd.read_csv(folder / "asgard_drugscore.csv")
    both = res.drugs.merge(ref_ds, on="drug", suffixes=("", "_asgard"))
    return {
        "n_cluster_drug_pairs": int(len(ours)),
        "max_abs_diff_cluster_pvalue": float((ours["pvalue"] - ours["pvalue_asgard"]).abs().max()),
        "max_abs_diff_cluster_padj": float((ours["padj"] - ours["padj_asgard"]).abs().max()),
        "n_drugs": int(len(both)),
        "max_abs_diff_score": float((both["score"] - both["score_asgard"]).abs().max()),
        "max_rel_diff_score": float(((both["score"] - both["score_asgard"]).abs()
                                     / both["score_asgard"].abs().clip(lower=1e-12)).max()),
        "max_abs_diff_log10_pvalue": float((np.log10(both["pvalue"]) - np.log10(both["pvalue_asgard"])).abs().max()),
        "same_ranking": bool(both.sort_values("rank")["drug"].tolist()
                              == both.sort_values(["score_asgard", "pvalue_asgard"], ascending=[False, True])["drug"].tolist()),
        "spearman_score": float(stats.spearmanr(both["score"], both["score_asgard"]).statistic),
        "top5_perturbkit": res.drugs["drug"].head(5).tolist(),
        "top5_asgard": both.sort_values("score_asgard", ascending=False)["drug"].head(5).tolist(),
    }


def _cases():
    for seed in (0, 1, 2):
        sim = pk.data.simulate_cluster_reversal(seed=seed)
        yield f"simulated_seed{seed}", sim, sim.uns["signatures"]
    kang = pk.data.load("kang2018_ifnb_muscat")
    sc.pp.normalize_total(kang, target_sum=1e4)
    sc.pp.log1p(kang)
    plate = pk.data.load("l1000_ljp005_a375_dose")
    yield "kang_vs_a375", kang, pk.tl.compound_signatures(plate, split_by="dose")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asgard", type=Path, default=os.environ.get("ASGARD_SRC"),
                        help="checkout of github.com/lanagarmire/Asgard (default: $ASGARD_SRC)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "asgard.json")
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--commit", default=None, help="ASGARD commit of the checkout (default: git log)")
    args = parser.parse_args()
    if args.asgard is None or not (Path(args.asgard) / "R" / "GetDrug.R").exists() or shutil.which("Rscript") is None:
        print("ASGARD checkout (--asgard or $ASGARD_SRC) or Rscript not found: the committed "
              f"{args.out.name} is left as it is")
        return
    args.asgard = Path(args.asgard)
    commit = args.commit or subprocess.run(["git", "-C", str(args.asgard), "log", "-1", "--format=%H"],
                                           capture_output=True, text=True).stdout.strip()
    out = {"asgard_commit": commit or "unknown", "r_version": subprocess.run(
        ["Rscript", "-e", "cat(R.version.string)"], capture_output=True, text=True).stdout.strip(), "cases": {}}
    for name, adata, signatures in _cases():
        res = pk.tl.asgard(adata, signatures)
        folder = Path(tempfile.mkdtemp()) if args.keep is None else args.keep / name
        folder.mkdir(parents=True, exist_ok=True)
        _export(adata, signatures, res, folder)
        subprocess.run(["Rscript", str(HERE / "asgard_reference.R"), str(args.asgard), str(folder)], check=True,
                       capture_output=True)
        out["cases"][name] = _compare(res, folder)
        print(name, json.dumps(out["cases"][name]))
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
