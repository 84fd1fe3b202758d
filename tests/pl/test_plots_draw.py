"""The pl twins of the screen, synergy, drug-gene and resistance functions draw labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


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
    # screen_counts: one box per sample at the median of log2(normalised count + 1)
    medians = [float(line.get_ydata()[0]) for line in axes[1].lines if line.get_label() == "median"]
    np.testing.assert_allclose(medians, np.median(np.log2(np.asarray(screen.layers["normalized"]) + 1), axis=0))
    assert [t.get_text() for t in axes[1].get_xticklabels()] == list(screen.var_names)
    assert axes[1].get_ylabel() == "log2(normalized count + 1)"
    ax = pk.pl.screen_counts(screen, layer="counts", xlabel="library", ylabel="log2(reads + 1)")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("library", "log2(reads + 1)")
    plt.close("all")
    with pytest.raises(KeyError, match="resistant_subpopulation"):
        pk.pl.resistance_curves(pk.data.simulate_resistance(seed=0, n_cells_per_dose=20))
    with pytest.raises(ValueError, match="not in table"):
        pk.pl.synergy_heatmap(pk.tl.synergy(pk.data.simulate_combination(seed=0)), "nope")
