"""Simcomen's counterfactual knockout: the effect reaches the planted neighbour gene in the
neighbouring cells and fades with distance; the intra-only model carries nothing outside."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def fitted():
    tissue = pk.data.simulate_coupled_tissue(22, seed=0)
    pk.tl.celcomen(tissue, n_neighbors=4, n_iter=120, seed=0)
    pk.tl.celcomen(tissue, n_neighbors=4, n_iter=120, seed=0, intercellular=False, key_added="intra_only")
    xy = tissue.obsm["spatial"]
    tissue.obs["ko"] = np.hypot(*(xy - xy.mean(0)).T) < 40
    return tissue


def test_knockout_reaches_planted_neighbour_gene(fitted):
    res = pk.tl.simcomen(fitted, "LIGAND", "ko")
    by_hop = res.groupby(["hop", "gene"])["delta"].apply(
        lambda d: np.average(d, weights=res.loc[d.index, "n_cells"])).unstack()
    assert by_hop.loc[0, "LIGAND"] < -0.3  # the knockout itself
    hop1 = by_hop.loc[1]
    assert hop1.idxmin() == "RESPONSE", hop1  # the gene B couples to LIGAND, in the neighbours
    assert hop1["RESPONSE"] < -0.02
    assert abs(hop1["FREE"]) < abs(hop1["RESPONSE"]) / 3
    assert by_hop.loc[3].abs().max() < abs(hop1["RESPONSE"]) / 3  # fades with distance
    assert set(res.columns) == {"cell_type", "hop", "gene", "delta", "n_cells"}
    assert res.groupby("gene")["n_cells"].sum().eq(fitted.n_obs).all()


def test_intra_only_model_changes_nothing_outside(fitted):
    res = pk.tl.simcomen(fitted, "LIGAND", "ko", key="intra_only")
    assert np.allclose(res.loc[res["hop"] >= 1, "delta"], 0, atol=1e-12)
    assert res.loc[(res["hop"] == 0) & (res["gene"] == "LIGAND"), "delta"].lt(-0.3).all()


def test_bad_input(fitted):
    with pytest.raises(KeyError, match="run pk.tl.celcomen"):
        pk.tl.simcomen(fitted, "LIGAND", "ko", key="missing")
    with pytest.raises(KeyError, match="CD3E"):
        pk.tl.simcomen(fitted, "CD3E", "ko")
    with pytest.raises(ValueError, match="boolean mask"):
        pk.tl.simcomen(fitted, "LIGAND", np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="no cell"):
        pk.tl.simcomen(fitted, "LIGAND", np.zeros(fitted.n_obs, dtype=bool))
