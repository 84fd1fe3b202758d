"""Simulators of the applications chapter: seeded, planted truth, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


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


def test_simulate_cluster_reversal_plants_cluster_signatures():
    a, b = pk.data.simulate_cluster_reversal(seed=2), pk.data.simulate_cluster_reversal(seed=2)
    np.testing.assert_array_equal(a.X, b.X)
    truth = a.uns["truth"]
    for ct, up in truth["up"].items():
        sub = a[a.obs["cell_type"] == ct]
        sick = (sub.obs["perturbation"] == "disease").to_numpy()
        x = np.asarray(sub[:, up].X)
        assert 0.7 < x[sick].mean() - x[~sick].mean() < 1.3  # planted shift of 1.0
    sig = a.uns["signatures"]
    small = truth["small_cluster"]
    assert sig.loc[sig.index.str.startswith("niche_reverser"), truth["up"][small]].to_numpy().mean() < -1.5
    with pytest.raises(ValueError, match="n_genes"):
        pk.data.simulate_cluster_reversal(n_genes=50)


def test_simulate_isogenic_screen_plants_lethal_genes():
    s = pk.data.simulate_isogenic_screen(seed=1)
    t = s.uns["truth"]
    assert int(t["lethal"].sum()) == 15 and int(t["suppressed"].sum()) == 5
    assert (t.loc[t["lethal"], "true_interaction"] == -2.0).all()
    assert set(s.var["cell_line"]) == {"parental", "mutant"}
    np.testing.assert_array_equal(s.X, pk.data.simulate_isogenic_screen(seed=1).X)
    with pytest.raises(ValueError, match="exceeds n_genes"):
        pk.data.simulate_isogenic_screen(n_genes=10)


def test_simulate_isogenic_screen_library_noise():
    # library_noise=0: both lines start from the same representation (initial samples differ by counting only)
    s = pk.data.simulate_isogenic_screen(library_noise=0.0, seed=0)
    par = np.log1p(np.asarray(s[:, "parental_initial_1"].X).ravel())
    mut = np.log1p(np.asarray(s[:, "mutant_initial_1"].X).ravel())
    noisy = pk.data.simulate_isogenic_screen(library_noise=0.6, seed=0)
    mut_noisy = np.log1p(np.asarray(noisy[:, "mutant_initial_1"].X).ravel())
    par_noisy = np.log1p(np.asarray(noisy[:, "parental_initial_1"].X).ravel())
    assert np.corrcoef(par, mut)[0, 1] > np.corrcoef(par_noisy, mut_noisy)[0, 1] + 0.1
    with pytest.raises(ValueError, match="library_noise"):
        pk.data.simulate_isogenic_screen(library_noise=-1)
