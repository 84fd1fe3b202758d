"""scDEAL: denoising autoencoders, MMD adaptation, the cell-cluster similarity term and integrated
gradients, on planted response genes and planted subclones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, silhouette_score

import perturbkit as pk
from perturbkit.tl._dose._scdeal import (
    _cluster_similarity,
    _integrated_gradients,
    _knn_communities,
    _mmd,
)


@pytest.fixture(scope="module")
def transfer():
    # the MMD adaptation alone: the attribution checks below are about the denoised features
    # and the predictor (the cluster term's own effects are tested on planted subclones)
    bulk, cells = pk.data.simulate_response_transfer(n_lines=200, n_cells=300, seed=0)
    return bulk, cells, pk.tl.scdeal(bulk, cells, cluster_weight=0.0, seed=0)


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
    again = pk.tl.scdeal(bulk, cells, cluster_weight=0.0, seed=0)
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


def test_cluster_similarity_loss_values():
    # per cluster of n cells: sum over pairs of (1 - cosine) / (2 n^2 - n), summed over clusters
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [3.0, 3.0], [5.0, -1.0]], requires_grad=True)
    orthogonal_pair = _cluster_similarity(z, np.array([0, 0, 1, 2, 3]))
    assert float(orthogonal_pair.detach()) == pytest.approx(1.0 / 6.0)  # one pair, cosine 0, n = 2
    assert float(_cluster_similarity(z, np.array([0, 1, 2, 2, 3])).detach()) == pytest.approx(0.0, abs=1e-6)  # aligned
    assert float(_cluster_similarity(z, np.arange(5)).detach()) == 0.0  # singletons carry nothing
    # three cells (1,0), (0,1), (2,2): pair distances 1 and 1 - 1/sqrt2 twice, n = 3
    three = _cluster_similarity(z, np.array([0, 0, 0, 1, 2]))
    assert float(three.detach()) == pytest.approx((1.0 + 2 * (1 - 2 ** -0.5)) / 15.0, rel=1e-6)
    orthogonal_pair.backward()
    assert z.grad[:2].abs().sum() > 0 and float(z.grad[2:].abs().sum()) == 0.0  # only the pair moves


def test_knn_communities_find_separated_blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0]])
    truth = np.repeat(np.arange(3), 40)
    z = centres[truth] + rng.normal(0, 0.5, (120, 3))
    labels = _knn_communities(z, seed=0)
    # no community mixes two blobs (modularity may split a blob of a random kNN graph in two)
    purity = pd.crosstab(labels, truth).max(axis=1) / pd.Series(labels).value_counts().sort_index()
    assert (purity == 1.0).all() and 3 <= len(purity) <= 6, pd.crosstab(labels, truth)
    np.testing.assert_array_equal(labels, _knn_communities(z, seed=0))


def test_weight_zero_reproduces_the_unregularised_adaptation():
    """cluster_weight=0 gives, to the bit, what scdeal gave before the term existed."""
    bulk, cells = pk.data.simulate_response_transfer(n_lines=200, n_cells=300, seed=0)
    small = dict(n_epochs=3, latent=4, hidden=8, ig_steps=2, seed=0)
    off = pk.tl.scdeal(bulk, cells, cluster_weight=0.0, **small)
    # recorded from pk.tl.scdeal at c31b588 (MMD adaptation only) with the same arguments
    before = [[0.42634594440460205, 0.4333186447620392], [0.4321235120296478, 0.4273402988910675],
              [0.42438510060310364, 0.4234006702899933], [0.43649157881736755, 0.43777433037757874]]
    np.testing.assert_array_equal(off.predictions.iloc[:4].to_numpy(), np.array(before))
    assert off.params["n_clusters"] == 0 and off.embedding.shape == (300, 4)
    on = pk.tl.scdeal(bulk, cells, cluster_weight=1.0, **small)
    np.testing.assert_array_equal(on.predictions["prob_unadapted"], off.predictions["prob_unadapted"])
    assert not np.array_equal(on.predictions["prob_adapted"], off.predictions["prob_adapted"])
    assert on.params["n_clusters"] >= 2


def test_cluster_term_keeps_planted_subclones_separable():
    """MMD pulls the cells towards the bulk lines (one continuum) and blurs the four planted
    subclones; the cluster term, on Leiden communities of the embedding, keeps them apart."""
    for seed in (0, 1, 2):
        bulk, cells = pk.data.simulate_response_transfer(n_lines=200, n_cells=300, n_subclones=4, seed=seed)
        subclone = cells.obs["subclone"].to_numpy()
        sil, ari = {}, {}
        for w in (0.0, 1.0):
            z = pk.tl.scdeal(bulk, cells, cluster_weight=w, ig_steps=2, seed=seed).embedding.to_numpy()
            sil[w] = silhouette_score(z, subclone)
            ari[w] = adjusted_rand_score(subclone, _knn_communities(z, seed=0))
        assert sil[0.0] < 0.05 and sil[1.0] > sil[0.0] + 0.05, (seed, sil)  # measured: +0.08 to +0.20, seeds 0-4
        assert ari[1.0] > ari[0.0] + 0.15, (seed, ari)  # measured: +0.21 to +0.48


def test_fixed_clusters_and_bad_cluster_input():
    bulk, cells = pk.data.simulate_response_transfer(n_lines=100, n_cells=120, n_subclones=3, seed=0)
    small = dict(n_epochs=3, latent=4, hidden=8, ig_steps=2, seed=0)
    res = pk.tl.scdeal(bulk, cells, clusters="subclone", **small)
    assert res.params["n_clusters"] == 3 and res.params["clusters"] == "subclone"
    with pytest.raises(ValueError, match="cluster_weight"):
        pk.tl.scdeal(bulk, cells, cluster_weight=-0.5, **small)
    with pytest.raises(ValueError, match="cluster_weight"):
        pk.tl.scdeal(bulk, cells, cluster_weight=float("nan"), **small)
    with pytest.raises(KeyError, match="leiden"):
        pk.tl.scdeal(bulk, cells, clusters="leiden", **small)
    cells.obs.loc[cells.obs_names[0], "subclone"] = None
    with pytest.raises(ValueError, match="subclone"):
        pk.tl.scdeal(bulk, cells, clusters="subclone", **small)


def test_cluster_term_costs_ranking_on_a_continuum():
    """Where resistance is one continuum (no subclones), Leiden carves it into communities and
    the term squeezes each, so the adapted AUROC falls (seed 0: 0.83 -> 0.74; seeds 1, 2:
    -0.06, -0.05). The book's "Reading the result" quotes this."""
    bulk, cells = pk.data.simulate_response_transfer(seed=0)
    auroc = {w: pk.tl.scdeal(bulk, cells, cluster_weight=w, ig_steps=2, seed=0).scores.loc["scdeal", "auroc"]
             for w in (0.0, 1.0)}
    assert auroc[1.0] < auroc[0.0] - 0.04, auroc
