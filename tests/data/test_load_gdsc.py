"""GDSC raw plates (gdscIC50) and the GDSC v17 IC50 matrix (gdsctools)."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def plates(mirror):
    return pk.data.load("gdsc_raw_plate_gdscIC50")


def test_raw_plates(plates):
    assert {"SCAN_ID", "TAG", "COSMIC_ID", "DRUG_ID", "CONC", "INTENSITY"} <= set(plates.columns)
    assert "UN-USED" not in set(plates["TAG"].astype(str))
    assert plates["COSMIC_ID"].nunique() == 739 and plates["SCAN_ID"].nunique() == 1837
    assert (plates["TAG"].astype(str) == "NC-1").sum() == 202070


def test_normalise(plates):
    wells = pk.pp.gdsc_normalise(plates)
    assert {"COSMIC_ID", "DRUG_ID", "CONC", "viability", "z_factor"} <= set(wells.columns)
    # six library drugs; 1862 is the positive control and 4000 the DMSO id
    assert set(wells["DRUG_ID"]) == {1003, 1032, 1036, 1060, 1268, 1510}
    # DMSO wells define 1 and blanks 0: treated wells mostly between, median below 1
    assert 0.3 < wells["viability"].median() < 1.0
    assert wells["viability"].between(-0.5, 2).mean() > 0.99
    stats = pk.pp.gdsc_plate_qc(plates)
    assert set(wells["SCAN_ID"]) <= set(stats.index)
    assert (stats["dmso"] > stats["blank"]).all() and stats["z_factor"].median() > 0.3
    with pytest.raises(KeyError, match="no column"):
        pk.pp.gdsc_normalise(plates.drop(columns="TAG"))


def test_v17(mirror):
    ic50 = pk.data.load("gdsc_ic50_v17_gdsctools", table="ic50")
    assert ic50.shape == (988, 265) and ic50.index.name == "COSMIC_ID"
    assert {1003, 1032, 1036, 1060, 1268} <= set(ic50.columns)
    long = pk.data.load("gdsc_ic50_v17_gdsctools", table="ic50_long")
    assert list(long.columns) == ["COSMIC_ID", "DRUG_ID", "ln_ic50"] and np.isfinite(long["ln_ic50"]).all()
    feats = pk.data.load("gdsc_ic50_v17_gdsctools", table="features")
    assert feats.shape == (988, 679) and "BRAF_mut" in feats.columns
