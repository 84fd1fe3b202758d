"""MAGeCK-MLE and the copy-number covariate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def sim():
    return pk.data.simulate_pooled_screen(n_genes=100, n_essential=10, n_enriched=5, seed=3)


def _design(s):
    return pd.DataFrame({"baseline": 1, "selected": [0, 0, 1, 1]}, index=s.var_names)


def test_planted_effects_recovered(sim):
    res = pk.tl.mageck_mle(sim, design=_design(sim))
    truth = sim.uns["truth"]
    assert set(res["condition"]) == {"selected"} and len(res) == 100
    ess = set(truth.index[truth.essential])
    assert len(set(res.sort_values("beta").gene[:10]) & ess) >= 9
    assert len(set(res.sort_values("beta").gene[-5:]) & set(truth.index[truth.enriched])) >= 4
    # beta is a natural-log fold change: planted log2 -2.5 with guide efficiency ~0.8
    b = res.set_index("gene").loc[sorted(ess), "beta"]
    assert -2.2 < b.median() < -0.8
    assert res["padj"].between(0, 1).all() and (res["se"] > 0).all()


def test_two_conditions_and_schema(sim):
    s = sim.copy()
    d = pd.DataFrame({"baseline": 1, "a": [0, 0, 1, 0], "b": [0, 0, 0, 1]}, index=s.var_names)
    res = pk.tl.mageck_mle(s, design=d)
    assert res.groupby("condition").size().to_dict() == {"a": 100, "b": 100}
    assert res["n_sgrna"].dtype == np.int64
    np.testing.assert_array_equal(s.X, sim.X)


def test_design_errors(sim):
    with pytest.raises(KeyError, match="design"):
        pk.tl.mageck_mle(sim)
    bad = _design(sim).assign(baseline=[1, 0, 1, 1])
    with pytest.raises(ValueError, match="baseline"):
        pk.tl.mageck_mle(sim, design=bad)
    dup = _design(sim).assign(copy=[0, 0, 1, 1])
    with pytest.raises(ValueError, match="rank deficient"):
        pk.tl.mageck_mle(sim, design=dup)
    other = _design(sim).rename(index={"final_2": "day21"})
    with pytest.raises(ValueError, match="day21"):
        pk.tl.mageck_mle(sim, design=other)


def test_cnv_correct_removes_planted_trend():
    rng = np.random.default_rng(1)
    cn = pd.Series(rng.normal(0, 1, 400), index=[f"g{i}" for i in range(400)])
    beta = -0.4 * cn.to_numpy() + rng.normal(0, 0.1, 400)
    beta[:20] -= 2  # true essentials, which the robust fit must not follow
    eff = pd.DataFrame({"gene": cn.index, "beta": beta})
    out = pk.tl.cnv_correct(eff, cn)
    assert out["cnv_slope"].nunique() == 1
    assert out["cnv_slope"].iloc[0] == pytest.approx(-0.4, abs=0.05)
    assert abs(np.corrcoef(out["cnv"], out["beta_corrected"])[0, 1]) < 0.1
    assert (out["beta_corrected"].iloc[:20] < -1.5).all()
    with pytest.raises(ValueError, match="at least 10"):
        pk.tl.cnv_correct(eff.head(5), cn)
