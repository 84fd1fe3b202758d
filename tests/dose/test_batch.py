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


# (dataset, group column, group, dose column, response column): drc datasets whose fits are
# well determined, so both paths must land on the same optimum to optimiser precision
_DRC_CASES = [
    ("ryegrass", None, None, "conc", "rootl"),
    ("S.alba", "Herbicide", "Bentazone", "Dose", "DryMatter"),
    ("secalonic", None, None, "dose", "rootl"),
    ("M.bahia", None, None, "conc", "dryweight"),
]

# optima too flat for 1e-6 agreement: the two stopping rules end within 5e-6 relative of each
# other at the same RSS (to 9 digits); secalonic's LL.5 has no optimum (e runs off in both paths)
_FLAT = {("S.alba", "LL.5"), ("secalonic", "LL.5")}


@pytest.mark.parametrize("model", ["LL.4", "LL.5", "W1.4", "W2.4"])
def test_fit_curves_and_fit_curve_agree_on_drc_data(mirror, model):
    """The vectorised path works on the same scale as fit_curve (log e, log f, and log(d - c)
    for W1.4, W2.4 and LL.5, so c <= d as in drc), tries the same starts and judges
    identifiability the same way: both give the same parameters to 1e-6 relative."""
    data = pk.data.load("drc_classic_doseresponse")
    m = pk.dose.get_model(model)
    checked = 0
    for name, gcol, group, dcol, rcol in _DRC_CASES:
        table = data[name] if gcol is None else data[name][data[name][gcol] == group]
        x, y = table[dcol].to_numpy(float), table[rcol].to_numpy(float)
        if np.unique(x).size < len(m.free) + 1:
            continue  # M.bahia has too few doses for LL.5
        if (name, model) in _FLAT:
            continue
        single = fit_curve(x, y, model, se_method="gauss-newton")
        batch = fit_curves(x, y[None], model, ftol=1e-12, xtol=1e-12)
        assert single.converged and bool(batch.loc[0, "converged"]), (name, single.message, batch.loc[0, "status"])
        np.testing.assert_allclose(batch.loc[0, list(m.free)].to_numpy(float), single.params.to_numpy(),
                                   rtol=1e-6, err_msg=f"{name} {model}")
        assert batch.loc[0, "rss"] == pytest.approx(single.rss, rel=1e-10)
        if m.ordered:
            assert batch.loc[0, "c"] <= batch.loc[0, "d"]
        checked += 1
    assert checked >= (1 if model == "LL.5" else 3)


def test_fit_curves_keeps_w1_and_w2_distinct_on_ryegrass(mirror):
    # drc: W1.4 logLik -17.4672, W2.4 -15.9135 (RSS 6.0241509 and 5.2925654 on 24 points)
    rye = pk.data.load("drc_classic_doseresponse")["ryegrass"]
    x, y = rye["conc"].to_numpy(float), rye["rootl"].to_numpy(float)
    res = {m: fit_curves(x, y[None], m).loc[0] for m in ("W1.4", "W2.4")}
    assert res["W1.4"]["rss"] == pytest.approx(6.0241509, rel=1e-6)
    assert res["W2.4"]["rss"] == pytest.approx(5.2925654, rel=1e-6)
    for r in res.values():
        assert r["c"] <= r["d"]


def test_start_outside_the_family_is_flagged():
    x, y, _ = _curves("W2.4", n=2, seed=3)
    bad = np.array([[-1.0, 8.0, 1.0, 1.0], [-1.0, 1.0, 7.0, 1.0]])  # first start has d < c
    res = fit_curves(x, y, "W2.4", start=bad, retry=False)
    assert res.loc[0, "status"] == -3 and not res.loc[0, "converged"]
    assert res.loc[1, "converged"]


def test_subnormal_information_counts_as_singular() -> None:
    """An L1000 curve whose ED50 ran off to infinity: the information about e is subnormal
    (1.2e-318). On the correlation scale it looked fine, but LAPACK cannot invert the matrix
    (the full dose_response chapter failed on it with LinAlgError); now it is singular."""
    from perturbkit.dose._fit import _nonsingular

    info = np.array([[1.6691512171568836e4, 1.9066731878312464e-2, 3.1611789966082347e2, 1.4211745803122524e-157],
                     [1.9066731878312464e-2, 2.1780537437180031e-8, 3.6101642871093944e-4, 1.6234531360022858e-163],
                     [3.1611789966082347e2, 3.6101642871093944e-4, 3.1999277945362039e1, 2.6909039565268642e-159],
                     [1.4211745803122524e-157, 1.6234531360022858e-163, 2.6909039565268642e-159,
                      1.2100754611072979e-318]])
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.inv(info)
    assert not _nonsingular(info)
    assert _nonsingular(info[:3, :3])  # b, c, d alone are identified
    assert _nonsingular(np.stack([info[:3, :3], np.eye(3)])).tolist() == [True, True]
