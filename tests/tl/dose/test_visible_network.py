"""DrugCell-style visible network: wiring along the hierarchy, planted subsystem, baselines, seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk
from perturbkit.tl._dose._visible_network import _build_net, _dense_width, _n_params, _subtree_genes


@pytest.fixture(scope="module")
def sim():
    return pk.data.simulate_ontology_response(seed=0)


@pytest.fixture(scope="module")
def fitted(sim):
    return pk.tl.visible_network(sim["ic50"], sim["features"], sim["terms"], sim["genes"],
                                 drugs=list(sim["ic50"].columns), seeds=(0,), mark_genes=["G0_0_0"])


def test_prune_keeps_terms_above_input_genes(sim):
    ont = pk.tl.prune_ontology(sim["terms"], sim["genes"], sim["genes"]["gene"].tolist())
    assert len(ont) == 1 + 4 + 12 and ont["term"].iloc[-1] == "root"
    assert ont.set_index("term").loc["B0", "children"] == ["L0_0", "L0_1", "L0_2"]
    assert ont.set_index("term").loc["root", "n_genes"] == 60
    # only genes of leaf L0_0 and L1_0 given: the other leaves and branches B2, B3 go
    few = sim["genes"].query("term in ['L0_0', 'L1_0']")["gene"].tolist()
    small = pk.tl.prune_ontology(sim["terms"], sim["genes"], few)
    assert sorted(small["term"]) == ["B0", "B1", "L0_0", "L1_0", "root"]
    # a dropped term's genes feed its nearest kept ancestor
    mid = pk.tl.prune_ontology(sim["terms"], sim["genes"], sim["genes"]["gene"].tolist(), min_genes=6)
    b0 = mid.set_index("term").loc["B0"]
    assert b0["children"] == [] and len(b0["genes"]) == 15


def test_prune_bad_input_names_the_problem():
    genes = pd.DataFrame({"term": ["a"], "gene": ["g1"]})
    with pytest.raises(KeyError, match="'child'"):
        pk.tl.prune_ontology(pd.DataFrame({"parent": ["r"], "kid": ["a"]}), genes, ["g1"])
    cyc = pd.DataFrame({"parent": ["r", "a", "b"], "child": ["a", "b", "a"]})
    with pytest.raises(ValueError, match="cycle through 'a'"):
        pk.tl.prune_ontology(cyc, genes, ["g1"])
    two_roots = pd.DataFrame({"parent": ["r", "s"], "child": ["a", "b"]})
    with pytest.raises(ValueError, match="one root"):
        pk.tl.prune_ontology(two_roots, genes, ["g1"])
    with pytest.raises(ValueError, match="none of the input genes"):
        pk.tl.prune_ontology(pd.DataFrame({"parent": ["r"], "child": ["a"]}), genes, ["g9"])


def test_gene_reaches_only_its_ancestors_modules(sim):
    """Wiring invariant: a term's neurons have zero gradient with respect to every gene outside
    its subtree, and a non-zero one for the genes inside it."""
    import torch

    names = sim["genes"]["gene"].tolist()
    ont = pk.tl.prune_ontology(sim["terms"], sim["genes"], names)
    gene_index = {g: i for i, g in enumerate(names)}
    net = _build_net(ont, gene_index, 0, 2, hidden=4, drug_dim=3, final_dim=3, dense_width=None, seed=0)
    net.train()  # batch statistics: every line influences the normalisation, genes still may not leak
    x = torch.tensor(sim["features"][[g + "_mut" for g in names]].to_numpy()[:50], dtype=torch.float32)
    subtree = _subtree_genes(ont)
    for term in ["L0_0", "L2_1", "B0", "B3", "root"]:
        xg = x.clone().requires_grad_(True)
        _, _, state = net(xg, torch.zeros(50, 0))
        state[:, net.slot[term]:net.slot[term] + 4].sum().backward()
        grad = xg.grad.abs().sum(0).numpy()
        inside = np.array([g in subtree[term] for g in names])
        assert inside.sum() == {"L0_0": 5, "L2_1": 5, "B0": 15, "B3": 15, "root": 60}[term]
        assert np.all(grad[~inside] == 0), (term, np.array(names)[(grad > 0) & ~inside])
        assert np.all(grad[inside] > 0), term
    # only the wired weights exist: one per (input, neuron) edge of each term module
    n_edges = sum(4 * (4 * len(k) + len(g)) for k, g in zip(ont["children"], ont["genes"], strict=True))
    assert sum(p.numel() for p in net.weights) == n_edges


def test_dense_baseline_matches_parameter_count():
    for target, g, h in [(1536, 60, 6), (110_000, 112, 6), (5_000, 20, 4)]:
        w = _dense_width(target, g, h)
        n = w * w + w * (g + h + 6) + 3 * h
        assert abs(n - target) <= 2 * w + g + h + 8, (target, w, n)


def test_planted_subsystem_is_recovered(sim, fitted):
    """Drug D0 responds to an interaction of two leaves that first meet in branch B0: among the
    terms whose neurons predict D0 (Spearman >= 0.2), B0 has the largest RLIPP (0.49), and so for D1/B1 (0.15)."""
    terms = fitted.terms
    for drug, planted in zip(sim["truth"]["drug"], sim["truth"]["term"], strict=True):
        t = terms[(terms["drug"] == drug) & (terms["rho_term"] >= 0.2)].sort_values("rlipp", ascending=False)
        assert t["term"].iloc[0] == planted, t.head()
        assert t["rlipp"].iloc[0] > 0.1
    assert terms.set_index(["term", "drug"]).loc[("B0", "D0"), "has_G0_0_0"]
    assert not terms.set_index(["term", "drug"]).loc[("B1", "D0"), "has_G0_0_0"]


def test_visible_network_beats_baselines_on_planted_drug(fitted):
    s = fitted.scores.pivot(index="drug", columns="model", values="pearson")
    assert s.loc["D0", "visible"] > s.loc["D0", "dense"] + 0.05, s
    assert s.loc["D0", "visible"] > s.loc["D0", "ridge"], s
    assert (s["mean"].abs() < 1e-9).all()  # a constant prediction has no within-drug correlation
    n = fitted.scores.groupby("model")["n_params"].first()
    assert abs(n["dense"] - n["visible"]) / n["visible"] < 0.1, n
    pred = fitted.predictions
    assert {"seed", "cell_line", "drug", "observed", "visible", "dense", "ridge", "mean"} <= set(pred.columns)
    assert pred.groupby("drug").size().min() == 80  # a fifth of 400 lines held out


def test_same_seed_same_numbers(sim):
    kw = dict(drugs=["D0", "D2"], seeds=(3,), max_epochs=3, importance=False)
    a = pk.tl.visible_network(sim["ic50"], sim["features"], sim["terms"], sim["genes"], **kw)
    b = pk.tl.visible_network(sim["ic50"], sim["features"], sim["terms"], sim["genes"], **kw)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    c = pk.tl.visible_network(sim["ic50"], sim["features"], sim["terms"], sim["genes"],
                              **{**kw, "seeds": (4,)})
    assert not np.allclose(a.scores["rmse"], c.scores["rmse"])


def test_bad_input_names_drug_column_gene(sim):
    args = (sim["ic50"], sim["features"], sim["terms"], sim["genes"])
    with pytest.raises(KeyError, match="'D9'"):
        pk.tl.visible_network(*args, drugs=["D0", "D9"])
    with pytest.raises(KeyError, match="'tissue'"):
        pk.tl.visible_network(*args, drugs=["D0"], tissue_key="tissue")
    with pytest.raises(KeyError, match="'BRAF'"):
        pk.tl.visible_network(*args, drugs=["D0"], mark_genes=["BRAF"])
    feats = sim["features"].copy()
    feats.iloc[3, 5] = 2
    with pytest.raises(ValueError, match=repr(feats.columns[5])):
        pk.tl.visible_network(sim["ic50"], feats, sim["terms"], sim["genes"], drugs=["D0"])
    with pytest.raises(ValueError, match="<gene>_snv"):
        pk.tl.visible_network(*args, drugs=["D0"], gene_suffix="_snv")
    with pytest.raises(ValueError, match="test_fraction"):
        pk.tl.visible_network(*args, drugs=["D0"], test_fraction=0.5, val_fraction=0.5)


def test_parameter_count_counts_wired_weights_only(sim):
    names = sim["genes"]["gene"].tolist()
    ont = pk.tl.prune_ontology(sim["terms"], sim["genes"], names)
    net = _build_net(ont, {g: i for i, g in enumerate(names)}, 2, 3, hidden=6, drug_dim=6, final_dim=6,
                     dense_width=None, seed=0)
    # 12 leaves x 6 neurons x 5 genes + 4 branches x 6 x 18 + root 6 x 24
    assert sum(p.numel() for p in net.weights) == 12 * 6 * 5 + 4 * 6 * 18 + 6 * 24
    assert _n_params(net) > sum(p.numel() for p in net.weights)
