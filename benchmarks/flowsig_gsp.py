"""pk.tl.flowsig's PC graphs against FlowSig's own structure learners (causaldag's GSP and UT-IGSP).

FlowSig (Almet et al. 2024) learns its graphs with the greedy sparsest permutation algorithm
(GSP, one condition) or UT-IGSP (control and perturbed cells together) from ``causaldag``,
partial-correlation tests at alpha = 0.001, then keeps the edges its flow model allows
(``apply_biological_flow``). This script runs those learners, as FlowSig's ``run_gsp`` and
``run_utigsp`` call them, on the flow variables ``pk.tl.flowsig`` builds (same bootstrap
resamples) and compares the edges at bootstrap frequency >= 0.7 with PC's:

- on ``pk.data.simulate_flows`` (planted truth): precision and recall of each learner;
- on the Kang PBMCs: agreement (Jaccard index) of the inflow/outflow edges per condition.

``causaldag`` pins old dependencies, so it is not a project extra; install it beside the
venv, e.g. ``pip install --no-deps --target /tmp/cd causaldag==0.1a163 graphical-models
conditional-independence graphical-model-learning frozendict pygam progressbar2
python-utils numexpr ipdb xgboost einops pgmpy scikit-base`` and run with
``PYTHONPATH=/tmp/cd``.

Usage: python benchmarks/flowsig_gsp.py [--bootstraps N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scanpy as sc

import perturbkit as pk
from perturbkit.tl._spatial._flowsig import _flow_edges

ALPHA = 1e-3


def _as_causallearn(amat: np.ndarray) -> np.ndarray:
    """causaldag's amat (1 at [i, j] for i -> j, both for undirected) in causal-learn's code."""
    g = np.zeros_like(amat, dtype=float)
    for i, j in zip(*np.nonzero(amat), strict=True):
        if amat[j, i]:
            g[i, j] = g[j, i] = -1
        else:
            g[i, j], g[j, i] = -1, 1
    return g


def _learn(data: dict[str, np.ndarray], types: np.ndarray, control: str, *, method: str, n_boot: int,
           seed: int) -> dict[str, np.ndarray]:
    from causaldag import (
        MemoizedCI_Tester,
        MemoizedInvarianceTester,
        gauss_invariance_suffstat,
        gauss_invariance_test,
        gsp,
        partial_correlation_suffstat,
        partial_correlation_test,
        unknown_target_igsp,
    )

    rng = np.random.default_rng(seed)
    n = len(types)
    freq = {c: np.zeros((n, n)) for c in data}
    for _ in range(n_boot):
        res = {c: x[rng.integers(0, len(x), len(x))] for c, x in data.items()}
        # as FlowSig: only variables that vary in every resampled condition
        keep = np.flatnonzero(np.all([x.std(axis=0) > 1e-12 for x in res.values()], axis=0))
        res = {c: x[:, keep] for c, x in res.items()}
        nodes, sub = set(range(len(keep))), np.ix_(keep, keep)
        kt = types[keep]
        if method == "gsp":
            for c, x in res.items():
                ci = MemoizedCI_Tester(partial_correlation_test, partial_correlation_suffstat(x, invert=True), alpha=ALPHA)
                dag = gsp(nodes, ci, nruns=20)
                freq[c][sub] += _flow_edges(_as_causallearn(dag.cpdag().to_amat()[0]), kt)
        else:  # UT-IGSP: one graph from control (observational) and perturbed (interventional) cells
            perturbed = [x for c, x in res.items() if c != control]
            ci = MemoizedCI_Tester(partial_correlation_test, partial_correlation_suffstat(res[control], invert=True),
                                   alpha=ALPHA)
            inv = MemoizedInvarianceTester(gauss_invariance_test, gauss_invariance_suffstat(res[control], perturbed),
                                           alpha=ALPHA)
            dag, targets = unknown_target_igsp([{"known_interventions": []} for _ in perturbed], nodes, ci, inv,
                                               nruns=20)
            icpdag = dag.interventional_cpdag(targets, cpdag=dag.cpdag())
            edges = _flow_edges(_as_causallearn(icpdag.to_amat()[0]), kt)
            for c in freq:
                freq[c][sub] += edges
    return {c: f / n_boot for c, f in freq.items()}


def _edges(freq: np.ndarray, names: list[str], types: np.ndarray, rename: dict[str, str]) -> set[tuple[str, str]]:
    s, t = np.nonzero(freq >= 0.7)
    return {(rename.get(names[i], names[i]), rename.get(names[j], names[j])) for i, j in zip(s, t, strict=True)
            if not (types[i] == "module" and types[j] == "module")}


def _run(adata, resource, *, n_modules: int, n_boot: int, seed: int) -> tuple[dict, dict, list, np.ndarray]:
    pk.tl.flowsig(adata, resource=resource, n_modules=n_modules, n_bootstraps=n_boot, seed=seed)
    res = adata.uns["flowsig"]
    names, types = list(res["variables"].index), res["variables"]["type"].to_numpy()
    values = adata.obsm["flowsig_variables"].to_numpy()
    cond = adata.obs["perturbation"].astype(str).to_numpy()
    data = {c: values[cond == c] for c in pd.unique(cond)}
    pc = {c: np.zeros((len(names), len(names))) for c in data}
    for e in res["edges"].itertuples():
        pc[e.condition][names.index(e.source), names.index(e.target)] = e.frequency
    learnt = {"PC (pk.tl.flowsig)": pc}
    for method, label in (("gsp", "GSP per condition (FlowSig, one condition)"), ("utigsp", "UT-IGSP (FlowSig default)")):
        learnt[label] = _learn(data, types, pk.data.CONTROL, method=method, n_boot=n_boot, seed=seed)
    return learnt, data, names, types


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstraps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/flowsig_gsp.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    try:
        import causaldag  # noqa: F401
    except ImportError:
        print("causaldag is not installed (see the module docstring); FlowSig's learners skipped")
        return
    out: dict = {"bootstraps": args.bootstraps, "alpha": ALPHA, "threshold": 0.7}

    sim = pk.data.simulate_flows(300, seed=args.seed)
    sc.pp.normalize_total(sim)
    sc.pp.log1p(sim)
    lr = pd.DataFrame({"ligand": ["LIGA", "LIGB", "LIGC"], "receptor": ["RECA", "RECB", "RECC"]})
    learnt, _, names, types = _run(sim, lr, n_modules=5, n_boot=args.bootstraps, seed=args.seed)
    loadings = sim.uns["flowsig"]["modules"]
    rename = {loadings.loc[g].sum().idxmax(): m for m, g in sim.uns["truth"]["modules"].items()}
    truth = sim.uns["truth"]["edges"]
    out["simulation"] = {}
    for label, freq in learnt.items():
        row = {}
        for c, f in freq.items():
            found = _edges(f, names, types, rename)
            planted = set(zip(*truth.query("condition == @c")[["source", "target"]].T.to_numpy(), strict=True))
            row[c] = {"precision": round(len(found & planted) / max(len(found), 1), 3),
                      "recall": round(len(found & planted) / len(planted), 3), "n_found": len(found)}
        out["simulation"][label] = row

    kang = pk.data.load("kang2018_ifnb_muscat")
    omni = pk.data.load("resources_genesets_lr", table="omni")
    sc.pp.normalize_total(kang, target_sum=1e4)
    sc.pp.log1p(kang)
    diff = pk.tl.differential_lr(kang, cell_type_key="cell_type", groupby="perturbation", control=pk.data.CONTROL,
                                 sample_key="donor", resource=omni[omni["resource"] == "consensus"], n_perms=20,
                                 seed=args.seed)
    learnt, _, names, types = _run(kang, diff.head(20)[["ligand", "receptor"]].drop_duplicates(), n_modules=8,
                                   n_boot=args.bootstraps, seed=args.seed)
    pc = learnt.pop("PC (pk.tl.flowsig)")
    out["kang"] = {}
    for label, freq in learnt.items():
        row = {}
        for c in freq:
            a, b = _edges(pc[c], names, types, {}), _edges(freq[c], names, types, {})
            row[c] = {"jaccard_with_pc": round(len(a & b) / max(len(a | b), 1), 3), "n_pc": len(a), "n_other": len(b),
                      "only_pc": sorted(map(list, a - b)), "only_other": sorted(map(list, b - a))}
        out["kang"][label] = row
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
