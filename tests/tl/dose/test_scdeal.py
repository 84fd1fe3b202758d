"""scDEAL: denoising autoencoders, MMD adaptation and integrated gradients on planted response genes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import perturbkit as pk
from perturbkit.tl._dose._scdeal import _integrated_gradients, _mmd


@pytest.fixture(scope="module")
def transfer():
    bulk, cells = pk.data.simulate_response_transfer(n_lines=200, n_cells=300, seed=0)
    return bulk, cells, pk.tl.scdeal(bulk, cells, seed=0)


def test_integrated_gradients_complete_for_linear_model():
    # for a linear model IG is exact: weight x (input - baseline), summing to F(x) - F(baseline)
    w = torch.tensor([[2.0], [-1.0], [0.5]])
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]])
    ig = _integrated_gradients(lambda t: (t @ w)[:, 0], x, np.zeros(3), steps=8)
    np.testing.assert_allclose(ig, x * w.numpy().ravel(), rtol=1e-6)


def test_mmd_zero_for_same_sample_positive_for_shift():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(100, 4, generator=gen)
    assert float(_mmd(a, a)) == pytest.approx(0.0, abs=1e-6)
    assert float(_mmd(a, a + 2.0)) > 0.1


def test_planted_genes_top_attributions(transfer):
    _, cells, res = transfer
    planted = set(cells.uns["truth"]["markers"])  # 10 of 100 genes drive the label
    top = list(res.attributions.index[:10])
    assert sum(g in planted for g in top) >= 7, top  # chance: 1 of 10
    ranks = res.attributions.rank(ascending=False)
    assert ranks[list(planted)].mean() < 15, ranks[list(planted)]
    assert (res.scores["auroc"] > 0.75).all(), res.scores
    assert list(res.scores.index) == ["scdeal", "no_adaptation"]
    assert res.predictions.shape == (cells.n_obs, 2) and res.predictions.index.equals(cells.obs_names)
    assert res.predictions.to_numpy().min() >= 0 and res.predictions.to_numpy().max() <= 1


def test_same_seed_same_numbers_and_bad_input(transfer):
    bulk, cells, res = transfer
    again = pk.tl.scdeal(bulk, cells, seed=0)
    pd.testing.assert_frame_equal(again.predictions, res.predictions)
    with pytest.raises(ValueError, match="same genes"):
        pk.tl.scdeal(bulk, cells[:, ::-1].copy())
    with pytest.raises(KeyError, match="nope"):
        pk.tl.scdeal(bulk, cells, label_key="nope")
    one_label = bulk.copy()
    one_label.obs["resistant"] = True
    with pytest.raises(ValueError, match="both labels"):
        pk.tl.scdeal(one_label, cells)
    with pytest.raises(ValueError, match="n_epochs"):
        pk.tl.scdeal(bulk, cells, n_epochs=0)
