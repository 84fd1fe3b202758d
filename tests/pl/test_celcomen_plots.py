"""Celcomen's matrix heatmap and Simcomen's propagation plot: labelled axes, the values
drawn are the model's, clear errors for missing input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    tissue = pk.data.simulate_coupled_tissue(12, n_sweeps=20, seed=0)
    pk.tl.celcomen(tissue, n_neighbors=4, n_iter=20)
    return tissue


def test_interaction_matrix_draws_the_model(fitted):
    ax = pk.pl.interaction_matrix(fitted, which="inter", genes=["LIGAND", "RESPONSE"])
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    drawn = ax.images[0].get_array()
    assert np.allclose(drawn, fitted.uns["celcomen"]["inter"].loc[["LIGAND", "RESPONSE"], ["LIGAND", "RESPONSE"]])
    plt.close("all")
    with pytest.raises(KeyError, match="pk.tl.celcomen"):
        pk.pl.interaction_matrix(pk.data.simulate_coupled_tissue(4, n_sweeps=1))
    with pytest.raises(ValueError, match="which"):
        pk.pl.interaction_matrix(fitted, which="both")
    with pytest.raises(KeyError, match="CD3E"):
        pk.pl.interaction_matrix(fitted, genes=["CD3E"])


def test_knockout_propagation_draws_weighted_means(fitted):
    res = pk.tl.simcomen(fitted, "LIGAND", np.arange(fitted.n_obs) < 10)
    ax = pk.pl.knockout_propagation(res, genes=["LIGAND"])
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    y = ax.lines[0].get_ydata()
    sub = res[(res["gene"] == "LIGAND") & (res["hop"] == 0)]
    assert np.isclose(y[0], np.average(sub["delta"], weights=sub["n_cells"]))
    plt.close("all")
    with pytest.raises(KeyError, match="pk.tl.simcomen"):
        pk.pl.knockout_propagation(res.drop(columns="hop"))
