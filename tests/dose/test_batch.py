"""The batched fitter: same answers as the one-curve fitter, honest failure flags."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk
from perturbkit.dose import fit_curve, fit_curves


def _curves(model: str, n: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    m = pk.dose.get_model(model)
    x = np.repeat(np.r_[0.0, np.geomspace(0.05, 50, 8)], 3)
    truth = []
    ys = []
    for _ in range(n):
        p = {"b": rng.uniform(0.8, 3) * (1 if model != "W2.4" else -1), "c": rng.uniform(0, 2),
             "d": rng.uniform(5, 8), "e": float(np.exp(rng.uniform(np.log(0.3), np.log(10)))), "f": 1.0}
        theta = np.array([p[k] for k in m.free])
        truth.append(theta)
        ys.append(m(x, theta) + rng.normal(0, 0.15, x.size))
    return x, np.array(ys), np.array(truth)


@pytest.mark.parametrize("model", ["LL.4", "LL.3", "W1.4", "W2.4"])
def test_batched_equals_single_curve_fits(model):
    x, y, truth = _curves(model)
    res = fit_curves(x, y, model, ftol=1e-12, xtol=1e-12)
    assert res["converged"].all(), res["status"].tolist()
    names = list(pk.dose.get_model(model).free)
    other_optimum = 0
    for i in range(len(y)):
        single = fit_curve(x, y[i], model, se_method="gauss-newton")
        batch = res.loc[i, names].to_numpy(float)
        if np.sign(batch[0]) != np.sign(single.params["b"]):
            # Weibull curves can be fitted in two orientations (two local optima): the
            # multi-start single fit keeps the better one, so it is never worse
            assert single.rss <= res.loc[i, "rss"] * (1 + 1e-8)
            other_optimum += 1
            continue
        np.testing.assert_allclose(batch, single.params.to_numpy(), rtol=1e-4, atol=1e-6)
        # Gauss-Newton standard errors, as curve_fit reports them
        np.testing.assert_allclose(res.loc[i, [f"se_{p}" for p in names]].to_numpy(float), single.se.to_numpy(), rtol=1e-3)
        assert res.loc[i, "rss"] == pytest.approx(single.rss, rel=1e-8)
    assert other_optimum <= 2
    # planted EC50s recovered within 30 % at this noise level
    np.testing.assert_allclose(res["e"], truth[:, names.index("e")], rtol=0.3)


def test_ragged_curves_with_zero_weights_match_unpadded():
    x, y, _ = _curves("LL.4", n=3, seed=1)
    xp = np.c_[x[None].repeat(3, 0), np.full((3, 4), 7.0)]
    yp = np.c_[y, np.full((3, 4), 100.0)]
    wp = np.c_[np.ones_like(y), np.zeros((3, 4))]
    a = fit_curves(x, y, "LL.4")
    b = fit_curves(xp, yp, "LL.4", weights=wp)
    np.testing.assert_allclose(a[["b", "c", "d", "e"]], b[["b", "c", "d", "e"]], rtol=1e-6)


def test_failures_are_flagged_and_nan():
    x = np.repeat([0.0, 0.1, 1, 10], 3)
    flat = np.full(x.size, 5.0)
    linear = 10 - 0.5 * x  # no sigmoid: e runs off
    few = np.where(x > 1, 1.0, 2.0)
    res = fit_curves(x, np.stack([flat, linear, few]), "LL.4")
    assert res.loc[0, "status"] == -4 and not res.loc[0, "converged"]
    assert not res.loc[1, "converged"] and res.loc[1, "status"] in pk.dose.STATUS
    assert res.loc[~res["converged"], ["b", "c", "d", "e", "rss", "aic"]].isna().all().all()
    short = fit_curves(np.array([0.0, 1.0, 1.0]), np.array([[1.0, 2.0, 3.0]]), "LL.4")
    assert short.loc[0, "status"] == -4


def test_budget_exhaustion_is_reported():
    x, y, _ = _curves("LL.4", n=4, seed=2)
    res = fit_curves(x, y, "LL.4", max_iter=1, retry=False)
    assert (res["status"] == 0).all() and not res["converged"].any()


def test_bad_input():
    with pytest.raises(ValueError, match="negative"):
        fit_curves(np.array([0.0, -1, 1, 2]), np.ones((2, 4)), "LL.4")
    with pytest.raises(ValueError, match="weights must be >= 0"):
        fit_curves(np.array([0.0, 1, 2, 3]), np.ones((2, 4)), "LL.4", weights=-np.ones(4))
