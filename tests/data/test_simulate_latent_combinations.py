from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def _softplus(a):
    return np.logaddexp(0.0, a)


def test_layout_and_planted_kinds() -> None:
    sim = pk.data.simulate_latent_combinations(n_perturbations=5, n_interacting=2, n_cells=10, seed=0)
    pairs = sim.uns["truth"]["pairs"]
    assert len(pairs) == 10  # every pair of 5 by default
    assert pairs["kind"].value_counts().to_dict() == {"additive": 8, "interacting": 2}
    assert sim.shape == ((1 + 5 + 10) * 10, 50)
    counts = sim.obs.groupby("perturbation", observed=True)["n_perturbations"].first()
    assert counts["control"] == 0 and counts["P0"] == 1 and (counts[pairs.index] == 2).all()
    assert list(sim.uns["truth"]["shift"].index) == list(sim.obs["perturbation"].cat.categories)
    np.testing.assert_allclose(np.linalg.norm(sim.uns["truth"]["embeddings"], axis=1), 3.0)


def test_noise_free_means_match_planted_shift() -> None:
    # with no noise and many cells, a condition's mean shift is the planted expected shift
    sim = pk.data.simulate_latent_combinations(n_perturbations=3, n_interacting=1, n_cells=3000, noise=0.0, seed=1)
    x = pd.DataFrame(sim.X, index=sim.obs["perturbation"].astype(str), columns=sim.var_names)
    means = x.groupby(level=0).mean()
    shift = means - means.loc["control"]
    truth = sim.uns["truth"]["shift"]
    np.testing.assert_allclose(shift.loc[truth.index], truth, atol=0.05)


def test_additive_pairs_add_in_latent_not_in_expression() -> None:
    # effect small: the decoder is nearly linear and additive pairs are additive in expression;
    # effect large: the softplus saturates and the expression gap of additive pairs grows
    small = pk.data.simulate_latent_combinations(effect=0.2, n_interacting=0, seed=2).uns["truth"]["pairs"]
    large = pk.data.simulate_latent_combinations(effect=4.0, n_interacting=0, seed=2).uns["truth"]["pairs"]
    assert small["true_expression_gap"].max() < 0.01
    assert large["true_expression_gap"].median() > 10 * small["true_expression_gap"].median()


def test_same_seed_same_cells_and_bad_input() -> None:
    a = pk.data.simulate_latent_combinations(n_perturbations=3, n_interacting=1, n_cells=5, seed=4)
    b = pk.data.simulate_latent_combinations(n_perturbations=3, n_interacting=1, n_cells=5, seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    with pytest.raises(ValueError, match="n_pairs"):
        pk.data.simulate_latent_combinations(n_perturbations=3, n_pairs=4, n_interacting=1)
    with pytest.raises(ValueError, match="n_interacting"):
        pk.data.simulate_latent_combinations(n_perturbations=3, n_interacting=5)
    with pytest.raises(ValueError, match="n_perturbations"):
        pk.data.simulate_latent_combinations(n_perturbations=1)
