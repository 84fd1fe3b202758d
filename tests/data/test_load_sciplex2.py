"""sci-Plex2 CellTiter-Glo viability (CR line endings) and its hash sheet."""

from __future__ import annotations

import pytest

import perturbkit as pk


def test_viability_table(mirror):
    ctg = pk.data.load("sciplex2_viability_ctg")
    assert ctg.shape == (192, 7)
    assert list(ctg.columns) == ["perturbation", "dose", "dose_label", "dose_unit", "viability",
                                 "replicate", "cell_type"]
    assert set(ctg["perturbation"]) == {"BMS", "Dex", "Nutlin", "SAHA"}
    assert (ctg["dose_unit"] == "uM").all() and (ctg["cell_type"] == "A549").all()
    assert ctg.groupby("perturbation").size().eq(48).all()
    # real doses: Dex's label 100 is 50 uM, BMS's is 1000 uM
    assert ctg.query("perturbation == 'Dex'")["dose"].max() == 50
    assert ctg.query("perturbation == 'BMS'")["dose"].max() == 1000
    vehicle = ctg[ctg["dose"] == 0].groupby("perturbation")["viability"].mean()
    assert vehicle.to_numpy() == pytest.approx(1.0, abs=1e-3)


def test_hash_sheet(mirror):
    sheet = pk.data.load("sciplex2_viability_ctg", table="hash")
    assert sheet.shape[0] == 192 and {"hash_name", "barcode", "perturbation", "dose_label"} <= set(sheet)
    with pytest.raises(KeyError, match="available"):
        pk.data.load("sciplex2_viability_ctg", table="nope")
