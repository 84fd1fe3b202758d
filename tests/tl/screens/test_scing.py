"""SCING-style GRN: planted edges recovered (AUPR above stated thresholds), determinism, errors."""

from __future__ import annotations

import pandas as pd
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def tissue(make_tissue):
    return make_tissue(500, seed=0, clone_radius_um=30)


def test_grn_recovers_planted_network(tissue):
    truth = tissue.uns["truth"]["grn"]
    tfs = ["TF1", "TF2", "TF3"]
    edges = pk.tl.grn(tissue, regulators=tfs, seed=0)
    assert {"regulator", "target", "importance", "mi", "kept", "score", "r"} <= set(edges.columns)
    assert edges.groupby("target")["importance"].sum().round(6).eq(1).all()
    res = pk.tl.grn_aupr(edges, truth)
    assert res["n_true"] == 9
    assert res["aupr"] > 0.9
    # with cell-type markers among the candidates, identity programmes compete with regulation
    decoyed = pk.tl.grn(tissue, regulators=[*tfs, "EPCAM", "CD3E", "NOISE0"], seed=0)
    res2 = pk.tl.grn_aupr(decoyed, truth)
    assert res2["aupr"] > 5 * res2["random"]
    assert res2["aupr"] < res["aupr"]


def test_grn_seed_and_input(tissue):
    a = pk.tl.grn(tissue, regulators=["TF1", "TF2"], targets=["TG1a", "TG2a"], seed=1)
    b = pk.tl.grn(tissue, regulators=["TF1", "TF2"], targets=["TG1a", "TG2a"], seed=1)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(KeyError, match="var_names"):
        pk.tl.grn(tissue, regulators=["TFX"])
    with pytest.raises(ValueError, match="mi_quantile"):
        pk.tl.grn(tissue, regulators=["TF1"], mi_quantile=1.5)
    with pytest.raises(ValueError, match="none of the known edges"):
        pk.tl.grn_aupr(a, pd.DataFrame({"tf": ["X"], "target": ["Y"]}))
