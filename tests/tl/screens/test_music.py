from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def fitted():
    a = pk.data.simulate_screen(n_cells=1200, n_genes=50, n_targets=6, moi=0.7,
                                ko_fraction=[0.9, 0.8, 0.7, 0.6, 0.0, 0.0], seed=0)
    pk.tl.assign_guides(a, method="mixture")
    pk.tl.music(a, n_topics=5, n_permutations=99, n_iter=80)
    return a


def test_ranking_recovers_planted_effects(fitted) -> None:
    r = fitted.uns["music"]["ranking"]
    assert set(r.index[:4]) == {"T0", "T1", "T2", "T3"}, r
    assert (r.loc[["T0", "T1", "T2", "T3"], "pvalue"] <= 0.02).all()
    assert (r.loc[["T4", "T5"], "pvalue"] > 0.05).all()
    assert (r.loc[["T4", "T5"], "effect"].abs() < 0.01).all()


def test_keys_shapes(fitted) -> None:
    theta = fitted.obsm["X_music"]
    assert theta.shape == (fitted.n_obs, 5)
    assert np.allclose(theta.sum(1), 1) and (theta >= 0).all()
    topics = fitted.varm["music_topics"]
    assert topics.shape == (fitted.n_vars, 5) and np.allclose(topics.sum(0), 1)
    assert fitted.uns["music"]["topic_genes"].shape == (10, 5)
    assert {"js_divergence", "effect", "pvalue", "top_topic"} <= set(fitted.uns["music"]["ranking"].columns)


def test_copy_and_seed() -> None:
    a = pk.data.simulate_screen(n_cells=400, n_genes=30, n_targets=3, seed=1)
    pk.tl.assign_guides(a, method="mixture")
    b = pk.tl.music(a, n_topics=3, n_permutations=20, n_iter=30, copy=True)
    c = pk.tl.music(a, n_topics=3, n_permutations=20, n_iter=30, copy=True)
    assert "X_music" not in a.obsm
    assert np.array_equal(b.obsm["X_music"], c.obsm["X_music"])
    assert b.uns["music"]["ranking"].equals(c.uns["music"]["ranking"])


def test_bad_input() -> None:
    a = pk.data.simulate_screen(n_cells=200, n_genes=20, n_targets=2, seed=1)
    pk.tl.assign_guides(a, method="mixture")
    with pytest.raises(ValueError, match="n_topics"):
        pk.tl.music(a, n_topics=1)
    with pytest.raises(ValueError, match="control label 'NT'"):
        pk.tl.music(a, control="NT")
