from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def _sets(seed: int = 0) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    genes = [f"g{i}" for i in range(60)]
    return {f"term{t}": sorted(rng.choice(genes, 10, replace=False)) for t in range(8)}


@pytest.fixture(scope="module")
def go_fx():
    sets = _sets()
    go = pk.data.simulate_go_screen(sets, n_pairs=40, seed=0)
    singles = [c for c in go.obs_names if c != "control" and "+" not in c]
    rng = np.random.default_rng(1)
    held = sorted(rng.choice(singles, len(singles) // 4, replace=False))
    train = [s for s in singles if s not in held]
    return go, singles, held, train


def _mse(res: pd.DataFrame, col: str) -> pd.Series:
    return ((res[col] - res["observed"]) ** 2).groupby(res["kind"]).mean()


def test_go_graph_jaccard() -> None:
    ann = pd.DataFrame({"term": ["t1", "t1", "t2", "t2", "t2", "t3"], "gene": ["A", "B", "B", "C", "A", "D"]})
    g = pk.tl.go_graph(ann, ["A", "B", "C", "D"], k=5, min_similarity=0.0)
    w = g.set_index(["source", "target"])["weight"]
    assert w[("A", "B")] == pytest.approx(1.0)  # both in t1 and t2
    assert w[("A", "C")] == pytest.approx(0.5)  # share t2 of {t1, t2}
    assert "D" not in set(g["source"]) and ("A", "A") not in w.index
    with pytest.raises(KeyError, match="gene_terms has no 'term'"):
        pk.tl.go_graph(ann.rename(columns={"term": "go"}), ["A"])
    with pytest.raises(ValueError, match="k must be >= 1"):
        pk.tl.go_graph(ann, ["A"], k=0)


def test_unseen_genes_beat_baselines_through_the_graph(go_fx) -> None:
    go, singles, held, train = go_fx
    graph = pk.tl.go_graph(go.uns["truth"]["gene_terms"], singles)
    pairs = [c for c in go.obs_names if "+" in c]
    res = pk.tl.predict_unseen_genes(go, graph, train=train, test=held + pairs)
    model, none, mean = _mse(res, "model"), _mse(res, "no_change"), _mse(res, "mean_single")
    for kind in ("single", "pair, one unseen"):
        assert model[kind] < 0.7 * min(none[kind], mean[kind]), (model, none, mean)
    assert model["pair, both seen"] < 0.05 * none["pair, both seen"]  # additive of measured singles
    both = res[res["kind"] == "pair, both seen"]
    assert np.allclose(both["model"], both["additive"])
    # the graph is what helps: the same genes on a shuffled graph are no better than the mean single
    rng = np.random.default_rng(0)
    shuffled = graph.assign(target=rng.permutation(graph["target"].to_numpy()))
    res_s = pk.tl.predict_unseen_genes(go, shuffled, train=train, test=held)
    assert _mse(res_s, "model")["single"] > 0.9 * _mse(res_s, "mean_single")["single"]


def test_predict_unseen_bad_input(go_fx) -> None:
    go, singles, held, train = go_fx
    graph = pk.tl.go_graph(go.uns["truth"]["gene_terms"], singles)
    with pytest.raises(ValueError, match="test conditions also in train"):
        pk.tl.predict_unseen_genes(go, graph, train=train, test=train[:1])
    with pytest.raises(ValueError, match="condition 'nope' not in"):
        pk.tl.predict_unseen_genes(go, graph, train=train, test=["nope"])
    with pytest.raises(KeyError, match="graph has no 'weight'"):
        pk.tl.predict_unseen_genes(go, graph.drop(columns="weight"), train=train, test=held)


def test_mirrored_gene_ontology_places_unseen_genes() -> None:
    ont = pk.data.load("ontology_drugcell")
    if pk.data.is_stand_in("ontology_drugcell"):
        pytest.skip("ontology not in the mirror")
    ann = ont["genes"]
    sizes = ann.groupby("term").size()
    rng = np.random.default_rng(0)
    terms = rng.choice(sorted(sizes.index[sizes.between(8, 15)]), 8, replace=False)
    go = pk.data.simulate_go_screen({t: sorted(ann.loc[ann["term"] == t, "gene"]) for t in terms}, n_pairs=0, seed=0)
    singles = [c for c in go.obs_names if c != "control"]
    held = sorted(rng.choice(singles, len(singles) // 4, replace=False))
    res = pk.tl.predict_unseen_genes(go, pk.tl.go_graph(ann, singles), train=[s for s in singles if s not in held],
                                     test=held)
    assert _mse(res, "model")["single"] < 0.75 * _mse(res, "mean_single")["single"]
