"""Condition profiles and a co-expression gene graph from cells of a combinatorial screen."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from anndata import AnnData

import perturbkit as pk
from perturbkit.data._loaders._scperturb import read_scperturb

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "data"))

from _scperturb_fake import TARGETS, fake_scperturb  # noqa: E402


def _module(gene: str) -> int:
    """Planted module of a gene of the synthetic screen (-1: background)."""
    if gene.startswith("TF"):
        return int(gene[2:]) // 4
    i = int(gene[1:])
    return i // 15 if i < 45 else -1


@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> AnnData:
    path = tmp_path_factory.mktemp("combo") / "norman.h5ad"
    fake_scperturb(cells_per_double=80, n_doubles=24, seed=2).write_h5ad(path)
    return read_scperturb(path)


def test_profiles_are_condition_means(cells: AnnData) -> None:
    prof = pk.tl.combination_profiles(cells, n_neighbors=5)
    labels = cells.obs["perturbation"].astype(str)
    assert prof.obs["perturbation"].iloc[0] == "control"
    assert prof.n_obs == 1 + 12 + 24 and prof.n_vars == cells.n_vars
    x = cells.layers["counts"].toarray()
    y = np.log1p(x / x.sum(1, keepdims=True) * 1e4)
    assert np.allclose(prof["TF3"].X.ravel(), y[(labels == "TF3").to_numpy()].mean(0))
    assert prof.obs.loc["control", "n_cells"] == 800 and prof.obs.loc["TF3", "n_perturbations"] == 1
    assert set(prof.uns["perturbation_genes"]) == set(TARGETS)
    pairs = prof.uns["pairs"]
    assert len(pairs) == 24 and all(p.count("+") == 1 for p in pairs.index)
    assert (pairs["n_cells"] == 80).all()


def test_graph_links_the_planted_modules(cells: AnnData) -> None:
    graph = pk.tl.combination_profiles(cells, n_neighbors=5).uns["gene_graph"]
    assert list(graph.columns) == ["source", "target", "weight"] and (graph["weight"] > 0).all()
    both = graph[[_module(s) >= 0 and _module(t) >= 0 for s, t in zip(graph["source"], graph["target"], strict=True)]]
    within = np.mean([_module(s) == _module(t) for s, t in zip(both["source"], both["target"], strict=True)])
    assert len(both) > 100 and within > 0.95, within


def test_graph_model_beats_additivity_only_on_planted_interactions(cells: AnnData) -> None:
    prof = pk.tl.combination_profiles(cells, n_neighbors=5)
    pairs = list(prof.uns["pairs"].index)
    pred = pk.tl.predict_combinations(prof, train=pairs[::2], test=pairs[1::2]).predictions
    err = (pred.assign(additive=(pred["observed"] - pred["additive"]) ** 2,
                       model=(pred["observed"] - pred["model"]) ** 2)
           .groupby("pair")[["additive", "model"]].mean())
    same = np.array([_module(a) == _module(b) for a, b in (p.split("+") for p in err.index)])
    assert err.loc[same, "model"].sum() < 0.85 * err.loc[same, "additive"].sum(), err
    assert np.allclose(err.loc[~same, "model"], err.loc[~same, "additive"]), err


def test_input_is_left_alone_and_errors(cells: AnnData) -> None:
    before = cells.obs.copy()
    pk.tl.combination_profiles(cells, n_neighbors=3)
    assert cells.obs.equals(before)
    with pytest.raises(ValueError, match="control cells"):
        pk.tl.combination_profiles(cells[:50].copy(), min_cells=100)
    with pytest.raises(KeyError, match="no column 'condition'"):
        pk.tl.combination_profiles(cells, groupby="condition")
    bad = cells.copy()
    bad.layers["counts"] = bad.layers["counts"] * 0.5
    with pytest.raises(ValueError, match="not integers"):
        pk.tl.combination_profiles(bad)
