"""Schema of the Haber 2017 composition loader."""

from __future__ import annotations

import perturbkit as pk


def test_wide(mirror):
    wide = pk.data.load("composition_haber2017_sccoda", wide=True)
    assert wide.shape == (10, 10)
    assert wide["perturbation"].value_counts().to_dict() == {
        "control": 4, "H.poly.Day3": 2, "H.poly.Day10": 2, "Salmonella": 2
    }
    types = [c for c in wide.columns if c not in ("perturbation", "replicate")]
    assert len(types) == 8 and "Enterocyte" in types
    assert int(wide.loc["Control_1", "Endocrine"]) == 36


def test_tidy(mirror):
    tidy = pk.data.load("composition_haber2017_sccoda")
    assert list(tidy.columns) == ["sample", "perturbation", "replicate", "cell_type", "n_cells"]
    assert len(tidy) == 80
    assert (tidy["n_cells"] >= 0).all()
    assert pk.data.is_stand_in("composition_haber2017_sccoda") is False
