"""Every mirrored drc dataset: LL.4, LL.5, W1.4 and W2.4 fits reach the least-squares (or
binomial maximum-likelihood) optimum that a 200-start scipy search finds.

The reference search is independent of perturbkit's fitters: its own parameterisation
(``d = c + exp(g)`` for the asymmetric families, so the limits stay in drc's order
``c <= d``; log e and log f; for binomial data drc's own parameters with ``c <= d`` as a
constraint), drc-style self-starts plus random starts over the observed ranges, and scipy's
``least_squares`` (continuous) or SLSQP (binomial), each candidate polished with tight
tolerances. An optimum counts only if its ``e`` lies within 1000x of the tested doses, the
rule :func:`perturbkit.dose.fit_curve` applies.

What a pass means. A converged fit is at least as good as every optimum the search finds. A
fit reported "not converged" holds a point (its last iterate) at least as good as the search's
optimum: either below it on a ridge (the objective keeps falling as e or f run off, or a limit
runs far beyond the data, so no finite optimum exists and the search's "optimum" is only local),
or at it where the parameters are not identifiable (singular information); a budget stop must be
strictly below it. LL.5 contains LL.4 (f = 1), so both the fitter and the search start LL.5 from
LL.4's optimum. Binomial curves are probabilities: their limits are held in [0, 1] by both (drc
lets them leave [0, 1] and clips, which made H.virescens "fit" with c = -44).

Status (2026-12-07, session 6): the full slow run (``pytest --runslow``, 117 items: the 116
(dataset, model) cases and the coverage check) passes, measured on the landed fitter in
two shards of 76 and 41 items (244 s and 560 s at load average ~3); KNOWN_MISSES is empty. Measured against drc 3.2-0 (its values were recorded in KNOWN_MISSES,
benchmarks/drc_optimum_reference.R), every case where drc's fit was lower than ours now ends
at or below drc's: P.promelas LL.5 0.061512 (drc 0.061664, a ridge), nasturtium LL.5 118,181
(drc 118,459, a ridge), G.aparine LL.5 curve 1 converged 2,024,238 (drc 2,025,560) and curve 2
696,896 (drc 699,095, a ridge), decontaminants oxalic LL.4 / W1.4 / W2.4 5,348.9 / 5,347.1 /
5,388.0 (drc 5,503.5 / 5,377.3 / 5,484.3, ridges), glymet W2.4 0.24610 (drc 0.26674), mecter
W2.4 0.023812 (drc 0.028288), O.mykiss W2.4 18.0095 (drc 18.0776, a budget stop on a ridge).
What fixed them: LL.5 starts from LL.4's optimum and skewed copies of it; steep-step starts
between adjacent doses (metals ZnHg LL.4, a hormetic curve: 64,338 -> 63,439); a retry with a
small first step where Levenberg-Marquardt ends above its start; ridge attempts kept as
evidence, so a valid optimum beaten by a ridge is reported as local, not as the fit; the
lowest attempt continues past its per-start budget (spinach and finney71 LL.5); bounded
binomial limits. The binomial LL.5 cases take 10-60 s each.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import optimize

import perturbkit as pk

MODELS = ("LL.4", "LL.5", "W1.4", "W2.4")
N_STARTS = 200

# dataset -> (dose, response, group column or None, totals column for binomial data or None).
# Mixture datasets (acidiq, glymet, mecter) hold one dose series per mixture ratio `pct`
# sharing the untreated rows (pct 999); each series gets those rows as its dose 0.
CURVES = {
    "ryegrass": ("conc", "rootl", None, None),
    "S.alba": ("Dose", "DryMatter", "Herbicide", None),
    "M.bahia": ("conc", "dryweight", None, None),
    "O.mykiss": ("conc", "weight", None, None),
    "P.promelas": ("conc", "dryweight", None, None),
    "S.capricornutum": ("conc", "count", None, None),
    "algae": ("conc", "vol", None, None),
    "lettuce": ("conc", "weight", None, None),
    "lepidium": ("conc", "weight", None, None),
    "nasturtium": ("conc", "weight", None, None),
    "leaflength": ("Dose", "DW", None, None),
    "secalonic": ("dose", "rootl", None, None),
    "terbuthylazin": ("dose", "rgr", None, None),
    "heartrate": ("pressure", "rate", None, None),
    "G.aparine": ("dose", "drymatter", "treatment", None),
    "spinach": ("DOSE", "SLOPE", "CURVE", None),
    "metals": ("conc", "BIF", "metal", None),
    "vinclozolin": ("conc", "effect", "exper", None),
    "methionine": ("dose", "gain", "product", None),
    "decontaminants": ("conc", "count", "group", None),
    "acidiq": ("dose", "rgr", "pct", None),
    "glymet": ("dose", "rgr", "pct", None),
    "mecter": ("dose", "rgr", "pct", None),
    "earthworms": ("dose", "number", None, "total"),
    "finney71": ("dose", "affected", None, "total"),
    "H.virescens": ("dose", "numdead", "sex", "total"),
    "daphnids": ("dose", "no", "time", "total"),
    "deguelin": ("dose", "r", None, "n"),
    "selenium": ("conc", "dead", "type", "total"),
}

# Not single dose-response curves, with the reason (the test below checks this list is complete).
EXCLUDED = {
    "RScompetition": "a competition design: biomass against the densities of two species, not a dose series",
    "chickweed": "event-time data (germination intervals), fitted by drc's type='event'",
    "chickweed0": "event-time data (germination times), fitted by drc's type='event'",
    "germination": "event-time data (germination intervals per temperature and species)",
    "auxins": "a factorial of herbicide (h) and formulation (w) with replicate runs (r): drc fits it "
              "with curve-specific and shared parameters, not as independent curves",
    "etmotc": "one row per cell of a mixture experiment with 57 'cells' of one observation each; the "
              "curves are defined by the mixture design, fitted jointly in drc",
}

# (dataset, model) -> reason, for a case where perturbkit's fit does not reach the many-start
# optimum on some curve: it runs as a strict xfail, so a fix shows up as an unexpected pass.
# Give the objectives (RSS, or the clipped negative log-likelihood without the binomial
# coefficients) of ours, the search and drc 3.2-0 (benchmarks/drc_optimum_reference.R). Empty
# since session 6: every case passes.
KNOWN_MISSES: dict[tuple[str, str], str] = {}


def _curves():
    data = pk.data.load("drc_classic_doseresponse")
    out = []
    for name, (dcol, rcol, gcol, ncol) in CURVES.items():
        table = data[name]
        if gcol is None:
            groups = [("all", table)]
        elif name in ("acidiq", "glymet", "mecter"):
            ctrl = table[table[gcol] == 999]
            groups = [(str(g), sub._append(ctrl)) for g, sub in table[table[gcol] != 999].groupby(gcol)]
        else:
            groups = [(str(g), sub) for g, sub in table.groupby(gcol, observed=True)]
        for g, sub in groups:
            sub = sub.dropna(subset=[dcol, rcol])  # O.mykiss has missing weights
            x = sub[dcol].to_numpy(float)
            y = sub[rcol].to_numpy(float)
            n = None if ncol is None else sub[ncol].to_numpy(float)
            out.append((name, g, x, y if n is None else y / n, n))
    return out


def _self_starts(model: str, x, y, binomial: bool) -> list[tuple[float, float, float, float, float]]:
    """drc's self-starter, written out here: limits just beyond the observed responses, ``b``
    and ``e`` from a straight line of the linearised response on log dose (drc's
    ``llogistic.ssf`` / ``weibull1.ssf`` / ``weibull2.ssf``), in both orientations; for binomial
    data also with the limits held inside [0, 1], where a probability must lie."""
    fam = pk.dose.get_model(model).family
    pos = x > 0
    lx = np.log(x[pos])
    lo, hi = float(y.min()), float(y.max())
    pad = 0.001 * (hi - lo) + 1e-6
    limits = [(lo - pad, hi + pad)]
    if binomial:
        limits.append((max(lo - pad, 0.0), min(hi + pad, 1.0)))
        limits.append((0.0, 1.0))
    out = []
    for c0, d0 in limits:
        h = np.clip((y[pos] - c0) / (d0 - c0), 0.01, 0.99)
        z = {"LL": np.log(1 / h - 1), "W1": np.log(-np.log(h)), "W2": np.log(-np.log(1 - h))}[fam]
        if np.ptp(lx) == 0:
            continue
        slope, icpt = np.polyfit(lx, z, 1)
        if not np.isfinite(slope) or abs(slope) < 1e-3:
            slope, icpt = 1.0, -np.mean(lx)
        le = float(np.clip(-icpt / slope, lx.min() - 3, lx.max() + 3))
        out += [(slope, c0, d0, le, 0.0), (-slope, c0, d0, le, 0.0)]
    return out


def _reference_binomial(model: str, x, y, n, rng, extra=(), n_starts: int = N_STARTS):
    """The binomial search: the clipped likelihood over curves whose limits lie in [0, 1]
    (the domain perturbkit's binomial fits keep, where a curve is a probability), in drc's
    own parameters (b, c, d, log e, log f) with ``c <= d`` as a linear constraint for the
    ordered families, by SLSQP: another parameterisation and optimiser than perturbkit's."""
    m = pk.dose.get_model(model)
    pos = x[x > 0]
    lo_e, hi_e = np.log(pos.min()), np.log(pos.max())
    has_f = "f" in m.free
    k = len(m.free)
    ic, id_, ie = m.free.index("c"), m.free.index("d"), m.free.index("e")

    def theta(p):
        t = np.array(p, float).copy()
        t[ie] = np.exp(min(p[ie], 700.0))
        if has_f:
            t[4] = np.exp(min(p[4], 700.0))
        return t

    def nll(p):
        with np.errstate(all="ignore"):
            mu = np.clip(m(x, theta(p)), 1e-12, 1 - 1e-12)
        return -float(np.sum(n * (y * np.log(mu) + (1 - y) * np.log1p(-mu))))

    def grad(p):
        t = theta(p)
        with np.errstate(all="ignore"):
            raw = m(x, t)
            mu = np.clip(raw, 1e-12, 1 - 1e-12)
            inside = (raw > 1e-12) & (raw < 1 - 1e-12)
            jac = m.jacobian(x, t, log_e=True)
            g = -((inside * n * (y - mu) / (mu * (1 - mu))) @ jac)
        return np.where(np.isfinite(g), g, 0.0)

    bounds = [(None, None)] * k
    bounds[ic] = bounds[id_] = (0.0, 1.0)
    cons = [{"type": "ineq", "fun": lambda p: p[id_] - p[ic],
             "jac": lambda p: np.eye(k)[id_] - np.eye(k)[ic]}] if m.ordered else []

    starts = []
    for t0 in extra:
        b0, c0, d0, e0 = t0[:4]
        if c0 > d0:
            b0, c0, d0 = -b0, d0, c0
        starts.append([b0, c0, d0, np.log(e0)] + ([np.log(t0[4]) if len(t0) > 4 else 0.0] if has_f else []))
    for b0, c0, d0, le0, lf0 in _self_starts(model, x, y, True):
        p0 = [b0, np.clip(c0, 0, 1), np.clip(d0, 0, 1), le0]
        starts += [p0 + [lf] for lf in (lf0, np.log(0.3), np.log(3.0))] if has_f else [p0]
    for _ in range(n_starts):
        c0, d0 = np.sort(rng.uniform(0, 1, 2))
        p0 = [rng.choice([-1, 1]) * np.exp(rng.uniform(np.log(0.2), np.log(10))), c0, d0,
              rng.uniform(lo_e - 1, hi_e + 1)]
        if has_f:
            p0.append(rng.uniform(np.log(0.1), np.log(10)))
        starts.append(p0)

    def plausible(p):
        t = theta(p)
        return bool(np.all(np.isfinite(t)) and pos.min() / 1e3 <= t[ie] <= pos.max() * 1e3
                    and (not has_f or 1e-6 < t[4] < 1e6))

    def solve(p0, ftol, maxiter):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                r = optimize.minimize(nll, np.asarray(p0, float), jac=grad, method="SLSQP", bounds=bounds,
                                      constraints=cons, options={"ftol": ftol, "maxiter": maxiter})
            except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                return np.inf, None, False
        return r.fun, r.x, bool(r.success and np.all(np.isfinite(r.x)))

    found = []
    for p0 in starts:
        value, p, ok = solve(p0, 1e-10, 500)
        if ok and plausible(p):
            found.append((value, tuple(p)))
    # polish the best candidates; a point that walks on (e or f off the band) is no optimum
    for value, p in sorted(found)[:10]:
        polished, q, ok = solve(p, 1e-15, 3000)
        if not ok:  # SLSQP stalls at a kink of the clipped likelihood: keep the candidate
            polished, q, ok = value, np.array(p), True
        if ok and plausible(q):
            return min(value, polished), theta(q)
    return np.inf, None


def _reference(model: str, x, y, n, rng, extra=(), n_starts: int = N_STARTS):
    """Best converged, plausible objective over drc-style self-starts and N_STARTS random
    starts, in an independent parameterisation (inf when no start converges to an optimum
    with e near the doses)."""
    if n is not None:
        return _reference_binomial(model, x, y, n, rng, extra, n_starts)
    m = pk.dose.get_model(model)
    ordered = m.ordered
    pos = x[x > 0]
    lo_e, hi_e = np.log(pos.min()), np.log(pos.max())
    span = max(np.ptp(y), 1e-3)
    has_f = "f" in m.free

    def theta(p):
        b, c, g, le = p[:4]
        d = c + np.exp(min(g, 700.0)) if ordered else g
        t = [b, c, d, np.exp(min(le, 700.0))]
        if has_f:
            t.append(np.exp(min(p[4], 700.0)))
        return np.array(t)

    def dtheta(p):
        """d theta / d p (the chain rule of the parameterisation above)."""
        t = theta(p)
        jac = np.eye(len(p))
        if ordered:
            jac[2, 1], jac[2, 2] = 1.0, t[2] - t[1]
        jac[3, 3] = t[3]
        if has_f:
            jac[4, 4] = t[4]
        return jac

    def resid(p):
        return m(x, theta(p)) - y

    def jac(p):
        return m.jacobian(x, theta(p)) @ dtheta(p)

    def nll(p):
        mu = np.clip(m(x, theta(p)), 1e-12, 1 - 1e-12)
        return -float(np.sum(n * (y * np.log(mu) + (1 - y) * np.log1p(-mu))))

    def grad(p):  # gradient of the clipped likelihood: clipped observations do not move
        raw = m(x, theta(p))
        mu = np.clip(raw, 1e-12, 1 - 1e-12)
        inside = (raw > 1e-12) & (raw < 1 - 1e-12)
        return -((inside * n * (y - mu) / (mu * (1 - mu))) @ jac(p))

    starts = []
    for t0 in extra:  # given curves on drc's scale (b, c, d, e[, f]), e.g. LL.4's optimum for LL.5
        b0, c0, d0, e0 = t0[:4]
        if c0 > d0 and model.startswith("LL"):  # for f = 1, (b, c, d) -> (-b, d, c) is the same curve
            b0, c0, d0 = -b0, d0, c0
        p0 = [b0, c0, np.log(max(d0 - c0, 1e-12)) if ordered else d0, np.log(e0)]
        starts.append(p0 + [np.log(t0[4]) if len(t0) > 4 else 0.0] if has_f else p0)
    for b0, c0, d0, le0, lf0 in _self_starts(model, x, y, n is not None):
        if ordered and d0 <= c0:
            continue
        p0 = [b0, c0, np.log(d0 - c0) if ordered else d0, le0]
        starts += [p0 + [lf] for lf in (lf0, np.log(0.3), np.log(3.0))] if has_f else [p0]
    for _ in range(n_starts):
        c0 = rng.uniform(y.min() - 0.5 * span, y.max())
        d0 = c0 + span * np.exp(rng.uniform(-1, 1))
        p0 = [rng.choice([-1, 1]) * np.exp(rng.uniform(np.log(0.2), np.log(10))), c0,
              np.log(d0 - c0) if ordered else d0, rng.uniform(lo_e - 1, hi_e + 1)]
        if has_f:
            p0.append(rng.uniform(np.log(0.1), np.log(10)))
        starts.append(p0)

    def solve(p0):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if n is None:
                    r = optimize.least_squares(resid, p0, jac=jac, method="lm", max_nfev=600)
                    return 2 * r.cost, r.x, r.status > 0
                r = optimize.minimize(nll, p0, jac=grad, method="BFGS", options={"gtol": 1e-8, "maxiter": 2000})
                # a stop at a kink of the clipped likelihood stays a candidate: the polish below
                # goes on without derivatives
                return r.fun, r.x, bool(np.all(np.isfinite(r.x)))
            except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                return np.inf, None, False

    def plausible(p):
        with np.errstate(all="ignore"):
            t = theta(p)
        return bool(np.all(np.isfinite(t)) and pos.min() / 1e3 <= t[3] <= pos.max() * 1e3)

    found = []
    for p0 in starts:
        value, p, converged = solve(p0)
        # a start running off along a ridge has not found an optimum
        if converged and plausible(p):
            found.append((value, tuple(p)))
    # A stop by a relative tolerance can also happen on a ridge that keeps falling (e.g.
    # c -> -inf with e -> inf): polish each candidate, best first, with tight tolerances; a
    # genuine optimum stops by a tiny step, a ridge point walks on until the budget runs out
    # or e leaves the doses, and is no optimum.
    for value, p in sorted(found)[:20]:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if n is None:
                    r = optimize.least_squares(resid, np.array(p), jac=jac, method="lm", xtol=1e-14,
                                               ftol=1e-14, gtol=1e-14, max_nfev=3000)
                    polished, q, ok = 2 * r.cost, r.x, r.status > 0
                else:
                    r = optimize.minimize(nll, np.array(p), jac=grad, method="BFGS",
                                          options={"gtol": 1e-12, "maxiter": 3000})
                    polished, q = r.fun, r.x
                    ok = r.nit < 3000 and (r.success or np.max(np.abs(grad(r.x))) < 1e-6)
                    if not ok:  # a kink of the clipped likelihood: polish without derivatives
                        r = optimize.minimize(nll, q, method="Nelder-Mead", options={
                            "maxiter": 4000, "xatol": 1e-10, "fatol": 1e-12, "adaptive": True})
                        polished, q, ok = min(polished, r.fun), r.x, r.success
            except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                continue
        if ok and plausible(q):
            return min(value, polished), theta(q)
    return np.inf, None


def _ours(model: str, x, y, n):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pk.dose.ConvergenceWarning)
        if n is None:
            fit = pk.dose.fit_curve(x, y, model)
            return fit, fit.rss
        fit = pk.dose.fit_curve(x, y, model, type="binomial", weights=n)
        mu = np.clip(fit.predict(x), 1e-12, 1 - 1e-12)
        return fit, -float(np.sum(n * (y * np.log(mu) + (1 - y) * np.log1p(-mu))))


