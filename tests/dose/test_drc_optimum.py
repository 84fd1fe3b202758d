"""Every mirrored drc dataset: LL.4, LL.5, W1.4 and W2.4 fits reach the least-squares (or
binomial maximum-likelihood) optimum that a 200-start scipy search finds.

The reference search is independent of perturbkit's fitters: its own parameterisation
(``d = c + exp(g)`` for the asymmetric families, so the limits stay in drc's order
``c <= d``; log e and log f), random starts over the observed ranges and scipy's
``least_squares`` (continuous) or ``minimize`` (binomial). An optimum counts only if its
``e`` lies within 1000x of the tested doses, the rule :func:`perturbkit.dose.fit_curve`
applies; a fit that reports "not converged" must correspond to a search that finds no such
optimum either.

Status (2026-12-07). The reference now also starts from drc-style self-start values (limits
inside [0, 1] for binomial data), uses analytic derivatives, and polishes every candidate with
tight tolerances, discarding ridge stops. drc 3.2-0 (built from its GitHub source with drcData)
fitted all 313 (curve, model) cases for comparison: where both converged, perturbkit's
objective was better than drc's by more than 1e-4 logLik on 112 cases (drc stops by a relative
tolerance) and worse on 2 (O.mykiss W2.4, still a miss; deguelin LL.5, fixed by refusing
probabilities clipped to 0/1 where the observed proportion is inside: logLik -80.62 -> -11.115,
drc -11.033, so the search is still too weak there). The full slow run did not fit in the session
(2 shared cores at load 12-15: 2-7 min per case); measured with this module's exact logic on the
cases that missed before: O.mykiss LL.4, deguelin LL.5 and W1.4 now pass, and the 22
(dataset, model) cases in KNOWN_MISSES fail for the reasons recorded there (10 ridges without an
optimum; heartrate LL.5's f -> inf limit; spinach and finney71 LL.5, where our optimiser reaches
the optimum but exhausts its budget; 9 fitter defects: local optima (O.mykiss W2.4, G.aparine LL.5) or curves
drc fits better than both). The pytest run itself confirmed secalonic-LL.5 (xfail) and
O.mykiss-LL.4 (pass) and, before the polish was added, ryegrass, S.alba, M.bahia (all four
models), S.capricornutum LL.4 and earthworms LL.4 (pass; the polish can only raise the
reference or drop it to "no optimum", so passes stay passes). Not yet measured with the new
reference: metals, vinclozolin, glymet and mecter LL.5, and the binomial H.virescens (LL.5, W1.4,
W2.4), daphnids and selenium cases that missed before; cases that passed before were not re-run.
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

# (dataset, model) where perturbkit's fit does not reach the many-start optimum on some curve,
# and why: these run as strict xfails, so a fix shows up as an unexpected pass. Objectives are
# the RSS (continuous) or the clipped negative log-likelihood (binomial, without the binomial
# coefficients); "drc" is drc 3.2-0's drm fit of the same curve with its defaults, evaluated
# with the same objective. "No optimum ... ridge": our fit's last iterate is below every stop
# of the search and still moving (c -> -inf, e -> inf or f -> 0), so no finite optimum exists
# and both drc and the search stop on the ridge by a relative tolerance. "drc is lower than
# both": a fitter defect still to fix, not a limit of the data.
KNOWN_MISSES: dict[tuple[str, str], str] = {
    ('O.mykiss', 'W2.4'): 'a local optimum (RSS 18.4289; many-start 18.0867; drc RSS 18.0776 at c=-0.868, d=2.75, e=53, SEs NaN) (drc is lower than both: a fitter and search defect, not a data limit)',
    ('P.promelas', 'LL.4'): 'no optimum: the RSS keeps falling along a ridge (our last iterate 0.0615118 at c=-1.51e+03, e=3.17e+07 is below the many-start stop 0.112748); drc RSS 0.0617005 at c=-0.769, d=0.71, e=3.32e+03',
    ('P.promelas', 'W2.4'): 'no optimum: the RSS keeps falling along a ridge (our last iterate 0.0620504 at c=-27, e=1.73e+07 is below the many-start stop 0.0767114); drc RSS 0.0643065 at c=0.0867, d=0.699, e=536',
    ('O.mykiss', 'LL.5'): 'no optimum: the RSS keeps falling along a ridge (our last iterate 17.958 at c=-71.5, e=3.9e+04 is below the many-start stop 20.6138); drc RSS 17.9668 at c=-5.92, d=2.77, e=135',
    ('O.mykiss', 'W1.4'): 'no optimum: the RSS keeps falling along a ridge (our last iterate 17.958 at c=-71.9, e=442 is below the many-start stop 20.0572); drc RSS 17.9682 at c=-1.77, d=2.77, e=85.7',
    ('P.promelas', 'LL.5'): 'not converged (e ran off beyond 1000x the tested dose range); our last iterate 0.21506, many-start 0.175202; drc RSS 0.0616642 at c=-3.01, d=0.71, e=2.41e+03 (drc is lower than both: a fitter and search defect, not a data limit)',
    ('P.promelas', 'W1.4'): 'no optimum: the RSS keeps falling along a ridge (our last iterate 0.0615199 at c=-12.3, e=7.62e+04 is below the many-start stop 0.175202); drc RSS 0.0618677 at c=0.159, d=0.709, e=954',
    ('lettuce', 'LL.5'): 'no optimum: the RSS keeps falling along a ridge (our last iterate 0.162861 at c=-0.552, e=1.09 is below the many-start stop 0.27702); drc RSS 0.165597 at c=-0.158, d=1.11, e=1.29',
    ('nasturtium', 'LL.5'): 'not converged (information matrix is singular); our last iterate 2.99934e+06, many-start 782013; drc RSS 118459 at c=149, d=900, e=10.5 (drc is lower than both: a fitter and search defect, not a data limit)',
    ('leaflength', 'LL.5'): 'no optimum: the RSS keeps falling along a ridge (our last iterate 928.627 at c=-20.8, e=1.17 is below the many-start stop 992.456); drc RSS 938.594 at c=-0.254, d=16.8, e=2.56',
    ('secalonic', 'LL.5'): 'no optimum: the RSS keeps falling along a ridge (our last iterate 0.11144 at c=0.347, e=2.62e+05 is below the many-start stop 0.7); drc RSS 0.120419 at c=0.338, d=5.58, e=0.359',
    ('heartrate', 'LL.5'): 'not converged (information matrix is singular); our last iterate 1414.71, many-start 1414.71; drc RSS 1442.12 at c=150, d=339, e=89.8; the limit f -> inf, where LL.5 becomes W1.4 (RSS 1414.7131)',
    ('decontaminants', 'LL.4'): 'oxalic: not converged (no start gave a finite fit); our last iterate nan, many-start 7237.34; drc RSS 5503.49 at c=-12.1, d=51.8, e=1.18 (drc is lower than both: a fitter and search defect, not a data limit)',
    ('decontaminants', 'W1.4'): 'oxalic: not converged (information matrix is singular); our last iterate 11088.4, many-start 9230.02; drc RSS 5377.27 at c=-46.5, d=51.7, e=56.2 (drc is lower than both: a fitter and search defect, not a data limit)',
    ('decontaminants', 'W2.4'): 'oxalic: not converged (information matrix is singular); our last iterate 18132.7, many-start 7662.77; drc RSS 5484.32 at c=-45.8, d=51.7, e=2.52 (drc is lower than both: a fitter and search defect, not a data limit)',
    ('earthworms', 'LL.5'): 'no optimum: the -logLik keeps falling along a ridge (our last iterate 100.991 at c=0.0239, e=3.7e+174 is below the many-start stop 137.509); drc -logLik 101.048 at c=0.024, d=0.562, e=1.88',
    ('spinach', 'LL.5'): '3: not converged (optimiser stopped without converging); our last iterate 0.0274375, many-start 0.0274375; drc RSS 0.0277321 at c=-0.123, d=1.08, e=0.0996; our optimiser ends at the optimum the search finds but exhausts its 500-evaluation budget',
    ('G.aparine', 'LL.5'): '1: a local optimum (RSS 2.02542e+06; many-start 2.02424e+06; drc RSS 2.02556e+06 at c=500, d=959, e=29.8); 2: not converged (information matrix is singular); our last iterate 1.34136e+07, many-start 2.03174e+06; drc RSS 699095 at c=165, d=1.09e+03, e=1.99e+03 (drc is lower than both: a fitter and search defect, not a data limit)',
    ('glymet', 'W2.4'): '0: not converged (information matrix is singular); our last iterate 3.66152, many-start 2.30894; drc RSS 0.26674 at c=-1.63, d=1.56, e=5.79e+05 (drc is lower than both: a fitter and search defect, not a data limit)',
    ('mecter', 'W2.4'): '25: not converged (information matrix is singular); our last iterate 0.31217, many-start 0.0751079; drc RSS 0.0282876 at c=-0.176, d=0.287, e=2.26e+04 (drc is lower than both: a fitter and search defect, not a data limit)',
    ('finney71', 'LL.5'): 'not converged (optimiser stopped without converging); our last iterate 119.184, many-start 119.184; drc -logLik 119.4 at c=-0.000802, d=0.886, e=6.35; our optimiser ends at the optimum the search finds but stops on its iteration budget',
    ('H.virescens', 'LL.4'): 'F: no optimum: the -logLik keeps falling along a ridge (our last iterate 56.1479 at c=-44.3, e=4.64e-10 is below the many-start stop 61.5528); drc -logLik 57.1034 at c=-0.000873, d=0.778, e=5.83; a ridge of the clipped likelihood, probabilities outside [0, 1] clipped',
}


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


def _reference_binomial(model: str, x, y, n, rng, extra=()):
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
    for _ in range(N_STARTS):
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


def _reference(model: str, x, y, n, rng, extra=()):
    """Best converged, plausible objective over drc-style self-starts and N_STARTS random
    starts, in an independent parameterisation (inf when no start converges to an optimum
    with e near the doses)."""
    if n is not None:
        return _reference_binomial(model, x, y, n, rng, extra)
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
    for _ in range(N_STARTS):
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


def check_curve(model: str, x, y, n, rng) -> tuple[bool, str]:
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
        _, t4 = _reference("LL.4", x, y, n, np.random.default_rng(0))
        extra = () if t4 is None else (tuple(t4),)
    fit, ours = _ours(model, x, y, n)
    ref, _ = _reference(model, x, y, n, rng, extra)
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
