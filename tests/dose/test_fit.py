"""fit_curve against drc's published numbers, independent implementations and planted truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk
from perturbkit.dose import ConvergenceWarning, fit_curve

# drc 3.x: summary(drm(rootl ~ conc, data = ryegrass, fct = LL.4())) and
# ED(m, c(10, 20, 50), interval = "delta") (Ritz et al. 2015, PLoS ONE)
DRC_RYEGRASS = {"b": (2.98222, 0.46506), "c": (0.48141, 0.21219), "d": (7.79296, 0.18857), "e": (3.05795, 0.18573)}
DRC_RYEGRASS_ED = {10: (1.46371, 0.18677, 1.07411, 1.85330), 20: (1.92109, 0.17774, 1.55032, 2.29186),
                   50: (3.05795, 0.18573, 2.67053, 3.44538)}


@pytest.fixture(scope="module")
def ryegrass(mirror):
    return pk.data.load("drc_classic_doseresponse", name="ryegrass")


def test_ryegrass_matches_drc(ryegrass):
    fit = fit_curve(ryegrass["conc"], ryegrass["rootl"], model="LL.4")
    assert fit.converged and fit.df_resid == 20
    for name, (est, se) in DRC_RYEGRASS.items():
        assert fit.params[name] == pytest.approx(est, rel=1e-3)
        assert fit.se[name] == pytest.approx(se, rel=1e-3)
    ed = fit.ed([10, 20, 50])
    for p, (est, se, lo, hi) in DRC_RYEGRASS_ED.items():
        row = ed.loc[float(p)]
        assert row["estimate"] == pytest.approx(est, rel=1e-3)
        assert row["std_error"] == pytest.approx(se, rel=1e-3)
        assert row["lower"] == pytest.approx(lo, rel=1e-3)
        assert row["upper"] == pytest.approx(hi, rel=1e-3)
    assert fit.sigma == pytest.approx(0.5196256, rel=1e-5)  # drc's residual standard error


def test_gauss_newton_se_matches_curve_fit(ryegrass):
    from scipy.optimize import curve_fit

    x, y = ryegrass["conc"].to_numpy(), ryegrass["rootl"].to_numpy()
    fit = fit_curve(x, y, model="LL.4", se_method="gauss-newton")
    m = pk.dose.get_model("LL.4")
    popt, pcov = curve_fit(lambda xx, *t: m(xx, np.array(t)), x, y, p0=fit.params.to_numpy())
    np.testing.assert_allclose(fit.params.to_numpy(), popt, rtol=1e-5)
    np.testing.assert_allclose(fit.se.to_numpy(), np.sqrt(np.diag(pcov)), rtol=1e-4)


def test_finney71_binomial_equals_logistic_glm(mirror):
    import statsmodels.api as sm

    d = pk.data.load("drc_classic_doseresponse", name="finney71")
    fit = fit_curve(d["dose"], d["affected"] / d["total"], model="LL.2", type="binomial", weights=d["total"])
    t = d[d["dose"] > 0]
    glm = sm.GLM(np.column_stack([t["affected"], t["total"] - t["affected"]]),
                 sm.add_constant(np.log(t["dose"].to_numpy())), family=sm.families.Binomial()).fit()
    assert fit.params["b"] == pytest.approx(-glm.params[1], rel=1e-4)
    assert fit.params["e"] == pytest.approx(np.exp(-glm.params[0] / glm.params[1]), rel=1e-4)
    # SE of b: logistic regression's slope SE (observed = expected information here)
    assert fit.se["b"] == pytest.approx(glm.bse[1], rel=1e-3)
    assert fit.lack_of_fit()["test"] == "Pearson chi2"


def test_earthworms_ll3_binomial_converges(mirror):
    d = pk.data.load("drc_classic_doseresponse", name="earthworms")
    fit = fit_curve(d["dose"], d["number"] / d["total"], model="LL.3", type="binomial", weights=d["total"])
    assert fit.converged
    assert 0 < fit.params["d"] < 1 and fit.params["e"] > 0
    assert np.isfinite(fit.aic)


PLANTED = {
    "LL.2": {"b": 1.5, "e": 2.0},
    "LL.3": {"b": 2.0, "d": 5.0, "e": 2.0},
    "LL.4": {"b": 2.0, "c": 1.0, "d": 6.0, "e": 2.0},
    "LL.5": {"b": 1.5, "c": 1.0, "d": 6.0, "e": 2.0, "f": 0.5},
    "W1.4": {"b": 1.5, "c": 1.0, "d": 6.0, "e": 2.0},
    "W2.4": {"b": -1.5, "c": 1.0, "d": 6.0, "e": 2.0},
    "Hill": {"b": 1.5, "c": 1.0, "d": 6.0, "e": 2.0},
}


@pytest.mark.parametrize("model", list(PLANTED))
def test_every_model_round_trips_planted_parameters(model):
    truth = PLANTED[model]
    data = pk.data.simulate_dose_table(model=model, params=truth, doses=np.geomspace(0.05, 80, 12),
                                       n_rep=6, noise_sd=0.01, seed=1)
    fit = fit_curve(data["dose"], data["response"], model=model)
    assert fit.converged, fit.message
    for name, value in truth.items():
        tol = 0.1 if name == "f" else 0.03
        assert fit.params[name] == pytest.approx(value, rel=tol, abs=0.02), (model, name, fit.params)
    # the 95% interval of e covers the truth
    ed_truth = float(pk.dose.get_model(model).ed(np.array([truth[p] for p in fit.model.free]), 50))
    ed = fit.ed(50).iloc[0]
    assert ed["lower"] <= ed_truth <= ed["upper"]


@pytest.mark.parametrize("model", list(PLANTED))
@pytest.mark.parametrize("p", [10.0, 50.0, 90.0])
def test_ed_inverts_the_curve(model, p):
    m = pk.dose.get_model(model)
    for sign in (1.0, -1.0):
        truth = dict(PLANTED[model])
        truth["b"] = sign * abs(truth["b"])
        theta = np.array([truth[n] for n in m.free])
        x = float(m.ed(theta, p))
        y0 = float(m(np.array([0.0]), theta)[0])
        yinf = float(m(np.array([1e12]), theta)[0])
        y = float(m(np.array([x]), theta)[0])
        assert (y - y0) / (yinf - y0) == pytest.approx(p / 100, abs=1e-6)


@pytest.mark.parametrize("model", list(PLANTED))
def test_jacobian_matches_finite_differences(model):
    m = pk.dose.get_model(model)
    theta = np.array([PLANTED[model][n] for n in m.free])
    x = np.array([0.0, 0.1, 1.0, 2.0, 5.0, 50.0])
    jac = m.jacobian(x, theta)
    num = np.empty_like(jac)
    for j in range(theta.size):
        h = 1e-6 * max(abs(theta[j]), 1)
        up, dn = theta.copy(), theta.copy()
        up[j] += h
        dn[j] -= h
        num[:, j] = (m(x, up) - m(x, dn)) / (2 * h)
    np.testing.assert_allclose(jac, num, rtol=1e-5, atol=1e-7)


def test_hill_is_ll4_with_flipped_slope():
    d = pk.data.simulate_dose_table(seed=3)
    ll4 = fit_curve(d["dose"], d["response"], model="LL.4")
    hill = fit_curve(d["dose"], d["response"], model="Hill")
    assert hill.params["b"] == pytest.approx(-ll4.params["b"], rel=1e-5)
    assert hill.params["e"] == pytest.approx(ll4.params["e"], rel=1e-5)
    assert hill.aic == pytest.approx(ll4.aic, rel=1e-8)


def test_ll4_reports_c_below_d_for_rising_curves():
    d = pk.data.simulate_dose_table(params={"b": -2.0, "c": 1.0, "d": 6.0, "e": 3.0}, seed=0)
    fit = fit_curve(d["dose"], d["response"], model="LL.4")
    assert fit.params["c"] < fit.params["d"] and fit.params["b"] < 0


def test_absolute_dose_and_relative_ed_differ_when_floor_is_high():
    d = pk.data.simulate_dose_table(params={"b": 1.0, "c": 0.7, "d": 1.0, "e": 1.0}, noise_sd=0.01,
                                    doses=np.r_[0, np.geomspace(0.05, 50, 10)], seed=0)
    fit = fit_curve(d["dose"], d["response"])
    assert fit.ed(50).iloc[0]["estimate"] == pytest.approx(1.0, rel=0.1)
    ab = fit.dose_at(0.5).iloc[0]
    assert not ab["reached"] and np.isnan(ab["estimate"])
    reached = fit.dose_at(0.85).iloc[0]
    assert reached["reached"] and reached["estimate"] == pytest.approx(1.0, rel=0.1)
    log_ci = fit.ed(50, interval="log-delta").iloc[0]
    assert log_ci["lower"] > 0


def test_result_is_deterministic():
    d = pk.data.simulate_dose_table(seed=5)
    a = fit_curve(d["dose"], d["response"])
    b = fit_curve(d["dose"], d["response"])
    pd.testing.assert_series_equal(a.params, b.params)


@pytest.mark.parametrize(
    ("dose", "response", "match"),
    [
        ([0, 1, 2, np.nan], [1, 2, 3, 4], "dose has 1 NaN"),
        ([0, 1, -2, 3], [1, 2, 3, 4], "negative"),
        ([1, 1, 1, 1], [1, 2, 3, 4], "single level"),
        ([0, 1, 2, 3], [2, 2, 2, 2], "constant"),
        ([0, 1, 2], [1, 2, 3, 4], "lengths differ"),
        ([0, 1, 2, 3], [1, 2, np.inf, 4], "response has 1 NaN or infinite"),
        ([0, 1, 2, 0, 1, 2], [1, 2, 3, 1, 2, 3], "3 distinct levels but the model estimates 4"),
    ],
)
def test_bad_input_raises_clear_error(dose, response, match):
    with pytest.raises(ValueError, match=match):
        fit_curve(dose, response, model="LL.4")


def test_bad_options_raise():
    d = pk.data.simulate_dose_table(seed=0)
    with pytest.raises(ValueError, match="unknown dose-response model"):
        fit_curve(d["dose"], d["response"], model="LL.9")
    with pytest.raises(ValueError, match="binomial response must be proportions"):
        fit_curve(d["dose"], d["response"], model="LL.2", type="binomial")
    with pytest.raises(ValueError, match="cannot fix"):
        fit_curve(d["dose"], d["response"], model="LL.3", fixed={"c": 0.0})


def test_non_convergence_is_reported_not_a_number():
    d = pk.data.simulate_dose_table(seed=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fit = fit_curve(d["dose"], d["response"], model="LL.4", max_nfev=2)
    assert not fit.converged
    assert fit.params.isna().all() and fit.se.isna().all() and np.isnan(fit.aic)
    assert np.isnan(fit.ed(50).iloc[0]["estimate"])
    assert "optimiser stopped" in fit.message


def test_unidentifiable_curve_is_not_converged():
    # a straight decline: the lower limit runs off, e leaves the dose range
    x = np.repeat([0.0, 1, 2, 4, 8, 16], 3)
    y = 10 - 0.3 * x + np.tile([0.01, -0.01, 0.0], 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = fit_curve(x, y, model="LL.4")
    if not fit.converged:
        assert fit.params.isna().all()
    else:  # if it does converge, it must be an honest, finite fit within the dose range
        assert np.isfinite(fit.se).all()


def test_lack_of_fit_with_identical_replicates_is_defined() -> None:
    """Replicates that agree exactly (zero pure error) gave a ZeroDivisionError; a misfit is
    then infinitely significant (F = inf, p = 0), as the F statistic's limit."""
    dose = np.repeat([0.0, 0.1, 1.0, 10.0, 100.0], 3)
    response = np.repeat([1.0, 0.75, 0.5, 0.25, 0.5], 3)  # exact binary fractions; non-monotone: LL.2 misfits
    fit = pk.dose.fit_curve(dose, response, "LL.2")
    lof = fit.lack_of_fit()
    assert lof["statistic"] == np.inf and lof["pvalue"] == 0.0, lof
