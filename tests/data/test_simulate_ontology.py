"""simulate_ontology_response: the planted interaction is where the docstring says."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


def test_planted_interaction_shifts_only_its_drug():
    sim = pk.data.simulate_ontology_response(n_cells=2000, noise=0.3, seed=1)
    mut, ic50, genes = sim["features"], sim["ic50"], sim["genes"]
    def leaf_hit(leaf):
        cols = [g + "_mut" for g in genes.loc[genes["term"] == leaf, "gene"]]
        return mut[cols].to_numpy().any(axis=1)
    both = leaf_hit("L0_0") & leaf_hit("L0_1")
    one = leaf_hit("L0_0") & ~leaf_hit("L0_1")
    tissue = mut["TISSUE_FACTOR"]
    # within a tissue the shift of D0 is the planted -2 for both leaves, none for one leaf alone
    t0 = (tissue == "tissue0").to_numpy()
    d0 = ic50["D0"].to_numpy()
    none = ~leaf_hit("L0_0") & ~leaf_hit("L0_1")
    assert abs(d0[both & t0].mean() - d0[none & t0].mean() - (-2.0)) < 0.25
    assert abs(d0[one & t0].mean() - d0[none & t0].mean()) < 0.15
    d2 = ic50["D2"].to_numpy()  # the last drug has no planted subsystem
    assert abs(d2[both & t0].mean() - d2[none & t0].mean()) < 0.25
    assert sim["truth"]["term"].tolist() == ["B0", "B1"] and int(both.sum()) == sim["truth"]["n_hit"].iloc[0]
    again = pk.data.simulate_ontology_response(n_cells=2000, noise=0.3, seed=1)
    np.testing.assert_array_equal(again["ic50"].to_numpy(), ic50.to_numpy())


def test_bad_shape_is_refused():
    with pytest.raises(ValueError, match="n_leaves"):
        pk.data.simulate_ontology_response(n_leaves=1)
    with pytest.raises(ValueError, match="n_drugs"):
        pk.data.simulate_ontology_response(n_drugs=1)
