"""The bundled ligand-receptor resources and Hallmark sets load as tidy tables."""

from __future__ import annotations

import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def res(mirror):
    return pk.data.load("resources_genesets_lr")


def test_tables_and_sizes(res):
    assert set(res) == {"omni", "cellchatdb_human", "cellchatdb_mouse", "cellphonedb_human", "cellphonedb_mouse", "hallmark"}
    assert res["omni"].shape == (35356, 5)
    assert (res["omni"]["resource"] == "consensus").sum() == 4620
    assert res["omni"]["resource"].nunique() == 17
    assert res["cellchatdb_human"].shape == (1939, 4)
    assert res["cellchatdb_mouse"].shape == (2019, 4)
    assert res["cellphonedb_human"].shape == (1680, 4)
    assert res["cellphonedb_mouse"].shape == (1410, 4)
    assert list(res["cellchatdb_human"].columns) == ["ligand", "receptor", "pathway", "annotation"]


def test_hallmark_tidy(res):
    hm = res["hallmark"]
    assert list(hm.columns) == ["source", "target", "weight"]
    assert hm["source"].nunique() == 50
    assert (hm["source"] == "HALLMARK_TNFA_SIGNALING_VIA_NFKB").sum() == 200
    assert "ISG15" in set(hm.loc[hm["source"] == "HALLMARK_INTERFERON_ALPHA_RESPONSE", "target"])


def test_single_table_and_bad_name(mirror):
    omni = pk.data.load("resources_genesets_lr", table="omni")
    consensus = omni[omni["resource"] == "consensus"]
    assert ((consensus["ligand"] == "CXCL12") & (consensus["receptor"] == "CXCR4")).any()
    with pytest.raises(KeyError, match="available"):
        pk.data.load("resources_genesets_lr", table="nope")
