from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def net_screen():
    a = pk.data.simulate_screen(n_cells=1500, n_genes=50, n_targets=4, moi=0.6, nt_fraction=0.3,
                                program_noise=0.4, seed=0)
    pk.tl.assign_guides(a, method="mixture")
    return a


def _corr(pred: pd.DataFrame, truth: pd.DataFrame, t: str) -> float:
    others = [g for g in truth.columns if g != t]
    p = pred.loc[t, others]
    return float(np.corrcoef(p, truth.loc[t, others])[0, 1]) if p.std() > 0 else 0.0


def test_network_predicts_planted_knockouts(net_screen) -> None:
    truth = net_screen.uns["truth"]["effects"]
    targets = list(truth.index)
    prior = pd.DataFrame([(t, g) for t in targets for g in truth.columns if g != t], columns=["source", "target"])
    grn = pk.tl.infer_grn(net_screen, regulators=targets, prior=prior)
    pred = pk.tl.network_knockout(net_screen, grn, targets=targets).pivot(
        index="knockout", columns="gene", values="predicted_shift")
    # no-network baseline predicts nothing beyond the target itself: correlation 0
    for t in targets:
        assert _corr(pred, truth, t) > 0.6, t


def test_prior_restricts_edges(net_screen) -> None:
    prior = pd.DataFrame({"source": ["T0", "T0"], "target": ["G0", "G1"]})
    grn = pk.tl.infer_grn(net_screen, regulators=["T0", "T1"], prior=prior)
    assert set(zip(grn["source"], grn["target"], strict=True)) <= {("T0", "G0"), ("T0", "G1")}
    assert (grn["n_regulators"] == 1).all()


def test_knockout_outside_network_changes_only_itself(net_screen) -> None:
    grn = pk.tl.infer_grn(net_screen, regulators=["T0"])
    pred = pk.tl.network_knockout(net_screen, grn, targets=["T1"]).set_index("gene")
    assert not pred["in_network"].any()
    assert (pred.drop(index="T1")["predicted_shift"] == 0).all()
    assert pred.loc["T1", "predicted_shift"] < 0


def test_one_step_is_direct_effect(net_screen) -> None:
    grn = pk.tl.infer_grn(net_screen, regulators=["T0"])
    pred = pk.tl.network_knockout(net_screen, grn, targets=["T0"], n_steps=1).set_index("gene")
    edges = grn.set_index("target")["coef"]
    d0 = pred.loc["T0", "predicted_shift"]
    assert np.allclose(pred.loc[edges.index, "predicted_shift"], edges * d0)


def test_bad_input(net_screen) -> None:
    with pytest.raises(ValueError, match="regulators not in"):
        pk.tl.infer_grn(net_screen, regulators=["nope"])
    with pytest.raises(ValueError, match="'source' and 'target'"):
        pk.tl.infer_grn(net_screen, prior=pd.DataFrame({"tf": ["T0"]}))
    with pytest.raises(ValueError, match="control label 'NT'"):
        pk.tl.infer_grn(net_screen, control="NT")
    grn = pk.tl.infer_grn(net_screen, regulators=["T0"])
    with pytest.raises(ValueError, match="not in adata.var_names"):
        pk.tl.network_knockout(net_screen, grn, targets=["nope"])
    with pytest.raises(ValueError, match="columns"):
        pk.tl.network_knockout(net_screen, grn.drop(columns="coef"), targets=["T0"])


def test_no_side_effects(net_screen) -> None:
    before = net_screen.obs.copy()
    pk.tl.infer_grn(net_screen, regulators=["T0"])
    pd.testing.assert_frame_equal(net_screen.obs, before)
