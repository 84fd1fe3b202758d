"""Spatial graph, neighbourhood enrichment and Moran's I: keys, errors, planted niches, osmFISH layers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk


@pytest.fixture(scope="module")
def tissue():
    ad = pk.data.simulate_tissue(600, seed=0)
    pk.pp.spatial_neighbors(ad)
    return ad


def test_graph_keys(tissue):
    conn = tissue.obsp["spatial_connectivities"]
    assert conn.shape == (600, 600)
    assert (conn != conn.T).nnz == 0
    assert tissue.uns["spatial_neighbors"]["params"]["method"] == "delaunay"


def test_graph_max_distance_and_copy():
    ad = pk.data.simulate_tissue(300, seed=1, clone_radius_um=25)
    out = pk.pp.spatial_neighbors(ad, max_distance=20.0, copy=True)
    assert "spatial_connectivities" not in ad.obsp
    assert out.obsp["spatial_distances"].data.max() <= 20.0
    knn = pk.pp.spatial_neighbors(ad, method="knn", n_neighs=5, copy=True)
    assert np.all(np.asarray(knn.obsp["spatial_connectivities"].sum(1)).ravel() >= 5)


@pytest.mark.parametrize(
    ("mutate", "err", "match"),
    [
        (lambda a: a.obsm.pop("spatial"), KeyError, "coordinates"),
        (lambda a: a.obsm["spatial"].__setitem__((3, 0), np.nan), ValueError, "NaN"),
        (lambda a: a.obsm.__setitem__("spatial", np.zeros((a.n_obs, 1))), ValueError, "shape"),
    ],
)
def test_bad_coordinates(mutate, err, match):
    ad = pk.data.simulate_tissue(300, seed=0, clone_radius_um=25)
    mutate(ad)
    with pytest.raises(err, match=match):
        pk.pp.spatial_neighbors(ad)


def test_nhood_needs_graph_and_key():
    ad = pk.data.simulate_tissue(300, seed=0, clone_radius_um=25)
    with pytest.raises(KeyError, match="spatial_neighbors"):
        pk.tl.nhood_enrichment(ad, cell_type_key="cell_type")
    pk.pp.spatial_neighbors(ad)
    with pytest.raises(KeyError, match="no column 'celltype'"):
        pk.tl.nhood_enrichment(ad, cell_type_key="celltype")
    with pytest.raises(KeyError, match="run pk.tl.nhood_enrichment"):
        pk.get.nhood_enrichment(ad, cell_type_key="cell_type")


def test_nhood_planted_niches_copy_and_seed(tissue):
    before = set(tissue.uns)
    out = pk.tl.nhood_enrichment(tissue, cell_type_key="niche", n_perms=50, seed=1, copy=True)
    assert set(tissue.uns) == before
    z = pd.DataFrame(out.uns["niche_nhood_enrichment"]["zscore"], index=["stroma", "tumor", "immune"],
                     columns=["stroma", "tumor", "immune"])
    assert (np.diag(z) > 10).all()
    # stroma and immune bands never touch: the tumour band lies between them
    assert z.loc["stroma", "immune"] < -10
    again = pk.tl.nhood_enrichment(tissue, cell_type_key="niche", n_perms=50, seed=1, copy=True)
    np.testing.assert_array_equal(again.uns["niche_nhood_enrichment"]["zscore"], z.to_numpy())
    tab = pk.get.nhood_enrichment(out, cell_type_key="niche")
    assert list(tab.columns) == ["group_a", "group_b", "zscore", "count"]
    assert len(tab) == 9


def test_nhood_plot(tissue):
    pk.tl.nhood_enrichment(tissue, cell_type_key="cell_type", n_perms=20)
    ax = pk.pl.nhood_enrichment(tissue, cell_type_key="cell_type")
    assert ax.get_title() == "Neighbourhood enrichment"
    ax = pk.pl.spatial_scatter(tissue, "CXCL12")
    assert ax.get_ylabel() == "y (µm)"
    with pytest.raises(KeyError, match="neither"):
        pk.pl.spatial_scatter(tissue, "nope")


def test_morans_i_planted(tissue):
    ad = tissue.copy()
    sc.pp.normalize_total(ad)
    sc.pp.log1p(ad)
    moran = pk.tl.spatial_autocorr(ad, n_perms=20)
    assert list(moran.columns) == ["gene", "I", "pvalue", "padj", "pvalue_norm", "constant"]
    i = moran.set_index("gene")["I"]
    # niche-wide genes are patterned, per-cell TF noise is not
    assert i["CCL19"] > 0.3 and i["CCR7"] > 0.3
    assert abs(i["TF1"]) < 0.1 and abs(i["NOISE0"]) < 0.1
    with pytest.raises(KeyError, match="var_names"):
        pk.tl.spatial_autocorr(ad, genes=["nope"])


@pytest.fixture(scope="module")
def osm(mirror):
    ad = pk.data.load("osmfish_codeluppi2018_sscortex", drop_excluded=True)
    pk.pp.spatial_neighbors(ad)
    return ad


def test_osmfish_layer_neurons_are_neighbours(osm):
    pk.tl.nhood_enrichment(osm, cell_type_key="cell_type", n_perms=50, seed=0)
    z = pk.get.nhood_enrichment(osm, cell_type_key="cell_type").set_index(["group_a", "group_b"])["zscore"]
    for layer in ("pyramidal_L4", "Pyramidal_L6", "Pyramidal_L2-3", "Pyramidal_L5"):
        assert z[(layer, layer)] > 5, layer
    # adjacent layers touch, distant layers avoid each other
    assert z[("Pyramidal_L3-4", "pyramidal_L4")] > 5
    assert z[("Pyramidal_L5", "Pyramidal_L6")] > 3
    assert z[("Pyramidal_L2-3", "Pyramidal_L6")] < -3
    assert z[("pyramidal_L4", "Pyramidal_L6")] < -5


def test_osmfish_morans_i_layer_genes(osm):
    ad = osm.copy()
    sc.pp.normalize_total(ad)
    sc.pp.log1p(ad)
    top = pk.tl.spatial_autocorr(ad, n_perms=10).head(5)["gene"].tolist()
    assert "Rorb" in top  # the layer-4 marker


def test_co_occurrence_planted_bands(tissue):
    co = pk.tl.co_occurrence(tissue, cell_type_key="niche", distances=[10, 40, 80, 160])
    assert len(co) == 3 * 3 * 3
    r = co.set_index(["group_a", "group_b", "distance"])["ratio"]
    assert r[("stroma", "stroma", 40.0)] > 2.5  # a quarter of the section: ratio near 4
    assert r[("stroma", "immune", 40.0)] == 0  # separated by the tumour band
    with pytest.raises(ValueError, match="increasing"):
        pk.tl.co_occurrence(tissue, cell_type_key="niche", distances=[50, 10])


def test_ripley_clustered_vs_random(tissue):
    rip = pk.tl.ripley(tissue, cell_type_key="niche", n_simulations=5, seed=0)
    assert set(rip.columns) == {"group", "n_cells", "distance", "L", "L_random", "L_random_hi"}
    last = rip.groupby("group").tail(1).set_index("group")
    assert (last["L"] > last["L_random_hi"]).all()  # bands are clustered
    # a random label is not clustered against random subsets of cells
    ad = tissue.copy()
    ad.obs["random"] = np.random.default_rng(0).choice(["a", "b"], ad.n_obs)
    rnd = pk.tl.ripley(ad, cell_type_key="random", n_simulations=10, seed=0).groupby("group").tail(1)
    assert np.allclose(rnd["L"], rnd["L_random"], rtol=0.1)
    again = pk.tl.ripley(ad, cell_type_key="random", n_simulations=10, seed=0).groupby("group").tail(1)
    pd.testing.assert_frame_equal(rnd, again)
    with pytest.raises(ValueError, match="null"):
        pk.tl.ripley(tissue, cell_type_key="niche", null="poisson")


def test_morans_i_within_cell_type(tissue):
    ad = tissue.copy()
    sc.pp.normalize_total(ad)
    sc.pp.log1p(ad)
    plain = pk.tl.spatial_autocorr(ad, genes=["EPCAM", "CCL19"], n_perms=0).set_index("gene")["I"]
    within = pk.tl.spatial_autocorr(ad, genes=["EPCAM", "CCL19"], within="cell_type", n_perms=0).set_index("gene")["I"]
    # EPCAM is a tumour marker: patterned only because tumour cells are; CCL19 follows the niche
    assert within["EPCAM"] < 0.1 < plain["EPCAM"]
    assert within["CCL19"] > 0.3


def test_morans_i_constant_gene_flagged_and_nan_refused(tissue):
    """Issue #12: a constant gene gets a flagged NaN row and a warning naming it; NaN in X
    fails naming the matrix, never a silent NaN row."""
    ad = tissue.copy()
    ad.X = np.asarray(ad.X.todense() if hasattr(ad.X, "todense") else ad.X, dtype=float)
    ad.X[:, list(ad.var_names).index("CD68")] = 2.0
    with pytest.warns(UserWarning, match="constant gene.*CD68"):
        moran = pk.tl.spatial_autocorr(ad, genes=["EPCAM", "CD68", "CCL19"], n_perms=10)
    assert moran["gene"].iloc[-1] == "CD68" and moran["constant"].iloc[-1]
    assert np.isnan(moran["I"].iloc[-1]) and np.isnan(moran["padj"].iloc[-1])
    ok = moran[~moran["constant"]]
    assert ok["I"].notna().all() and ok["padj"].notna().all()
    # the other genes' I is what it is without the constant gene
    alone = pk.tl.spatial_autocorr(ad, genes=["EPCAM", "CCL19"], n_perms=0).set_index("gene")["I"]
    assert np.allclose(ok.set_index("gene")["I"].loc[alone.index], alone)
    with pytest.raises(ValueError, match="every gene is constant"):
        pk.tl.spatial_autocorr(ad, genes=["CD68"], n_perms=0)
    ad.X[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        pk.tl.spatial_autocorr(ad, n_perms=0)
