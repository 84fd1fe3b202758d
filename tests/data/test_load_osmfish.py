"""Schema of the osmFISH loader against the published numbers (33 genes x 5,328 cells)."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def osm(mirror):
    return pk.data.load("osmfish_codeluppi2018_sscortex")


def test_shape_and_keys(osm):
    assert osm.shape == (5328, 33)
    assert osm.obsm["spatial"].shape == (5328, 2)
    assert osm.obsm["spatial"].dtype == np.float64
    assert osm.layers["counts"].dtype == np.int64
    assert {"cell_type", "region", "perturbation", "cluster_id", "area_um2"} <= set(osm.obs.columns)
    assert osm.uns["dataset"] == "osmfish_codeluppi2018_sscortex"
    assert osm.uns["spatial_unit"] == "um"


def test_published_values(osm):
    # 31 cell types among the 5,328 expressed cells (+ "Excluded"), 11 regions (+ "Excluded")
    assert osm.obs["cell_type"].nunique() == 32
    assert osm.obs["region"].nunique() == 12
    assert (osm.obs["cell_type"] == "pyramidal_L4").sum() == 526
    assert (osm.obs["cell_type"] == "Excluded").sum() == 489
    assert set(osm.obs["perturbation"]) == {pk.data.CONTROL}
    # counts are integers and X holds the same counts
    np.testing.assert_array_equal(osm.X, osm.layers["counts"])
    assert int(osm.layers["counts"].sum(1).min()) >= 0
    assert {"Gad2", "Rorb", "Plp1", "Gfap"} <= set(osm.var_names)


def test_coordinates_in_micrometres(osm):
    xy = osm.obsm["spatial"]
    assert np.isfinite(xy).all()
    # a coronal hemisection: about 1.55 mm x 3.14 mm; 0.065 µm per pixel
    np.testing.assert_allclose(xy.max(0), [1553.2, 3138.9], atol=0.5)
    np.testing.assert_allclose(osm.obsm["spatial_px"] * 0.065, xy)
    assert osm.obs["area_um2"].notna().all()
    assert 50 < osm.obs["area_um2"].median() < 500


def test_drop_excluded(mirror):
    osm = pk.data.load("osmfish_codeluppi2018_sscortex", drop_excluded=True)
    assert osm.n_obs == 5328 - 489
    assert "Excluded" not in osm.obs["cell_type"].cat.categories
