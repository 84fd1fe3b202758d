"""Spatially weighted ligand-receptor scores: planted co-localised pair vs separated pair."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk


@pytest.fixture(scope="module")
def tissue(make_tissue):
    return make_tissue(1000, seed=1)


@pytest.fixture(scope="module")
def scored(tissue, pairs):
    return pk.tl.spatial_lr(tissue, resource=pairs, n_perms=30, seed=0, copy=True)


def test_keys_and_copy(tissue, scored):
    assert "spatial_lr" not in tissue.uns and "spatial_lr" not in tissue.obsm
    local = scored.obsm["spatial_lr"]
    assert isinstance(local, pd.DataFrame)
    assert local.shape == (1000, 2)
    assert list(local.index) == list(scored.obs_names)
    assert scored.obsm["spatial_lr_pvals"].shape == (1000, 2)
    g = scored.uns["spatial_lr"]["global"]
    assert {"ligand", "receptor", "global_moran", "global_pvalue", "mean_local", "frac_significant"} <= set(g.columns)
    assert scored.uns["spatial_lr"]["params"]["bandwidth"] == 20.0


def test_planted_pairs(scored):
    g = scored.uns["spatial_lr"]["global"]
    # the separated pair is spatially anti-correlated and never co-expressed locally
    assert g.loc["CCL19^CCR7", "global_moran"] < -0.15
    assert g.loc["CCL19^CCR7", "frac_significant"] == 0
    assert g.loc["CXCL12^CXCR4", "global_moran"] > g.loc["CCL19^CCR7", "global_moran"] + 0.2
    assert g.loc["CXCL12^CXCR4", "frac_significant"] > 0.03
    # local scores sit where fibroblasts and T cells mix: the stroma niche
    local = scored.obsm["spatial_lr"]["CXCL12^CXCR4"].groupby(scored.obs["niche"], observed=True).mean()
    assert local["stroma"] > 5 * max(local["tumor"], local["immune"], 1e-3)


def test_seed_determinism(tissue, pairs, scored):
    again = pk.tl.spatial_lr(tissue, resource=pairs, n_perms=30, seed=0, copy=True)
    pd.testing.assert_frame_equal(again.uns["spatial_lr"]["global"], scored.uns["spatial_lr"]["global"])


def test_keeps_squidpy_graph(pairs):
    ad = pk.data.simulate_tissue(300, seed=0, clone_radius_um=25)
    sc.pp.normalize_total(ad)
    sc.pp.log1p(ad)
    pk.pp.spatial_neighbors(ad)
    before = ad.obsp["spatial_connectivities"].copy()
    pk.tl.spatial_lr(ad, resource=pairs, n_perms=5)
    assert (ad.obsp["spatial_connectivities"] != before).nnz == 0


def test_bad_input(tissue, pairs):
    ad = tissue.copy()
    del ad.obsm["spatial"]
    with pytest.raises(KeyError, match="coordinates"):
        pk.tl.spatial_lr(ad, resource=pairs)
    ad = tissue.copy()
    ad.obsm["spatial"] = ad.obsm["spatial"].copy()
    ad.obsm["spatial"][0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.spatial_lr(ad, resource=pairs)
    with pytest.raises(ValueError, match="none of the 1 ligand-receptor pairs"):
        pk.tl.spatial_lr(tissue, resource=pd.DataFrame({"ligand": ["Cxcl12"], "receptor": ["Cxcr4"]}))
    with pytest.raises(ValueError, match="bandwidth"):
        pk.tl.spatial_lr(tissue, resource=pairs, bandwidth=0)


def test_osmfish_has_no_measurable_pair(mirror):
    osm = pk.data.load("osmfish_codeluppi2018_sscortex")
    omni = pk.data.load("resources_genesets_lr", table="omni")
    with pytest.raises(ValueError, match="none of the"):
        pk.tl.spatial_lr(osm, resource=omni[omni["resource"] == "mouseconsensus"])
