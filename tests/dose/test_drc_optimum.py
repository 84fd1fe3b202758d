"""Every mirrored drc dataset: LL.4, LL.5, W1.4 and W2.4 fits reach the least-squares (or
binomial maximum-likelihood) optimum that a 200-start scipy search finds.

The reference search is independent of perturbkit's fitters: its own parameterisation
(``d = c + exp(g)`` for the asymmetric families, so the limits stay in drc's order
``c <= d``; log e and log f), random starts over the observed ranges and scipy's
``least_squares`` (continuous) or ``minimize`` (binomial). An optimum counts only if its
``e`` lies within 1000x of the tested doses, the rule :func:`perturbkit.dose.fit_curve`
applies; a fit that reports "not converged" must correspond to a search that finds no such
optimum either.

Status (2026-12-06, after the c <= d parameterisation, the correlation-scale singularity check
and the clipped binomial likelihood): measured curve by curve against the logged 200-start
values, 251 of 313 (curve, model) fits agree (was 149); the full slow run was not completed
in that session. The remaining 62 misses are not recorded in KNOWN_MISSES because most are
fitter defects, not unidentifiable data: drc 3.2-0 (GitHub source) fits them, and on the
binomial sets (H.virescens, daphnids, selenium) drc finds lower negative log-likelihoods than
both perturbkit and this 200-start search (e.g. H.virescens F LL.4 57.10 vs 79.88); the
continuous ridge cases (O.mykiss, P.promelas: c -> -inf) exhaust max_nfev.
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
# and why: these run as strict xfails, so a fix shows up as an unexpected pass.
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


def _reference(model: str, x, y, n, rng):
    """Best converged, plausible objective over N_STARTS random starts, in an independent
    parameterisation (inf when no start converges to an optimum with e near the doses)."""
    m = pk.dose.get_model(model)
    ordered = m.ordered
    pos = x[x > 0]
    lo_e, hi_e = np.log(pos.min()), np.log(pos.max())
    span = max(np.ptp(y), 1e-3)

    def theta(p):
        b, c, g, le = p[:4]
        d = c + np.exp(g) if ordered else g
        t = [b, c, d, np.exp(le)]
        if "f" in m.free:
            t.append(np.exp(p[4]))
        return np.array(t)

    def resid(p):
        return m(x, theta(p)) - y

    def nll(p):
        mu = np.clip(m(x, theta(p)), 1e-12, 1 - 1e-12)
        return -float(np.sum(n * (y * np.log(mu) + (1 - y) * np.log1p(-mu))))

    best = np.inf
    for _ in range(N_STARTS):
        c0 = rng.uniform(y.min() - 0.5 * span, y.max())
        d0 = c0 + span * np.exp(rng.uniform(-1, 1))
        p0 = [rng.choice([-1, 1]) * np.exp(rng.uniform(np.log(0.2), np.log(10))), c0,
              np.log(d0 - c0) if ordered else d0, rng.uniform(lo_e - 1, hi_e + 1)]
        if "f" in m.free:
            p0.append(rng.uniform(np.log(0.1), np.log(10)))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if n is None:
                    r = optimize.least_squares(resid, p0, method="lm", max_nfev=600)
                    value, p, converged = 2 * r.cost, r.x, r.status > 0
                else:
                    r = optimize.minimize(nll, p0, method="Nelder-Mead",
                                          options={"maxiter": 3000, "xatol": 1e-9, "fatol": 1e-12})
                    r = optimize.minimize(nll, r.x, method="BFGS")
                    value, p, converged = r.fun, r.x, r.success or np.linalg.norm(r.jac) < 1e-4
            except (ValueError, FloatingPointError):
                continue
        if not converged:  # a start running off along a ridge has not found an optimum
            continue
        with np.errstate(all="ignore"):
            t = theta(p)
        if np.all(np.isfinite(t)) and pos.min() / 1e3 <= t[3] <= pos.max() * 1e3 and value < best:
            best = value
    return best


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


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "model"), _params())
def test_fit_reaches_the_many_start_optimum(mirror, dataset, model):
    rng = np.random.default_rng(0)
    misses = []
    for name, group, x, y, n in (c for c in _curves() if c[0] == dataset):
        if np.unique(x).size < len(pk.dose.get_model(model).free) + 1:
            continue  # fewer dose levels than parameters + 1: no residual degree of freedom
        fit, ours = _ours(model, x, y, n)
        ref = _reference(model, x, y, n, rng)
        tol = 1e-6 * max(abs(ref), 1e-8) + 1e-9
        if fit.converged:
            ok = ours <= ref + tol
            detail = f"ours {ours:.8g} vs many-start {ref:.8g}"
        else:
            ok = not np.isfinite(ref)
            detail = f"not converged ({fit.message}); many-start found {ref:.8g}"
        if not ok:
            misses.append((name, group, model, detail))
    assert not misses, misses
