"""MISTy views: the planted paracrine and juxtacrine dependencies come out of the spatial views."""

from __future__ import annotations

import pandas as pd
import pytest

import perturbkit as pk

GENES = ["EPCAM", "COL1A1", "PECAM1", "CD3E", "CD68", "CXCL12", "CXCR4", "NR4A1", "CD274"]


@pytest.fixture(scope="module")
def tissue(make_tissue):
    return make_tissue(900, seed=0)


@pytest.fixture(scope="module")
def fitted(tissue):
    return pk.tl.misty(tissue, genes=GENES, cell_type_key="cell_type", seed=0, copy=True)


def test_keys_and_copy(tissue, fitted):
    assert "misty" not in tissue.uns
    res = fitted.uns["misty"]
    assert {"target_metrics", "importances", "params"} <= set(res)
    tm = res["target_metrics"]
    assert {"target", "intra_group", "intra_R2", "multi_R2", "gain_R2", "intra", "juxta", "para"} <= set(tm.columns)
    assert set(res["importances"]["view"]) == {"intra", "juxta", "para"}


def test_paracrine_dependency_recovered(fitted):
    tm = fitted.uns["misty"]["target_metrics"].set_index(["target", "intra_group"])
    assert tm.loc[("NR4A1", "T cell"), "gain_R2"] > 0.2
    assert tm.loc[("NR4A1", "T cell"), "para"] + tm.loc[("NR4A1", "T cell"), "juxta"] > 0.7
    imp = fitted.uns["misty"]["importances"]
    spatial = imp[(imp["target"] == "NR4A1") & (imp["intra_group"] == "T cell") & (imp["view"] != "intra")]
    # the sender's genes: CXCL12 itself or COL1A1, its collinear fibroblast marker; MISTy
    # finds the sending cells, not which of their genes is the signal
    top = spatial.sort_values("importances", ascending=False).iloc[0]["predictor"]
    assert top in {"CXCL12", "COL1A1"}


def test_juxtacrine_dependency_recovered(fitted):
    tm = fitted.uns["misty"]["target_metrics"].set_index(["target", "intra_group"])
    assert tm.loc[("CD274", "Tumor"), "gain_R2"] > 0.2
    imp = fitted.uns["misty"]["importances"]
    spatial = imp[(imp["target"] == "CD274") & (imp["intra_group"] == "Tumor") & (imp["view"] != "intra")]
    top = spatial.sort_values("importances", ascending=False).head(2)["predictor"]
    assert set(top) & {"CD3E", "CXCR4"}  # T-cell genes around the tumour cell


def test_seed_determinism(tissue, fitted):
    again = pk.tl.misty(tissue, genes=GENES, cell_type_key="cell_type", seed=0, copy=True)
    pd.testing.assert_frame_equal(again.uns["misty"]["target_metrics"], fitted.uns["misty"]["target_metrics"])


def test_bad_input(tissue):
    with pytest.raises(KeyError, match="var_names"):
        pk.tl.misty(tissue, genes=["EPCAM", "nope"])
    with pytest.raises(ValueError, match="two genes"):
        pk.tl.misty(tissue, genes=["EPCAM"])
    with pytest.raises(KeyError, match="no column 'celltype'"):
        pk.tl.misty(tissue, genes=GENES, cell_type_key="celltype")
    ad = tissue.copy()
    del ad.obsm["spatial"]
    with pytest.raises(KeyError, match="coordinates"):
        pk.tl.misty(ad, genes=GENES)
