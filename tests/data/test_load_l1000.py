"""L1000 LJP005 A375 dose plate: GCT parsing and the shared obs schema."""

from __future__ import annotations

import numpy as np

import perturbkit as pk


def test_l1000_schema(mirror):
    a = pk.data.load("l1000_ljp005_a375_dose")
    assert a.shape == (377, 978)
    for col in ("perturbation", "dose", "dose_unit", "cell_type", "replicate"):
        assert col in a.obs
    ctrl = a.obs["perturbation"] == pk.data.CONTROL
    assert int(ctrl.sum()) == 26 and (a.obs.loc[ctrl, "dose"] == 0).all()
    assert "DMSO" not in set(a.obs["perturbation"])
    assert (a.obs["dose_unit"] == "uM").all() and (a.obs["cell_type"] == "A375").all()
    doses = sorted(a.obs.loc[~ctrl, "dose"].unique())
    assert doses == [0.04, 0.12, 0.37, 1.11, 3.33, 10.0]
    assert a.obs.loc[~ctrl, "perturbation"].nunique() == 59
    assert {"vemurafenib", "PLX-4720", "trametinib"} <= set(a.obs["perturbation"])
    assert a.var_names.is_unique and "PSME1" in a.var_names
    x = np.asarray(a.X)
    assert np.isfinite(x).all() and 3 < x.min() and x.max() <= 15.1
