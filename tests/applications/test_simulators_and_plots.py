"""Simulators of the applications chapter (seeded, planted truth) and the pl twins (draw)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


def test_simulators_are_seeded():
    a, b = pk.data.simulate_signature_screen(seed=3), pk.data.simulate_signature_screen(seed=3)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.uns["truth"] == b.uns["truth"]
    c, d = pk.data.simulate_drug_response(seed=3), pk.data.simulate_drug_response(seed=3)
    pd.testing.assert_frame_equal(c["ic50"], d["ic50"])
    e, f = pk.data.simulate_resistance(seed=3), pk.data.simulate_resistance(seed=3)
    np.testing.assert_array_equal(e.X, f.X)
    assert not np.array_equal(e.X[:50], pk.data.simulate_resistance(seed=4).X[:50])


def test_simulator_truth_and_errors():
    sim = pk.data.simulate_resistance(seed=0)
    share = sim.obs.groupby("dose")["resistant"].mean()
    assert share.loc[10.0] > share.loc[0.0]  # the drug selects resistant cells
    with pytest.raises(ValueError, match="n_genes"):
        pk.data.simulate_signature_screen(n_genes=10, n_query=20)
    with pytest.raises(ValueError, match="n_planted"):
        pk.data.simulate_drug_response(n_drugs=2, n_planted=3)
    with pytest.raises(ValueError, match="resistant_fraction"):
        pk.data.simulate_resistance(resistant_fraction=1.5)
    with pytest.raises(ValueError, match="unknown interaction"):
        pk.data.simulate_combination(("additive",))
    blocks = pk.data.simulate_combination(seed=1)
    truth = blocks.groupby("block_id")["true_bliss_excess"].agg(["first", "nunique"])
    assert (truth["nunique"] == 1).all()  # one planted value per block, repeated on its rows
    assert truth.loc["sim_1", "first"] > 5 > abs(truth.loc["sim_2", "first"])
    assert truth.loc["sim_3", "first"] < -5


def test_plots_draw_labelled_axes():
    screen = pk.data.simulate_pooled_screen(n_genes=40, n_essential=5, seed=0)
    pk.pp.normalize_screen(screen)
    res = pk.tl.mageck_test(screen, treatment_samples=["final_1", "final_2"], control_samples=["initial_1", "initial_2"], n_perm=100)
    axes = [
        pk.pl.screen_rank(res, highlight=res.gene[:3]),
        pk.pl.screen_counts(screen),
        pk.pl.synergy_heatmap(pk.tl.synergy(pk.data.simulate_combination(seed=0)), "sim_1", unit="uM"),
    ]
    sim = pk.data.simulate_drug_response(seed=0)
    axes.append(pk.pl.drug_gene_volcano(pk.tl.drug_gene_anova(sim["ic50"], sim["features"])))
    cells = pk.data.simulate_resistance(seed=0, n_cells_per_dose=40)
    pk.tl.resistant_subpopulation(cells)
    axes.append(pk.pl.resistance_curves(cells))
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    plt.close("all")
    with pytest.raises(KeyError, match="resistant_subpopulation"):
        pk.pl.resistance_curves(pk.data.simulate_resistance(seed=0, n_cells_per_dose=20))
    with pytest.raises(ValueError, match="not in table"):
        pk.pl.synergy_heatmap(pk.tl.synergy(pk.data.simulate_combination(seed=0)), "nope")
