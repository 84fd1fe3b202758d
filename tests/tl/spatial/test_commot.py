"""Collective optimal transport: planted direction, separated pair, agreement with `commot`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk


@pytest.fixture(scope="module")
def tissue(make_tissue):
    return make_tissue(800, seed=0)


@pytest.fixture(scope="module")
def moved(tissue, pairs):
    return pk.tl.commot(tissue, resource=pairs, dis_thr=50.0, copy=True)


def test_keys_and_copy(tissue, moved):
    assert "commot" not in tissue.uns
    assert moved.obsp["commot-CXCL12-CXCR4"].shape == (800, 800)
    assert list(moved.obsm["commot_sent"].columns) == ["CXCL12-CXCR4", "CCL19-CCR7"]
    pairs = moved.uns["commot"]["pairs"]
    assert {"ligand", "receptor", "total", "ligand_used"} <= set(pairs.columns)
    # a cell cannot send more than its ligand (up to the KL relaxation)
    sent = moved.obsm["commot_sent"]["CXCL12-CXCR4"].sum()
    assert 0 < sent <= 1.05 * tissue[:, "CXCL12"].X.sum()


def test_planted_direction(moved):
    flows = pk.tl.flow_summary(moved, cell_type_key="cell_type")
    cx = flows[flows["pair"] == "CXCL12-CXCR4"].iloc[0]
    assert (cx["source"], cx["target"]) == ("Fibroblast", "T cell")
    assert cx["share"] > 0.4
    assert cx["flow"] > 100 * cx["reverse"]


def test_no_flow_across_the_tumour(moved):
    flows = pk.tl.flow_summary(moved, cell_type_key="niche").set_index(["pair", "source", "target"])
    assert flows.loc[("CCL19-CCR7", "stroma", "immune"), "flow"] == 0
    assert flows.loc[("CXCL12-CXCR4", "stroma", "immune"), "flow"] == 0


def test_received_signal_tracks_truth(tissue, moved):
    t = (tissue.obs["cell_type"] == "T cell").to_numpy()
    received = pk.tl.received_signal(moved, "CXCL12-CXCR4", cell_type_key="cell_type", sender="Fibroblast").to_numpy()
    assert np.corrcoef(received[t], tissue.uns["truth"]["received_signal"][t])[0, 1] > 0.35
    with pytest.raises(KeyError, match="run pk.tl.commot"):
        pk.tl.received_signal(moved, "CXCL12-CXCR5")
    with pytest.raises(ValueError, match="both"):
        pk.tl.received_signal(moved, "CXCL12-CXCR4", sender="Fibroblast")


def test_distance_threshold_limits_transport(tissue, pairs, moved):
    short = pk.tl.commot(tissue, resource=pairs, dis_thr=20.0, copy=True)
    assert short.uns["commot"]["pairs"].loc["CXCL12-CXCR4", "total"] < moved.uns["commot"]["pairs"].loc["CXCL12-CXCR4", "total"]
    dist = np.hypot(*(tissue.obsm["spatial"][:, None, :] - tissue.obsm["spatial"][None, :, :]).T)
    plan = short.obsp["commot-CXCL12-CXCR4"].tocoo()
    assert dist[plan.row, plan.col].max() <= 20.0 + 1e-9


def test_bad_input(tissue, pairs, moved):
    with pytest.raises(ValueError, match="dis_thr"):
        pk.tl.commot(tissue, resource=pairs, dis_thr=0)
    with pytest.raises(ValueError, match="none of the"):
        pk.tl.commot(tissue, resource=pd.DataFrame({"ligand": ["Cxcl12"], "receptor": ["Cxcr4"]}))
    ad = tissue.copy()
    ad.obsm["spatial"] = np.full((ad.n_obs, 2), np.nan)
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.commot(ad, resource=pairs)
    with pytest.raises(KeyError, match="run pk.tl.commot"):
        pk.tl.flow_summary(tissue, cell_type_key="cell_type")
    with pytest.raises(ValueError, match="negative"):
        neg = tissue.copy()
        neg.X = neg.X - 1
        pk.tl.commot(neg, resource=pairs)


def test_agrees_with_commot_package(pairs):
    setattr(np, "Inf", np.inf)  # noqa: B010 - commot 0.0.3 still uses the numpy 1 alias
    ct = pytest.importorskip("commot")
    ad = pk.data.simulate_tissue(400, seed=0, clone_radius_um=25)
    sc.pp.normalize_total(ad)
    sc.pp.log1p(ad)
    pk.tl.commot(ad, resource=pairs, dis_thr=50.0)
    ref = pd.DataFrame({0: pairs["ligand"], 1: pairs["receptor"], 2: pairs["ligand"]})
    ct.tl.spatial_communication(ad, database_name="ref", df_ligrec=ref, dis_thr=50.0, heteromeric=False)
    ours, theirs = ad.obsp["commot-CXCL12-CXCR4"], ad.obsp["commot-ref-CXCL12-CXCR4"]
    for axis in (0, 1):
        r = np.corrcoef(np.asarray(ours.sum(axis)).ravel(), np.asarray(theirs.sum(axis)).ravel())[0, 1]
        assert r > 0.9
