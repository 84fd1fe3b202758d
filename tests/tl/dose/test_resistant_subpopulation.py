"""Resistant subpopulations: planted EC50s, cell labels and markers recovered."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import perturbkit as pk


@pytest.fixture(scope="module")
def fitted():
    sim = pk.data.simulate_resistance(seed=2)
    pk.tl.resistant_subpopulation(sim)
    return sim


def test_planted_ec50_and_labels(fitted):
    ec = fitted.uns["resistance"]["ec50"]
    assert ec["sensitive"] == pytest.approx(0.1, rel=0.5)
    assert ec["resistant"] == pytest.approx(5.0, rel=0.5)
    treated = fitted.obs["dose"] >= 0.3
    auc = roc_auc_score(fitted.obs.loc[treated, "resistant"], fitted.obs.loc[treated, "resistance_prob"])
    assert auc > 0.95
    assert fitted.uns["resistance"]["delta_bic"] > 10  # two curves beat one
    # controls cannot be told apart: probabilities near the mixing weight, never labelled
    ctrl = fitted.obs["dose"] == 0
    assert not fitted.obs.loc[ctrl, "resistance_resistant"].any()
    assert fitted.obs.loc[ctrl, "resistance_prob"].std() < 0.1


def test_keys_dtypes_copy_and_determinism():
    sim = pk.data.simulate_resistance(seed=3, n_cells_per_dose=80)
    out = pk.tl.resistant_subpopulation(sim, copy=True)
    assert "resistance_prob" not in sim.obs and "resistance" not in sim.uns
    assert out.obs["resistance_prob"].dtype == np.float64
    assert out.obs["resistance_resistant"].dtype == bool
    again = pk.tl.resistant_subpopulation(sim, copy=True)
    np.testing.assert_allclose(out.obs["resistance_prob"], again.obs["resistance_prob"])
    assert set(out.uns["resistance"]) >= {"ec50", "top", "hill", "weight", "delta_bic", "response_genes"}


def test_single_population_not_split():
    sim = pk.data.simulate_resistance(seed=4, resistant_fraction=0.01, n_markers=0)
    pk.tl.resistant_subpopulation(sim)
    # almost no resistant cells: the fitted resistant share stays small
    assert sim.uns["resistance"]["weight"] < 0.15


def test_errors():
    sim = pk.data.simulate_resistance(seed=0, n_cells_per_dose=30)
    with pytest.raises(KeyError, match="nodose"):
        pk.tl.resistant_subpopulation(sim, dose_key="nodose")
    bad = sim.copy()
    bad.obs["dose"] = bad.obs["dose"].where(bad.obs["dose"] > 0, 1.0)
    with pytest.raises(ValueError, match="control cells"):
        pk.tl.resistant_subpopulation(bad)
    neg = sim.copy()
    neg.obs.iloc[0, neg.obs.columns.get_loc("dose")] = -1.0
    with pytest.raises(ValueError, match=">= 0"):
        pk.tl.resistant_subpopulation(neg)
    with pytest.raises(KeyError, match="response genes"):
        pk.tl.resistant_subpopulation(sim, response_genes=["nope"])
