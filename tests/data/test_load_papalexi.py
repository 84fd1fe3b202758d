"""Schema of the Papalexi 2021 ECCITE-seq loader, checked against the published object."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk

ID = "papalexi2021_eccite_sceptredata"


@pytest.fixture(scope="module")
def papalexi(mirror):
    return pk.data.load(ID)


def test_shape_and_layers(papalexi) -> None:
    a = papalexi
    assert a.shape == (20729, 299)
    assert a.obsm["guide_counts"].shape == (20729, 110)
    assert a.uns["dataset"] == ID
    assert (a.X != a.layers["counts"]).nnz == 0
    # totals from the dataset's PROVENANCE.md
    assert int(a.layers["counts"].sum()) == 4_299_765
    assert a.layers["counts"].nnz == 1_390_126
    assert int(a.obsm["guide_counts"].sum()) == 4_619_963
    assert (np.asarray(a.obsm["guide_counts"].sum(1)).ravel() >= 1).all()


def test_guides_table(papalexi) -> None:
    g = papalexi.uns["guides"]
    assert list(g.index) == list(papalexi.uns["guide_names"])
    counts = g["target"].value_counts()
    assert counts["non-targeting"] == 9
    assert len(counts) == 27  # 26 targets + non-targeting
    targets_measured = sorted(set(g["target"]) & set(papalexi.var_names))
    assert targets_measured == ["CMTM6", "IFNGR2", "JAK2", "NFKBIA", "STAT1", "STAT2", "STAT3",
                                "TNFRSF14", "UBE2L6"]


def test_obs_schema(papalexi) -> None:
    obs = papalexi.obs
    assert obs["replicate"].value_counts().to_dict() == {"rep_1": 9428, "rep_2": 6001, "rep_3": 5300}
    for col in ("perturbation", "target", "guide", "replicate"):
        assert isinstance(obs[col].dtype, pd.CategoricalDtype)
    assert set(obs.columns) >= set(["perturbation", "replicate"]) & set(pk.data.SCHEMA)


def test_control_label_and_max_rule_counts(papalexi) -> None:
    obs = papalexi.obs
    # highest-UMI guide per cell, as in PROVENANCE.md: non-targeting 2,386, IFNGR1 1,341 ...
    vc = obs["perturbation"].value_counts()
    assert vc["control"] == 2386
    assert vc["IFNGR1"] == 1341 and vc["IFNGR2"] == 1213 and vc["CD86"] == 1197
    assert "non-targeting" not in set(obs["perturbation"])
    assert (obs.loc[obs["perturbation"] == "control", "target"] == "non-targeting").all()


def test_assign_false(mirror) -> None:
    a = pk.data.load(ID, assign=False)
    assert "perturbation" not in a.obs
    pk.tl.assign_guides(a, method="mixture")
    rates = a.uns["guide"]["rates"]["fraction"]
    assert rates["single"] > 0.85
