"""Isogenic-pair screens: ``pk.tl.isogenic_interaction`` beside DrugZ (Colic et al. 2019).

DrugZ scores a differential screen from the end-point counts of two arms, replicates
paired: here control = parental line, "drug" = mutant line, on the planted isogenic pairs
of ``pk.data.simulate_isogenic_screen`` (seeds 0-2). Runs ``drugz.py`` from a checkout of
github.com/hart-lab/drugz (``--drugz`` or ``$DRUGZ_SRC``; pure Python) and records the rank
agreement of the gene scores, each method's precision and recall for the planted
synthetic-lethal partners at FDR 0.1, and how many essential genes each calls "suppressed"
(the artefact of a mutant screen with a smaller dynamic range) in
``benchmarks/results/isogenic.json``; the applications chapter reads that file.

Usage: python benchmarks/isogenic.py [--drugz PATH] [--commit SHA] [--out PATH]
Without the checkout it says so and leaves the committed result alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from scipy import stats

import perturbkit as pk

HERE = Path(__file__).resolve().parent
FDR = 0.1


def _calls(table: pd.DataFrame, gene: str, neg: str, pos: str, truth: pd.DataFrame) -> dict:
    lethal, essential = set(truth.index[truth["lethal"]]), set(truth.index[truth["essential"]])
    hits, supp = set(table.loc[table[neg] < FDR, gene]), set(table.loc[table[pos] < FDR, gene])
    return {"synthetic_lethal_calls": len(hits),
            "precision": len(hits & lethal) / max(len(hits), 1),
            "recall": len(hits & lethal) / len(lethal),
            "essential_called_suppressed": len(supp & essential)}


def _one(drugz: Path, seed: int, library_noise: float) -> dict:
    screen = pk.data.simulate_isogenic_screen(library_noise=library_noise, seed=seed)
    truth = screen.uns["truth"]
    kw = dict(treatment_samples=[v for v in screen.var_names if "final" in v],
              control_samples=[v for v in screen.var_names if "initial" in v])
    scaled = pk.tl.isogenic_interaction(screen, essential_genes=truth.index[truth["essential"]], **kw)
    centred = pk.tl.isogenic_interaction(screen, **kw)
    folder = Path(tempfile.mkdtemp())
    counts = pd.DataFrame(screen.X, index=pd.Index(screen.obs_names, name="sgRNA"), columns=screen.var_names)
    counts.insert(0, "GENE", screen.obs["gene"].to_numpy())
    counts.to_csv(folder / "counts.txt", sep="\t")
    finals = {line: ",".join(v for v in screen.var_names if v.startswith(f"{line}_final"))
              for line in ("parental", "mutant")}
    subprocess.run([sys.executable, str(Path(drugz) / "drugz.py"), "-i", str(folder / "counts.txt"),
                    "-o", str(folder / "drugz.txt"), "-c", finals["parental"], "-x", finals["mutant"], "-q"],
                   check=True, capture_output=True)
    dz = pd.read_csv(folder / "drugz.txt", sep="\t")
    both = scaled.merge(dz, left_on="gene", right_on="GENE")
    lethal = truth.index[truth["lethal"]]
    top = set(both.nsmallest(len(lethal), "z")["gene"]), set(both.nsmallest(len(lethal), "normZ")["gene"])
    return {
        "spearman_z_vs_drugz_normz": float(stats.spearmanr(both["z"], both["normZ"]).statistic),
        "top15_overlap": len(top[0] & top[1]),
        "perturbkit_scaled": _calls(scaled, "gene", "neg_padj", "pos_padj", truth),
        "perturbkit_centred": _calls(centred, "gene", "neg_padj", "pos_padj", truth),
        "drugz": _calls(dz, "GENE", "fdr_synth", "fdr_supp", truth),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drugz", type=Path, default=os.environ.get("DRUGZ_SRC"),
                        help="folder holding drugz.py from github.com/hart-lab/drugz (default: $DRUGZ_SRC)")
    parser.add_argument("--commit", default=None, help="DrugZ commit of the checkout")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "isogenic.json")
    args = parser.parse_args()
    if args.drugz is None or not (Path(args.drugz) / "drugz.py").exists():
        print(f"drugz.py not found (--drugz or $DRUGZ_SRC): the committed {args.out.name} is left as it is")
        return
    out = {"drugz_commit": args.commit or "unknown", "fdr": FDR}
    for scenario, noise in (("separate_transductions", 0.2), ("one_population", 0.0)):
        out[scenario] = {}
        for seed in (0, 1, 2):
            out[scenario][str(seed)] = _one(args.drugz, seed, noise)
            print(scenario, seed, json.dumps(out[scenario][str(seed)]))
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
