"""DrugCell-style visible network against an unwired MLP, ridge and the drug mean on GDSC v17.

The genotype branch is wired along DrugCell's published Gene Ontology hierarchy
(``ontology_drugcell``, every term above the 112 GDSC v17 mutation genes it annotates; 6
neurons per term, auxiliary heads with weight 0.2), the drug enters as a one-hot vector and
tissue joins at the final block (``pk.tl.visible_network``; terms with fewer than three input
genes in their subtree fold into their parent, to fit the run on a shared machine). Ten drugs: the three BRAF
inhibitors of the applications chapter (PLX-4720 1036, dabrafenib 1373, SB590885 1061) and
the seven other most-measured drugs. Per seed: 20 % of cell lines held out for testing, 15 %
for early stopping, the same split, budget (Adam, lr 1e-2, batch 32, <= 100 epochs, patience
10) and seed for both networks; the unwired MLP has the visible network's parameter count.

Reported (``benchmarks/results/drugcell.json``, read by the dose_response chapter):
held-out Pearson r and RMSE (ln uM) per model, mean and SD over seeds 0-4 (the per-seed value
is the mean over the ten drugs); per-drug means; RLIPP of the subsystems for the BRAF
inhibitors (terms whose neurons predict the drug with Spearman >= 0.2, ranked by RLIPP, with
whether BRAF is in the term's subtree, and the share of such top-10 terms holding BRAF); how
strongly terms with and without BRAF below them predict these drugs; the held-out predicted and observed ln IC50 gap
between BRAF-mutant and wild-type lines, beside the ANOVA delta of the applications chapter
(``pk.tl.drug_gene_anova``, tissue and MSI adjusted).

Usage: python benchmarks/drugcell.py [--seeds 0 1 2 3 4] [--out PATH]
       (``--part`` writes one seed's raw tables; ``--merge`` combines parts into the JSON)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import perturbkit as pk

BRAF_INHIBITORS = {1036: "PLX-4720", 1373: "dabrafenib", 1061: "SB590885"}
N_OTHER = 7
MIN_RHO = 0.2
#: smallest term (input genes in its subtree): 3 keeps 872 of the 1,565 terms above the 112
#: genes (every term with 1-2 input genes folds its genes into its parent), a third fewer weights
MIN_GENES = 3
BUDGET = {"max_epochs": 100, "patience": 10, "batch_size": 32, "lr": 1e-2}


def drugs_of(ic50: pd.DataFrame) -> list[int]:
    others = [d for d in ic50.notna().sum().sort_values(ascending=False, kind="stable").index
              if d not in BRAF_INHIBITORS][:N_OTHER]
    return list(BRAF_INHIBITORS) + [int(d) for d in others]


def run_seed(seed: int, part_dir: Path) -> None:
    gdsc = pk.data.load("gdsc_ic50_v17_gdsctools")
    ont = pk.data.load("ontology_drugcell")
    t0 = time.time()
    res = pk.tl.visible_network(gdsc["ic50"], gdsc["features"], ont["terms"], ont["genes"],
                                drugs=drugs_of(gdsc["ic50"]), seeds=(seed,), mark_genes=["BRAF"],
                                importance=list(BRAF_INHIBITORS), min_genes=MIN_GENES, **BUDGET)
    part_dir.mkdir(parents=True, exist_ok=True)
    res.scores.assign(seconds=time.time() - t0).to_csv(part_dir / f"scores_{seed}.csv", index=False)
    res.terms.to_csv(part_dir / f"terms_{seed}.csv", index=False)
    res.predictions.to_csv(part_dir / f"predictions_{seed}.csv", index=False)
    res.ontology.to_csv(part_dir / "ontology.csv", index=False)


def merge(seeds: list[int], part_dir: Path, out: Path) -> dict:
    gdsc = pk.data.load("gdsc_ic50_v17_gdsctools")
    features = gdsc["features"]
    scores = pd.concat([pd.read_csv(part_dir / f"scores_{s}.csv") for s in seeds])
    terms = pd.concat([pd.read_csv(part_dir / f"terms_{s}.csv") for s in seeds])
    preds = pd.concat([pd.read_csv(part_dir / f"predictions_{s}.csv") for s in seeds])
    ontology = pd.read_csv(part_dir / "ontology.csv")
    per_seed = scores.groupby(["model", "seed"])[["pearson", "rmse"]].mean()
    models = ["visible", "dense", "ridge", "mean"]
    summary = {m: {"pearson_mean": float(per_seed.loc[m, "pearson"].mean()),
                   "pearson_sd": float(per_seed.loc[m, "pearson"].std(ddof=1)) if len(seeds) > 1 else 0.0,
                   "rmse_mean": float(per_seed.loc[m, "rmse"].mean()),
                   "rmse_sd": float(per_seed.loc[m, "rmse"].std(ddof=1)) if len(seeds) > 1 else 0.0,
                   "n_params": int(scores.loc[scores["model"] == m, "n_params"].median()),
                   "epochs_median": float(scores.loc[scores["model"] == m, "epochs"].median())}
               for m in models}
    wins = per_seed["pearson"].unstack("model")
    per_drug = scores.groupby(["drug", "model"])["pearson"].mean().unstack("model")[models]
    # subsystems for the BRAF inhibitors: terms that predict the drug, ranked by RLIPP (mean over seeds)
    t = terms.groupby(["drug", "term"]).agg(rlipp=("rlipp", "mean"), rho_term=("rho_term", "mean"),
                                            has_BRAF=("has_BRAF", "first"), n_genes=("n_genes", "first"),
                                            height=("height", "first")).reset_index()
    top_terms, top_share = {}, {}
    for d in BRAF_INHIBITORS:
        td = t[(t["drug"] == d) & (t["rho_term"] >= MIN_RHO)].sort_values("rlipp", ascending=False)
        top_terms[str(d)] = td.head(10).round(4).to_dict(orient="records")
        top_share[str(d)] = {"n_predictive": len(td), "top10_with_braf": float(td.head(10)["has_BRAF"].mean())}
    # which terms carry the BRAF-inhibitor signal at all: Spearman r of the term's neurons
    braf_in = t[t["drug"].isin(list(BRAF_INHIBITORS))].groupby("has_BRAF").agg(
        n_term_drug=("term", "size"), median_rho_term=("rho_term", "median"),
        share_predictive=("rho_term", lambda r: float((r >= MIN_RHO).mean())), median_rlipp=("rlipp", "median"))
    # BRAF-mutant minus wild-type ln IC50 on held-out lines: observed, predicted, and the ANOVA
    braf = features["BRAF_mut"]
    gap = []
    anova = pk.tl.drug_gene_anova(gdsc["ic50"][list(BRAF_INHIBITORS)], features, feature_columns=["BRAF_mut"])
    for d, name in BRAF_INHIBITORS.items():
        p = preds[preds["drug"] == d].assign(braf=lambda x: x["cell_line"].map(braf).to_numpy())
        row = {"drug": d, "name": name, "n_braf_test": int(p.groupby("seed")["braf"].sum().mean()),
               "anova_delta": float(anova.loc[anova["drug"] == d, "delta"].iloc[0]),
               "anova_padj": float(anova.loc[anova["drug"] == d, "padj"].iloc[0])}
        for col in ["observed", *models]:
            g = p.groupby(["seed", "braf"])[col].mean().unstack("braf")
            row[f"gap_{col}"] = float((g[1] - g[0]).mean())
        gap.append(row)
    result = {
        "source": "benchmarks/drugcell.py",
        "data": "gdsc_ic50_v17_gdsctools + ontology_drugcell",
        "seeds": seeds,
        "drugs": [int(d) for d in scores["drug"].unique()],
        "n_terms": len(ontology),
        "min_genes": MIN_GENES,
        "budget": BUDGET,
        "n_input_genes": int(ontology["n_genes"].max()),
        "n_test_lines": int(scores.loc[scores["model"] == "mean", "n_test"].max()),
        "summary": summary,
        "visible_beats_dense_seeds": int((wins["visible"] > wins["dense"]).sum()),
        "visible_beats_ridge_seeds": int((wins["visible"] > wins["ridge"]).sum()),
        "per_seed_pearson": {m: [float(v) for v in wins[m]] for m in models},
        "per_drug_pearson": {str(d): {m: float(v) for m, v in row.items()} for d, row in per_drug.iterrows()},
        "braf_top_terms": top_terms,
        "braf_top_terms_share": top_share,
        "braf_terms_by_has_braf": {str(k): v for k, v in braf_in.to_dict(orient="index").items()},
        "braf_gap": gap,
        "minutes_per_seed": float(scores.groupby("seed")["seconds"].first().mean() / 60),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--parts", type=Path, default=Path(tempfile.gettempdir()) / "perturbkit_drugcell_parts")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "drugcell.json")
    ap.add_argument("--part", action="store_true", help="only train the given seeds and write their tables")
    ap.add_argument("--merge", action="store_true", help="only merge the seeds' tables into the JSON")
    args = ap.parse_args(argv)
    if not args.merge:
        for s in args.seeds:
            run_seed(s, args.parts)
    if not args.part:
        res = merge(args.seeds, args.parts, args.out)
        print(json.dumps(res["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
