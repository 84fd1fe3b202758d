"""SynergyFinder example blocks: schema and published layout."""

from __future__ import annotations

import pytest

import perturbkit as pk
from perturbkit.data._loaders.drugcomb_synergyfinder import COLUMNS


@pytest.fixture(scope="module")
def blocks(mirror):
    return pk.data.load("drugcomb_synergyfinder")


def test_schema(blocks):
    assert list(blocks.columns) == COLUMNS
    assert blocks.shape == (200 + 72 + 2400, len(COLUMNS))
    assert pk.data.is_stand_in("drugcomb_synergyfinder") is False
    assert blocks["block_id"].nunique() == 6
    assert set(blocks["conc_unit"]) == {"uM", "nM"}


def test_published_layout(blocks):
    oneil = blocks[blocks.block_id == "oneil_1"]
    assert (oneil.drug_row.iloc[0], oneil.drug_col.iloc[0], oneil.cell_line.iloc[0]) == ("MK-1775", "Niraparib", "OCUBM")
    assert oneil.replicate.max() == 4 and oneil.conc_row.nunique() == 5
    ncats = blocks[blocks.set == "ncats"]
    assert set(ncats.drug_3) == {"Darunavir Ethanolate", "Lopinavir"}
    assert ncats.groupby("block_id").size().tolist() == [1200, 1200]
    # viability sets converted to inhibition: untreated wells sit near 0 % inhibition
    untreated = blocks[(blocks.conc_row == 0) & (blocks.conc_col == 0) & (blocks.conc_3 == 0)]
    assert untreated.groupby("set")["response"].median().abs().max() < 25


def test_unknown_set(mirror):
    with pytest.raises(ValueError, match="unknown set"):
        pk.data.load("drugcomb_synergyfinder", sets=("almanac",))
