"""The coupled-tissue simulator: unit-norm cells, planted matrices, and the planted
neighbour coupling visible in the raw data."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


def test_shape_truth_and_planted_neighbour_correlation():
    tissue = pk.data.simulate_coupled_tissue(20, seed=0)
    assert tissue.shape == (400, 6)
    assert np.allclose(np.linalg.norm(tissue.X, axis=1), 1, atol=1e-5) and (tissue.X >= 0).all()
    truth = tissue.uns["truth"]
    assert truth["inter"].loc["RESPONSE", "LIGAND"] == 8.0 and truth["intra"].loc["TF", "TARGET"] == 3.0
    # a cell's LIGAND goes with its neighbours' RESPONSE, not with their FREE
    from scipy.spatial import cKDTree
    _, idx = cKDTree(tissue.obsm["spatial"]).query(tissue.obsm["spatial"], k=5)
    x = tissue.to_df()
    nbr = x.to_numpy()[idx[:, 1:]].mean(axis=1)
    lig = x["LIGAND"].to_numpy()
    r_resp = np.corrcoef(lig, nbr[:, list(x.columns).index("RESPONSE")])[0, 1]
    r_free = np.corrcoef(lig, nbr[:, list(x.columns).index("FREE")])[0, 1]
    assert r_resp > r_free + 0.1, (r_resp, r_free)
    again = pk.data.simulate_coupled_tissue(20, seed=0)
    assert np.array_equal(again.X, tissue.X)
    with pytest.raises(ValueError, match="n_side"):
        pk.data.simulate_coupled_tissue(2)
