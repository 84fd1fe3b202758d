"""Connectivity scores: planted reversers, hand-computed KS, XSum, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def sim():
    return pk.data.simulate_signature_screen(seed=4)


def test_planted_reversers_and_mimickers(sim):
    sig = pk.tl.compound_signatures(sim)
    t = sim.uns["truth"]
    for method in ("ks", "wtcs", "xsum"):
        res = pk.tl.connectivity(sig, up=t["up"], down=t["down"], method=method, n_perm=50)
        assert set(res["compound"][:3]) == set(t["reversers"]), method
        assert set(res["compound"][-2:]) == set(t["mimickers"]), method
        assert (res.loc[res.compound.isin(t["reversers"]), "p_reverse"] < 0.05).all()
        assert res["rank"].tolist() == list(range(1, len(res) + 1))


def test_ks_hand_computed():
    sig = pd.Series(np.arange(10, 0, -1, dtype=float), index=[f"g{i}" for i in range(10)])
    # genes at ranks 1 and 3 of 10: a = max(1/2 - 1/10, 2/2 - 3/10) = 0.7; b = max(1/10, 3/10 - 1/2) = 0.1
    assert pk.tl.ks_score(sig, ["g0", "g2"]) == pytest.approx(0.7)
    # ranks 8 and 10: a = max(1/2 - 8/10, 1 - 10/10) = 0; b = max(8/10 - 0, 10/10 - 1/2) = 0.8
    assert pk.tl.ks_score(sig, ["g9", "g7"]) == pytest.approx(-0.8)
    table = pd.DataFrame([sig.to_numpy(), -sig.to_numpy()], index=["a", "b"], columns=sig.index)
    res = pk.tl.connectivity(table, up=["g0", "g1"], down=["g8", "g9"], n_perm=0).set_index("compound")
    assert res.loc["a", "score"] == pytest.approx(1.0) and res.loc["b", "score"] == pytest.approx(-1.0)


def test_xsum_hand_computed():
    table = pd.DataFrame([[3.0, -2.0, 0.5, 0.1]], index=["c"], columns=["u1", "d1", "x", "y"])
    res = pk.tl.connectivity(table, up=["u1", "x"], down=["d1"], method="xsum", n_top=1, n_perm=0)
    # top-1 up (u1 = 3) and top-1 down (d1 = -2) kept: 3 - (-2) = 5
    assert res["score"].iloc[0] == pytest.approx(5.0)


def test_signatures_schema_and_errors(sim):
    sig = pk.tl.compound_signatures(sim)
    assert sig.shape == (40, 200) and "control" not in sig.index
    with pytest.raises(ValueError, match="control"):
        pk.tl.compound_signatures(sim, control="DMSO")
    with pytest.raises(ValueError, match="need >= 3"):
        pk.tl.connectivity(sig, up=["nope", "G0000"], down=[])
    with pytest.raises(ValueError, match="both up and down"):
        pk.tl.connectivity(sig, up=["G0000", "G0001", "G0002"], down=["G0000"])
    with pytest.raises(ValueError, match="method"):
        pk.tl.connectivity(sig, up=list(sig.columns[:5]), method="gsea")


def test_seed_determinism(sim):
    sig = pk.tl.compound_signatures(sim)
    t = sim.uns["truth"]
    a = pk.tl.connectivity(sig, up=t["up"], down=t["down"], n_perm=30, seed=1)
    b = pk.tl.connectivity(sig, up=t["up"], down=t["down"], n_perm=30, seed=1)
    pd.testing.assert_frame_equal(a, b)


def test_wtcs_hand_computed():
    # genes ranked a > ... > f; up = {a, b} takes the whole hit weight before any miss: ES 1;
    # down = {f}: all five misses come first: ES -1; WTCS = (1 - (-1)) / 2 = 1
    table = pd.DataFrame([[5.0, 4.0, 1.0, 0.5, -1.0, -3.0]], index=["c"], columns=list("abcdef"))
    res = pk.tl.connectivity(table, up=["a", "b"], down=["f"], method="wtcs", n_perm=0)
    assert res["score"].iloc[0] == pytest.approx(1.0)
    res = pk.tl.connectivity(table, up=["e", "f"], down=["a"], method="wtcs", n_perm=0)
    assert res["score"].iloc[0] == pytest.approx(-1.0)
    # down = {c}: misses a, b (-0.4) then the hit (+0.6): ES +0.6, same sign as up -> 0
    res = pk.tl.connectivity(table, up=["a", "b"], down=["c"], method="wtcs", n_perm=0)
    assert res["score"].iloc[0] == 0.0