def test_every_mirrored_drc_dataset_is_covered(mirror):
    names = set(pk.data.load("drc_classic_doseresponse"))
    assert names == set(CURVES) | set(EXCLUDED), names ^ (set(CURVES) | set(EXCLUDED))


def _params():
    out = []
    for dataset in CURVES:
        for model in MODELS:
            reason = KNOWN_MISSES.get((dataset, model))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(dataset, model, marks=marks, id=f"{dataset}-{model}"))
    return out


def _objective(model: str, x, y, n, theta) -> float:
    """RSS (continuous) or the clipped negative log-likelihood (binomial) at ``theta``."""
    m = pk.dose.get_model(model)
    with np.errstate(all="ignore"):
        if n is None:
            return float(np.sum((m(x, theta) - y) ** 2))
        mu = np.clip(m(x, theta), 1e-12, 1 - 1e-12)
        return -float(np.sum(n * (y * np.log(mu) + (1 - y) * np.log1p(-mu))))


def check_curve(model: str, x, y, n, rng, n_starts: int = N_STARTS) -> tuple[bool, str]:
    """Whether perturbkit's fit of one curve is at the many-start optimum, and the numbers.

    A converged fit must be at least as good as every optimum the search finds. A fit that
    reports "not converged" must hold a point at least as good as that optimum (its last
    iterate): then the search's optimum is beaten by a point with no finite optimum behind it
    (a ridge: the objective keeps falling as e, f or b run off) or matched at a point where the
    parameters are not identifiable (singular information), the two reasons the fitter
    refuses estimates. A fit that stopped on its budget must be strictly lower than the search's
    optimum, not merely at it (at it, it should have converged). LL.5 contains LL.4 (f = 1), so
    its search also starts from the LL.4 search's optimum."""
    extra = ()
    if model == "LL.5":
        _, t4 = _reference("LL.4", x, y, n, np.random.default_rng(0), n_starts=n_starts)
        extra = () if t4 is None else (tuple(t4),)
    fit, ours = _ours(model, x, y, n)
    ref, _ = _reference(model, x, y, n, rng, extra, n_starts)
    tol = 1e-6 * max(abs(ref), 1e-8) + 1e-9 if np.isfinite(ref) else 0.0
    if fit.converged:
        return ours <= ref + tol, f"ours {ours:.8g} vs many-start {ref:.8g}"
    last = np.array(list(fit.extras["last_iterate"].values()))
    at_last = _objective(model, x, y, n, last)
    budget = fit.message.startswith("optimiser stopped")
    ok = at_last < ref - tol if budget else at_last <= ref + tol
    return ok, (f"not converged ({fit.message}); many-start found {ref:.8g}; our last iterate "
                f"{at_last:.8g} at {fit.extras['last_iterate']}")


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "model"), _params())
def test_fit_reaches_the_many_start_optimum(mirror, dataset, model):
    rng = np.random.default_rng(0)
    misses = []
    for name, group, x, y, n in (c for c in _curves() if c[0] == dataset):
        if np.unique(x).size < len(pk.dose.get_model(model).free) + 1:
            continue  # fewer dose levels than parameters + 1: no residual degree of freedom
        ok, detail = check_curve(model, x, y, n, rng)
        if not ok:
            misses.append((name, group, model, detail))
    assert not misses, misses


# One curve for each way a fit used to miss (session 6), checked in every run with a smaller
# search; the slow test above covers every curve with the full one.
REGRESSIONS = [
    ("metals", "ZnHg", "LL.4"),     # hormetic step: the self-start fell into the wrong side
    ("metals", "Cu", "LL.5"),       # near-step curve: the skewed (f = 0.03) optimum
    ("mecter", "25", "LL.5"),       # a local optimum at 7x LL.4's RSS while a ridge goes lower
    ("O.mykiss", "all", "W2.4"),    # a local optimum drc beat
    ("spinach", "3", "LL.5"),       # at the optimum but out of budget
    ("H.virescens", "F", "LL.4"),   # binomial limits leaving [0, 1] (c = -44)
]


@pytest.mark.parametrize(("dataset", "group", "model"), REGRESSIONS, ids=["-".join(r) for r in REGRESSIONS])
def test_former_misses_reach_the_optimum(mirror, dataset, group, model):
    curve = next(c for c in _curves() if c[0] == dataset and c[1] == group)
    ok, detail = check_curve(model, *curve[2:], np.random.default_rng(0), n_starts=N_STARTS)
    assert ok, detail
