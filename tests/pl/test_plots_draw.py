"""The pl twins of the screen, synergy, drug-gene and resistance functions draw labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
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
    plt.close("all")
    with pytest.raises(KeyError, match="resistant_subpopulation"):
        pk.pl.resistance_curves(pk.data.simulate_resistance(seed=0, n_cells_per_dose=20))
    with pytest.raises(ValueError, match="not in table"):
        pk.pl.synergy_heatmap(pk.tl.synergy(pk.data.simulate_combination(seed=0)), "nope")
