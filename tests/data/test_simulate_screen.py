from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


def test_shapes_and_truth() -> None:
    a = pk.data.simulate_screen(n_cells=300, n_genes=30, n_targets=5, guides_per_target=2, n_nt_guides=3, seed=1)
    assert a.shape == (300, 30)
    assert a.obsm["guide_counts"].shape == (300, 13)
    assert list(a.uns["guides"].index) == list(a.uns["guide_names"])
    assert (a.uns["guides"]["target"] == "non-targeting").sum() == 3
    assert np.array_equal(a.layers["counts"].toarray(), a.X.toarray())
    truth = a.uns["truth"]
    assert truth["effects"].shape == (5, 30)
    assert (truth["effects"].to_numpy()[np.arange(5), np.arange(5)] < 0).all()  # own mRNA down
    assert list(truth["cells"].index) == list(a.obs_names)


def test_moi_is_poisson() -> None:
    a = pk.data.simulate_screen(n_cells=4000, n_genes=20, n_targets=4, moi=0.5, seed=2)
    n = a.uns["truth"]["cells"]["n_guides"].to_numpy()
    # duplicates of the same guide merge, so slightly below Poisson(0.5) for >=1
    assert abs((n == 0).mean() - np.exp(-0.5)) < 0.03


def test_ko_fraction_planted() -> None:
    a = pk.data.simulate_screen(n_cells=4000, n_genes=20, n_targets=2, moi=0.3, ko_fraction=[0.9, 0.2], seed=3)
    cells = a.uns["truth"]["cells"]
    frac = cells[cells["target"].isin(["T0", "T1"])].groupby("target")["knockout"].mean()
    assert frac["T0"] == pytest.approx(0.9, abs=0.07)
    assert frac["T1"] == pytest.approx(0.2, abs=0.07)


def test_seed_determinism() -> None:
    a = pk.data.simulate_screen(n_cells=200, n_genes=20, seed=5)
    b = pk.data.simulate_screen(n_cells=200, n_genes=20, seed=5)
    c = pk.data.simulate_screen(n_cells=200, n_genes=20, seed=6)
    assert (a.X != b.X).nnz == 0
    assert (a.X != c.X).nnz > 0


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="n_genes"):
        pk.data.simulate_screen(n_cells=10, n_genes=3, n_targets=5)
    with pytest.raises(ValueError, match="ko_fraction"):
        pk.data.simulate_screen(n_cells=10, n_genes=10, n_targets=2, ko_fraction=1.5)
