"""fit_curves on a tidy table (one batch for all groups), AUC, partial pooling, and the scipy comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def test_fit_curves_table_recovers_planted_ic50s():
    d = pk.data.simulate_dose_table(n_groups=4, params={"b": 1.5, "c": 0.0, "d": 1.0, "e": 0.5},
                                    model="LL.4", noise_sd=0.03, doses=(0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30),
                                    ec50_fold=3.0, seed=0)
    d["plate"] = np.where(d["replicate"] <= 2, "p1", "p2")
    res = pk.dose.fit_curves(d, dose="dose", response="response", groupby="perturbation", model="LL.2")
    truth = d.groupby("perturbation")["true_e"].first()
    assert res["converged"].all()
    np.testing.assert_allclose(res.set_index("perturbation").loc[truth.index, "ic50"], truth, rtol=0.15)
    lt = res.set_index("perturbation").loc[truth.index]
    covered = (lt["ln_ic50_lower"] < np.log(truth)) & (np.log(truth) < lt["ln_ic50_upper"])
    assert covered.sum() >= 3  # 95% intervals: most cover the planted value
    assert res["ic50_in_range"].all() and res["auc"].between(0, 1).all()
    # more potent drug -> smaller area under the viability curve
    assert res.sort_values("ic50")["auc"].is_monotonic_increasing
    two = pk.dose.fit_curves(d, dose="dose", response="response", groupby=["perturbation", "plate"], model="LL.2")
    assert list(two.columns[:3]) == ["perturbation", "plate", "model"] and len(two) == 8
    with pytest.raises(KeyError, match="no column"):
        pk.dose.fit_curves(d, dose="conc", response="response", groupby="perturbation")


def test_curve_auc_limits():
    theta = np.array([[1.0, 1e-9], [1.0, 1e9]])  # LL.2: e far below / above the range
    auc = pk.dose.curve_auc("LL.2", theta, np.array([0.1, 0.1]), np.array([10.0, 10.0]))
    np.testing.assert_allclose(auc, [0.0, 1.0], atol=1e-3)


def test_partial_pooling_shrinks_uncertain_estimates():
    rng = np.random.default_rng(0)
    truth = rng.normal(0, 1, 200)
    se = np.where(np.arange(200) < 100, 0.1, 3.0)
    est = truth + rng.normal(0, se)
    out = pk.dose.partial_pooling(est, se)
    assert out["shrinkage"][:100].max() < 0.1 and out["shrinkage"][100:].min() > 0.8
    # pooling lowers the error of the noisy half
    noisy = slice(100, 200)
    assert np.mean((out["pooled"][noisy] - truth[noisy]) ** 2) < np.mean((est[noisy] - truth[noisy]) ** 2)
    with pytest.raises(ValueError, match="lengths differ"):
        pk.dose.partial_pooling([1.0, 2.0], [1.0])


def test_compare_with_scipy_agrees():
    rng = np.random.default_rng(1)
    m = pk.dose.get_model("LL.4")
    x = np.r_[np.zeros(6), np.geomspace(0.05, 20, 7)]
    thetas = np.column_stack([rng.uniform(1, 3, 40), rng.uniform(0, 1, 40), rng.uniform(4, 6, 40),
                              np.exp(rng.uniform(-1, 1.5, 40))])
    y = m(np.broadcast_to(x, (40, x.size)), thetas) + rng.normal(0, 0.1, (40, x.size))
    res = pk.dose.compare_with_scipy(np.broadcast_to(x, y.shape), y, np.ones_like(y))
    assert res["n_curves"] == 40 and res["both_valid"] >= 35
    assert res["median_rel_diff"] < 1e-3 and res["rss_ratio_p99"] < 1 + 1e-6


def test_varpro_and_lm_reach_the_same_optimum():
    rng = np.random.default_rng(2)
    m = pk.dose.get_model("LL.4")
    x = np.repeat(np.r_[0, np.geomspace(0.05, 20, 7)], 2)
    thetas = np.column_stack([rng.uniform(1, 3, 30), rng.uniform(0, 1, 30), rng.uniform(4, 6, 30),
                              np.exp(rng.uniform(-1, 1.5, 30))])
    y = m(np.broadcast_to(x, (30, x.size)), thetas) + rng.normal(0, 0.1, (30, x.size))
    a = pk.dose.fit_curves(x, y, "LL.4", method="varpro", ftol=1e-12, xtol=1e-12)
    b = pk.dose.fit_curves(x, y, "LL.4", method="lm", ftol=1e-12, xtol=1e-12)
    both = a["converged"] & b["converged"]
    assert both.sum() >= 28
    np.testing.assert_allclose(a.loc[both, ["b", "c", "d", "e"]], b.loc[both, ["b", "c", "d", "e"]], rtol=1e-4)
    with pytest.raises(ValueError, match="needs the LL.4"):
        pk.dose.fit_curves(x, y, "W1.4", method="varpro")
    assert isinstance(pd.DataFrame(a), pd.DataFrame)
