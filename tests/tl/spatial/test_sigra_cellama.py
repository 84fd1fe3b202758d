"""Graph-attention imputation (SiGra idea) and sentence embeddings (CELLama idea)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk


@pytest.fixture(scope="module")
def tissue(make_tissue):
    return make_tissue(600, seed=0)


def test_graph_impute_helps_spatial_genes(tissue):
    before = tissue.X.copy()
    res = pk.tl.graph_impute(tissue, epochs=80, seed=0)
    np.testing.assert_array_equal(tissue.X, before)
    assert list(res.columns) == ["gene", "r_graph", "r_nograph", "mse_graph", "mse_nograph", "delta_r",
                                 "r_graph_overall", "r_nograph_overall"]
    assert len(res) == tissue.n_vars
    d = res.set_index("gene")["delta_r"]
    # niche-wide genes are readable from the neighbours, cell-intrinsic markers are not
    assert d["CCL19"] > 0.2
    assert d[["CCL19", "CCR7"]].mean() > d[["EPCAM", "CD3E", "CD68", "COL1A1"]].mean() + 0.1
    overall = res[["r_graph_overall", "r_nograph_overall"]].drop_duplicates()
    assert len(overall) == 1 and (overall.iloc[0] > 0).all() and (overall.iloc[0] <= 1).all()
    again = pk.tl.graph_impute(tissue, epochs=80, seed=0)
    pd.testing.assert_frame_equal(res, again)


def test_graph_impute_bad_input(tissue):
    with pytest.raises(ValueError, match="mask_frac"):
        pk.tl.graph_impute(tissue, mask_frac=0)
    with pytest.raises(KeyError, match="var_names"):
        pk.tl.graph_impute(tissue, genes=["nope"])
    ad = tissue.copy()
    del ad.obsm["spatial"]
    with pytest.raises(KeyError, match="coordinates"):
        pk.tl.graph_impute(ad)


def test_cell_sentences(tissue):
    s = pk.tl.cell_sentences(tissue, n_top=3)
    assert len(s) == tissue.n_obs
    tumour = (tissue.obs["cell_type"] == "Tumor").to_numpy()
    first = s[tumour].str.split().str[:3]
    # genes the simulator expresses in tumour cells only
    assert first.apply(lambda g: bool({"EPCAM", "KRT8", "SOCS1", "JAK1", "TGFBR2"} & set(g))).mean() > 0.8
    nb = pk.tl.cell_sentences(tissue, n_top=3, n_neighs=5)
    assert nb.str.contains("neighbours:").all()
    with pytest.raises(ValueError, match="n_top"):
        pk.tl.cell_sentences(tissue, n_top=0)


def test_cellama_embedding_and_knn(tissue):
    ad = tissue[:300].copy()
    out = pk.tl.cellama(ad, n_top=4, copy=True)
    assert "X_cellama" not in ad.obsm
    emb = out.obsm["X_cellama"]
    assert emb.shape == (300, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)
    assert out.obs["X_cellama_sentence"].str.len().min() > 0
    # a language model of gene names separates cell types far above chance
    acc = pk.tl.knn_accuracy(out, "X_cellama", "cell_type", k=10)
    chance = out.obs["cell_type"].value_counts(normalize=True).max()
    assert acc > chance + 0.3
    with pytest.raises(KeyError, match="X_nope"):
        pk.tl.knn_accuracy(out, "X_nope", "cell_type")


def test_neighbourhood_embedding_finds_niches(tissue):
    ad = tissue.copy()
    sc.pp.pca(ad, n_comps=10, random_state=0)
    out = pk.tl.neighbourhood_embedding(ad, obsm_key="X_pca", n_neighs=8, copy=True)
    assert "X_pca_nbr" not in ad.obsm
    assert out.obsm["X_pca_nbr"].shape == (ad.n_obs, 20)
    # the niche is a property of the surroundings: neighbours make it recoverable
    assert pk.tl.knn_accuracy(out, "X_pca_nbr", "niche") > pk.tl.knn_accuracy(out, "X_pca", "niche") + 0.05
    with pytest.raises(KeyError, match="X_nope"):
        pk.tl.neighbourhood_embedding(ad, obsm_key="X_nope")
