"""Celcomen's energy model: planted intra- and inter-cellular matrices recovered; the
authors' mean-field fit and the intra-only model as baselines; bad input fails clearly."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def coupled():
    tissue = pk.data.simulate_coupled_tissue(22, seed=0)
    pk.tl.celcomen(tissue, n_neighbors=4, n_iter=120, seed=0)
    return tissue


def _offdiag(m):
    return m.to_numpy()[np.triu_indices(len(m), 1)]


def _upper(m):
    return m.to_numpy()[np.triu_indices(len(m))]


def test_planted_matrices_recovered(coupled):
    truth, fit = coupled.uns["truth"], coupled.uns["celcomen"]
    r_intra = np.corrcoef(_offdiag(fit["intra"]), _offdiag(truth["intra"]))[0, 1]
    r_inter = np.corrcoef(_upper(fit["inter"]), _upper(truth["inter"]))[0, 1]
    assert r_intra > 0.7, r_intra
    assert r_inter > 0.7, r_inter
    inter = fit["inter"]
    # the planted pair is the largest off-diagonal inter entry, NICHE the largest diagonal one
    off = inter.where(~np.eye(len(inter), dtype=bool)).stack()
    assert set(off.idxmax()) == {"LIGAND", "RESPONSE"}
    assert np.diag(inter).argmax() == list(inter.index).index("NICHE")
    assert np.allclose(inter, inter.T) and np.allclose(fit["intra"], fit["intra"].T)
    assert fit["params"]["method"] == "pcd"


def test_same_seed_same_matrices_and_copy(coupled):
    again = pk.tl.celcomen(coupled, n_neighbors=4, n_iter=120, seed=0, copy=True)
    assert np.array_equal(again.uns["celcomen"]["inter"], coupled.uns["celcomen"]["inter"])
    fresh = pk.data.simulate_coupled_tissue(8, n_sweeps=5, seed=1)
    assert pk.tl.celcomen(fresh, n_neighbors=4, n_iter=4, copy=True) is not None
    assert "celcomen" not in fresh.uns


def test_baselines_intra_only_and_mean_field(coupled):
    truth = coupled.uns["truth"]
    intra_only = pk.tl.celcomen(coupled, n_neighbors=4, n_iter=120, intercellular=False, copy=True)
    assert (intra_only.uns["celcomen"]["inter"].to_numpy() == 0).all()
    mft = pk.tl.celcomen(coupled, n_neighbors=4, method="mft", n_iter=60, copy=True).uns["celcomen"]
    # the authors' fit keeps matrices in [0, 1] with a unit diagonal and misses the planted B
    assert mft["inter"].to_numpy().min() >= 0 and mft["inter"].to_numpy().max() <= 1
    assert np.allclose(np.diag(mft["intra"]), 1)
    r_mft = np.corrcoef(_upper(mft["inter"]), _upper(truth["inter"]))[0, 1]
    r_pcd = np.corrcoef(_upper(coupled.uns["celcomen"]["inter"]), _upper(truth["inter"]))[0, 1]
    assert r_pcd > r_mft + 0.3, (r_pcd, r_mft)


def test_bad_input():
    tissue = pk.data.simulate_coupled_tissue(8, n_sweeps=5, seed=0)
    with pytest.raises(ValueError, match="method"):
        pk.tl.celcomen(tissue, method="gibbs")
    with pytest.raises(KeyError, match="NOPE"):
        pk.tl.celcomen(tissue, genes=["TF", "NOPE"])
    bad = tissue.copy()
    bad.X[0] = 0
    with pytest.raises(ValueError, match="1 cells have zero expression"):
        pk.tl.celcomen(bad, n_iter=4)
    bad.X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.celcomen(bad, n_iter=4)
    bad.X[0, 0] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        pk.tl.celcomen(bad, n_iter=4)
    with pytest.raises(KeyError, match="spatial"):
        pk.tl.celcomen(tissue, spatial_key="xy")
