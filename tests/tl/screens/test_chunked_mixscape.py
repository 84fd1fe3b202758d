"""Mixscape's signature and classification, block by block, equal the in-memory run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk
from perturbkit._chunked import _blocks, _mixscape

pytest.importorskip("dask")
pytest.importorskip("zarr")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    adata = pk.data.simulate_screen(n_cells=900, n_genes=40, seed=5)
    pk.tl.assign_guides(adata, method="mixture")
    truth = adata.uns["truth"]
    adata.uns = {}
    store = tmp_path_factory.mktemp("mix") / "screen.zarr"
    lazy = pk.data.read_lazy(pk.data.to_zarr(adata, store), chunk_size=128)
    for a in (adata, lazy):
        pk.tl.perturbation_signature(a)
        pk.tl.mixscape(a)
    return adata, lazy, truth


def test_signature_is_lazy_and_equal(runs) -> None:
    eager, lazy, _ = runs
    sig = lazy.layers["perturbation_signature"]
    assert _blocks.is_lazy(sig) and sig.chunks[0][0] == 128
    np.testing.assert_allclose(np.asarray(sig.compute()), eager.layers["perturbation_signature"], rtol=0, atol=1e-10)
    assert lazy.uns["perturbation_signature"]["params"] == eager.uns["perturbation_signature"]["params"]


def test_mixscape_classes_and_summary_equal(runs) -> None:
    eager, lazy, truth = runs
    for col in ("mixscape_class", "mixscape_class_global"):
        assert (lazy.obs[col].astype(str) == eager.obs[col].astype(str)).all()
    for col in ("mixscape_posterior", "mixscape_score"):
        np.testing.assert_allclose(lazy.obs[col], eager.obs[col], rtol=0, atol=1e-10, equal_nan=True)
    a, b = lazy.uns["mixscape"]["summary"], eager.uns["mixscape"]["summary"]
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-10)
    # planted truth, so that the comparison is not of two wrong runs: where a target has its
    # DE genes (the planted effect was detectable), the KO fraction is the simulator's
    called = a[a["n_de_genes"] >= 5]
    assert len(called) >= 4
    err = (called["ko_fraction"] - truth["ko_fraction"].reindex(called.index)).abs()
    assert err.max() < 0.15, err


def test_large_in_memory_signature_goes_block_by_block(runs, monkeypatch) -> None:
    eager, _, _ = runs
    monkeypatch.setattr(_blocks, "LARGE_DENSE", 100)
    monkeypatch.setattr(_blocks, "CHUNK_SIZE", 200)
    other = eager.copy()
    pk.tl.mixscape(other)
    pd.testing.assert_frame_equal(other.uns["mixscape"]["summary"], eager.uns["mixscape"]["summary"],
                                  check_exact=False, rtol=0, atol=1e-10)


def test_expression_moments_equal_in_memory() -> None:
    rng = np.random.default_rng(2)
    counts = rng.poisson(1.0, size=(300, 6)).astype(float)
    labels = np.array(["control"] * 200 + ["A"] * 60 + ["B"] * 40)
    mean_expm1, pct = _mixscape.expression_moments(counts, labels, ["A", "B", "control"])
    y = np.log1p(counts / np.maximum(counts.sum(1, keepdims=True), 1.0) * 1e4)
    for i, g in enumerate(["A", "B", "control"]):
        np.testing.assert_allclose(mean_expm1[i], np.expm1(y[labels == g]).mean(0), rtol=1e-10)
        np.testing.assert_allclose(pct[i], (counts[labels == g] > 0).mean(0), rtol=0, atol=1e-12)


def test_approximate_neighbours_match_exact(runs) -> None:
    """pynndescent's neighbours (the large-screen search) are nearly the exact ones, and the
    Mixscape calls built on them agree with the exact run's on the planted screen."""
    eager, _, truth = runs
    rng = np.random.default_rng(0)
    ctrl, query = rng.normal(size=(600, 15)), rng.normal(size=(900, 15))
    from perturbkit.tl._screens._mixscape import _control_neighbours

    exact = _control_neighbours(ctrl, query, 20, "exact")
    approx = _control_neighbours(ctrl, query, 20, "approximate")
    overlap = np.mean([np.intersect1d(a, b).size / 20 for a, b in zip(exact, approx, strict=True)])
    assert overlap > 0.95, overlap
    np.testing.assert_array_equal(approx, _control_neighbours(ctrl, query, 20, "approximate"))  # seeded
    np.testing.assert_array_equal(_control_neighbours(ctrl, query, 20, "auto"), exact)  # small: exact
    other = eager.copy()
    pk.tl.perturbation_signature(other, nn_method="approximate")
    pk.tl.mixscape(other)
    a, b = other.uns["mixscape"]["summary"], eager.uns["mixscape"]["summary"]
    called = b.index[b["n_de_genes"] >= 5]
    assert (a.loc[called, "ko_fraction"] - b.loc[called, "ko_fraction"]).abs().max() < 0.05
    err = (a.loc[called, "ko_fraction"] - truth["ko_fraction"].reindex(called)).abs()
    assert err.max() < 0.15, err


def test_bad_nn_method_is_named(runs) -> None:
    with pytest.raises(ValueError, match="nn_method must be .* got 'kd'"):
        pk.tl.perturbation_signature(runs[0].copy(), nn_method="kd")
