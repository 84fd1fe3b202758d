"""Fit one dose-response curve the way drc does: least squares (continuous) or maximum
likelihood (binomial), standard errors from the information matrix, ED(p) by the delta
method, AIC, and drc's lack-of-fit tests."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._validate import check_finite, check_probability, check_same_length
from ._models import Model, get_model

__all__ = ["ConvergenceWarning", "DoseResponseFit", "check_dose_response", "fit_curve", "start_values"]


class ConvergenceWarning(RuntimeWarning):
    """A fit did not converge; its parameters are NaN, never a silent number."""


def check_dose_response(
    dose: Sequence[float] | np.ndarray,
    response: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
    *,
    n_params: int = 2,
    type: str = "continuous",  # noqa: A002 - drc's argument name
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate one curve's data; raise ``ValueError`` naming what is wrong.

    Checks: equal lengths, no NaN/inf, no negative dose, at least ``n_params`` distinct
    doses (a single dose level cannot show a response), a response that varies, and for
    ``type="binomial"`` proportions in [0, 1] with positive totals as ``weights``.
    """
    if weights is None:
        check_same_length(dose=dose, response=response)
    else:
        check_same_length(dose=dose, response=response, weights=weights)
    x = check_finite(dose, name="dose").ravel()
    y = check_finite(response, name="response").ravel()
    w = np.ones_like(x) if weights is None else check_finite(weights, name="weights").ravel()
    if x.size == 0:
        raise ValueError("dose and response are empty")
    if (x < 0).any():
        raise ValueError(f"dose has {int((x < 0).sum())} negative value(s) (min {x.min()}); doses must be >= 0")
    if (w <= 0).any():
        raise ValueError("weights must be > 0 (drop the observation instead of giving it weight 0)")
    levels = np.unique(x)
    if levels.size < 2:
        raise ValueError(f"dose has a single level ({levels[0]}): a dose-response curve needs several doses")
    if levels.size < n_params:
        raise ValueError(
            f"dose has {levels.size} distinct levels but the model estimates {n_params} parameters; "
            "use a model with fewer parameters (e.g. LL.3 or LL.2)"
        )
    if np.ptp(y) == 0:
        raise ValueError(f"response is constant ({y[0]}) across all doses: there is no curve to fit")
    if type == "binomial" and ((y < 0) | (y > 1)).any():
        raise ValueError("binomial response must be proportions in [0, 1] (pass the totals as weights)")
    return x, y, w


def _linearise(family: str, h: np.ndarray) -> np.ndarray:
    """Transform the fraction ``h`` of the way from ``c`` to ``d`` onto the ``u`` scale."""
    if family == "LL":
        return np.log(1.0 / h - 1.0)
    if family == "Hill":
        return np.log(h / (1.0 - h))
    if family == "W1":
        return np.log(-np.log(h))
    return np.log(-np.log(1.0 - h))


def start_values(model: Model, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Starting values for the free parameters: drc-style self-start plus two generic starts.

    The self-start takes the limits slightly beyond the observed range, linearises the
    response on the log-dose scale and reads ``b`` and ``e`` off a straight-line fit.
    """
    lo, hi = float(np.min(y)), float(np.max(y))
    pad = 0.001 * (hi - lo) + 1e-12
    c0 = model.fixed.get("c", lo - pad)
    d0 = model.fixed.get("d", hi + pad)
    if d0 <= c0:
        c0, d0 = d0 - pad, c0 + pad
    pos = x > 0
    gm = float(np.exp(np.mean(np.log(x[pos])))) if pos.any() else 1.0
    starts = []
    h = np.clip((y[pos] - c0) / (d0 - c0), 0.01, 0.99)
    if pos.sum() >= 2 and np.ptp(np.log(x[pos])) > 0:
        slope, intercept = np.polyfit(np.log(x[pos]), _linearise(model.family, h), 1)
        if np.isfinite(slope) and abs(slope) > 1e-3:
            e0 = float(np.exp(np.clip(-intercept / slope, np.log(x[pos].min()) - 3, np.log(x[pos].max()) + 3)))
            starts.append({"b": slope, "c": c0, "d": d0, "e": e0, "f": 1.0})
    # generic starts in both directions, so a curve the line fit misreads still has a chance
    for sign in (1.0, -1.0):
        starts.append({"b": sign, "c": c0, "d": d0, "e": gm, "f": 1.0})
    if model.ordered and pos.sum() >= 2:
        # asymmetric families keep c <= d, so the optimiser cannot reach the mirror-image
        # curve by crossing the limits: start it from both slopes at several inflections
        for q in (0.25, 0.75):
            eq = float(np.exp(np.quantile(np.log(x[pos]), q)))
            for sign in (2.0, -2.0):
                starts.append({"b": sign, "c": c0, "d": d0, "e": eq, "f": 1.0})
        if "f" in model.free:
            for f0 in (0.3, 3.0):
                for sign in (1.0, -1.0):
                    starts.append({"b": sign, "c": c0, "d": d0, "e": gm, "f": f0})
    # a steep step between two adjacent doses, in both directions: for a step-like or
    # non-monotone (hormetic) response the optimum sits near such a step, and the starts
    # above can all fall into the step on the wrong side (metals ZnHg: RSS 64338 vs 63439)
    # Only the two steps per direction closest to the data (lowest RSS) are tried: a step
    # in the wrong place is far from every optimum, and each start costs a whole fit.
    levels = np.unique(x[pos])
    mids = np.sqrt(levels[:-1] * levels[1:])
    for sign in (5.0, -5.0):
        steps = [{"b": sign, "c": c0, "d": d0, "e": float(em), "f": 1.0} for em in mids]
        with np.errstate(all="ignore"):
            rss = [float(np.sum((model(x, np.array([s[p] for p in model.free])) - y) ** 2)) for s in steps]
        starts += [steps[i] for i in np.argsort(rss, kind="stable")[:2]]
    return [np.array([s[p] for p in model.free]) for s in starts]


def _gap(model: Model) -> tuple[int, int] | None:
    """Indices of ``c`` and ``d`` when the optimiser works on ``log(d - c)`` instead of ``d``:
    for the :attr:`~Model.ordered` families, so every iterate keeps ``c <= d`` (drc's order,
    which keeps W1.4 and W2.4 distinct) instead of ending on the far side and being refused."""
    if model.ordered and {"c", "d"} <= set(model.free):
        return model.free.index("c"), model.free.index("d")
    return None


def _to_psi(model: Model, theta: np.ndarray) -> np.ndarray:
    """Optimiser scale: log e, log f, and log(d - c) for the ordered families.

    Works on one parameter vector ``(k,)`` or a batch ``(B, k)`` (the batched fitter uses the
    same scale, so :func:`fit_curve` and :func:`~perturbkit.dose.fit_curves` agree)."""
    theta = np.asarray(theta, float)
    psi = theta.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, p in enumerate(model.free):
            if p in ("e", "f"):
                psi[..., j] = np.log(theta[..., j])
        gap = _gap(model)
        if gap is not None:  # NaN when a start has d <= c: such a start is skipped
            psi[..., gap[1]] = np.log(theta[..., gap[1]] - theta[..., gap[0]])
    return psi


def _to_theta(model: Model, psi: np.ndarray) -> np.ndarray:
    psi = np.asarray(psi, float)
    theta = psi.copy()
    # exp is capped at e^700: a run-away iterate overflows to a huge finite value, not inf
    for j, p in enumerate(model.free):
        if p in ("e", "f"):
            theta[..., j] = np.exp(np.minimum(psi[..., j], 700.0))
    gap = _gap(model)
    if gap is not None:
        theta[..., gap[1]] = theta[..., gap[0]] + np.exp(np.minimum(psi[..., gap[1]], 700.0))
    return theta


def _jac_psi(model: Model, x: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """d response / d psi (the chain rule through :func:`_to_theta`), shape ``x.shape + (k,)``."""
    theta = _to_theta(model, psi)
    jac = model.jacobian(x, theta, log_e=True)
    gap = _gap(model)
    if gap is not None:
        ic, id_ = gap
        jac[..., ic] = jac[..., ic] + jac[..., id_]
        jac[..., id_] = jac[..., id_] * (theta[..., id_] - theta[..., ic])[..., None]
    return jac


@dataclass
class DoseResponseFit:
    """Result of :func:`fit_curve`.

    Attributes
    ----------
    model
        The fitted model (``model.name`` is drc's name, e.g. ``"LL.4"``).
    params, se
        Estimates and standard errors indexed by drc's parameter names (free ones only);
        NaN when the fit did not converge.
    cov
        Covariance matrix of ``params``.
    converged
        ``False`` if the optimiser failed or the information matrix was singular; then
        every estimate is NaN and :attr:`message` says why.
    df_resid, rss, loglik, aic
        Residual degrees of freedom, residual sum of squares (continuous), log-likelihood
        and AIC as drc computes them.
    """

    model: Model
    type: str
    dose: np.ndarray
    response: np.ndarray
    weights: np.ndarray
    params: pd.Series
    se: pd.Series
    cov: pd.DataFrame
    converged: bool
    message: str
    df_resid: int
    rss: float
    loglik: float
    aic: float
    n_starts: int = 1
    extras: dict = field(default_factory=dict)

    @property
    def theta(self) -> np.ndarray:
        return self.params.to_numpy(float)

    @property
    def sigma(self) -> float:
        """Residual standard error (continuous data)."""
        return float(np.sqrt(self.rss / self.df_resid)) if self.df_resid > 0 else np.nan

    def predict(self, dose: Sequence[float] | np.ndarray) -> np.ndarray:
        """Fitted response at ``dose`` (NaN if the fit did not converge)."""
        return self.model(np.asarray(dose, float), self.theta)

    def summary(self) -> pd.DataFrame:
        """drc-style coefficient table: estimate, std_error, t (or z) value and p-value."""
        stat = self.params / self.se
        if self.type == "binomial":
            pval = 2 * stats.norm.sf(np.abs(stat))
        else:
            pval = 2 * stats.t.sf(np.abs(stat), self.df_resid)
        return pd.DataFrame(
            {"estimate": self.params, "std_error": self.se, "statistic": stat, "pvalue": pval}
        ).rename_axis("parameter")

    def _quantile(self, level: float) -> float:
        level = check_probability(level, name="level")  # level=95 used to give NaN intervals
        if self.type == "binomial":
            return float(stats.norm.ppf(0.5 + level / 2))
        return float(stats.t.ppf(0.5 + level / 2, self.df_resid))

    def ed(
        self, p: float | Sequence[float] = 50, *, level: float = 0.95, interval: str = "delta"
    ) -> pd.DataFrame:
        """Effective doses ED(p) with delta-method confidence intervals (drc's ``ED``).

        ED(p) is the dose producing p percent of the change from the dose-0 response to the
        far limit (drc's relative ED, reference "control"). The interval is
        estimate +/- q * SE with q from the t distribution on the residual degrees of
        freedom (continuous) or the normal (binomial), as in drc. ``interval="log-delta"``
        applies the delta method to log ED(p) and back-transforms: the interval is then
        asymmetric and never crosses 0 (better for poorly determined, small EDs).

        Returns
        -------
        DataFrame
            One row per ``p``: ``estimate``, ``std_error``, ``lower``, ``upper`` and
            ``in_range`` (the estimate lies within the tested positive doses).
        """
        ps = np.atleast_1d(np.asarray(p, float))
        rows = []
        for pi in ps:
            est, se = self._delta(lambda t, pi=pi: float(self.model.ed(t, pi)))
            rows.append({"p": pi, **self._interval(est, se, level, interval)})
        return pd.DataFrame(rows).set_index("p")

    def dose_at(
        self, level: float | Sequence[float], *, ci_level: float = 0.95, interval: str = "delta"
    ) -> pd.DataFrame:
        """Dose at which the fitted curve reaches an absolute response ``level`` (e.g. the
        absolute IC50 at viability 0.5), with a delta-method interval.

        NaN (with ``reached=False``) when the curve never crosses ``level``: a relative
        ED50 always exists, an absolute IC50 need not.
        """
        levels = np.atleast_1d(np.asarray(level, float))
        rows = []
        for lv in levels:
            est, se = self._delta(lambda t, lv=lv: self._abs_dose(t, lv))
            row = self._interval(est, se, ci_level, interval)
            rows.append({"level": lv, **row, "reached": bool(np.isfinite(est))})
        return pd.DataFrame(rows).set_index("level")

    def _abs_dose(self, theta: np.ndarray, level: float) -> float:
        start = float(self.model(np.array([0.0]), theta)[0])
        far = float(self.model(np.array([1e300]), theta)[0])
        frac = (start - level) / (start - far) if start != far else np.nan
        if not 0 < frac < 1:
            return np.nan
        return float(self.model.ed(theta, 100 * frac))

    def _delta(self, fn) -> tuple[float, float]:
        """Estimate and delta-method standard error of a scalar function of the parameters."""
        theta = self.theta
        est = fn(theta)
        if not np.isfinite(est):
            return np.nan, np.nan
        grad = np.empty(theta.size)
        for j in range(theta.size):
            step = 1e-6 * max(abs(theta[j]), 1e-3)
            up, dn = theta.copy(), theta.copy()
            up[j] += step
            dn[j] -= step
            grad[j] = (fn(up) - fn(dn)) / (2 * step)
        return est, float(np.sqrt(grad @ self.cov.to_numpy() @ grad))

    def _interval(self, est: float, se: float, level: float, interval: str = "delta") -> dict:
        if interval not in ("delta", "log-delta"):
            raise ValueError(f"interval must be 'delta' or 'log-delta', got {interval!r}")
        q = self._quantile(level)
        pos = self.dose[self.dose > 0]
        if interval == "log-delta":
            lower, upper = est * np.exp(-q * se / est), est * np.exp(q * se / est)
        else:
            lower, upper = est - q * se, est + q * se
        return {
            "estimate": est,
            "std_error": se,
            "lower": lower,
            "upper": upper,
            "in_range": bool(np.isfinite(est) and pos.size and pos.min() <= est <= pos.max()),
        }

    def lack_of_fit(self) -> pd.Series:
        """drc's ``modelFit``: the model against the saturated one-way ANOVA on dose levels
        (F test, continuous) or Pearson's chi-square goodness of fit (binomial)."""
        levels, inv = np.unique(self.dose, return_inverse=True)
        k = self.theta.size
        if self.type == "binomial":
            mu = np.clip(self.predict(self.dose), 1e-12, 1 - 1e-12)
            chi2 = float(np.sum(self.weights * (self.response - mu) ** 2 / (mu * (1 - mu))))
            df = self.dose.size - k
            return pd.Series({"test": "Pearson chi2", "statistic": chi2, "df": df,
                              "pvalue": float(stats.chi2.sf(chi2, df)) if df > 0 else np.nan})
        w = self.weights
        means = np.bincount(inv, w * self.response) / np.bincount(inv, w)
        rss_anova = float(np.sum(w * (self.response - means[inv]) ** 2))
        df_anova = self.dose.size - levels.size
        df_num = levels.size - k
        if df_anova <= 0 or df_num <= 0:
            return pd.Series({"test": "ANOVA F", "statistic": np.nan, "df": df_num, "pvalue": np.nan})
        if rss_anova <= 0:  # replicates agree exactly at every dose: any misfit is infinitely significant
            fstat = np.inf if self.rss - rss_anova > 1e-12 * max(self.rss, 1.0) else np.nan
        else:
            fstat = ((self.rss - rss_anova) / df_num) / (rss_anova / df_anova)
        return pd.Series({"test": "ANOVA F", "statistic": float(fstat), "df": df_num,
                          "df_denom": df_anova, "rss_anova": rss_anova,
                          "pvalue": float(stats.f.sf(fstat, df_num, df_anova))})

    def __repr__(self) -> str:
        status = "converged" if self.converged else f"NOT converged ({self.message})"
        est = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return f"DoseResponseFit({self.model.name}, {self.type}, n={self.dose.size}, {status}: {est}, AIC={self.aic:.3f})"


def _plausible(model: Model, x: np.ndarray, theta: np.ndarray) -> bool:
    """An optimum counts only if ``e`` stays within 1000-fold of the tested doses: beyond
    that the data cannot inform it and the optimiser is running off along a ridge."""
    if not np.all(np.isfinite(theta)):
        return False
    if "e" not in model.free:
        return True
    pos = x[x > 0]
    e = theta[model.free.index("e")]
    return bool(pos.size == 0 or pos.min() / 1e3 <= e <= pos.max() * 1e3)


class _RunAwayError(Exception):
    pass


# every start gets this many evaluations (iterations for binomial fits); only the lowest
# attempt, if it used them all, continues up to fit_curve's max_nfev
_PER_START = 500


def _fit_continuous(model: Model, x, y, w, starts, max_nfev, observed):
    """Least squares from every start; keep the lowest-RSS optimum that is plausible and
    has a non-singular information matrix (else the lowest-RSS attempt, flagged).

    A valid optimum is kept only if no other attempt went lower: an attempt that ran off
    along a ridge (e or f -> infinity, c -> -infinity) to a lower RSS shows the valid one is a
    local optimum and the least-squares fit has no finite optimum, so that attempt is
    returned, flagged (``mecter`` LL.5 curves: a local optimum at 7x the RSS of LL.4, which
    LL.5 contains, while the RSS keeps falling as f -> infinity)."""
    sw = np.sqrt(w)
    pos = x[x > 0]
    # a start whose e leaves a million-fold band around the doses is running off along a
    # ridge (e.g. c -> -inf): abandon it instead of spending the whole budget, but keep the
    # point where it left, as evidence of the ridge
    ie = model.free.index("e") if "e" in model.free else None
    band = (np.log(pos.min()) - np.log(1e6), np.log(pos.max()) + np.log(1e6)) if pos.size else None
    last = {}

    # likewise a limit 1000 response ranges beyond the data (O.mykiss LL.4: c -> -31,000 for
    # weights of 1-3 g) is walking down a ridge that the data cannot stop
    limits = [model.free.index(p) for p in ("c", "d") if p in model.free]
    span = float(np.ptp(y)) or 1.0
    ylo, yhi = float(np.min(y)) - 1e3 * span, float(np.max(y)) + 1e3 * span

    def resid(psi):
        theta = _to_theta(model, psi)
        r = sw * (model(x, theta) - y)
        off = ie is not None and band is not None and not band[0] < psi[ie] < band[1]
        if off or any(not ylo < theta[j] < yhi for j in limits):
            last["psi"], last["cost"] = psi.copy(), 0.5 * float(r @ r)
            raise _RunAwayError
        return r

    def jac(psi):
        return sw[:, None] * _jac_psi(model, x, psi)

    def solve(psi0, budget):
        with np.errstate(all="ignore"):
            try:
                return optimize.least_squares(resid, psi0, jac=jac, method="lm",
                                              xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=budget)
            except _RunAwayError:
                if not np.isfinite(last.get("cost", np.nan)):
                    return None
                return optimize.OptimizeResult(x=last["psi"], cost=last["cost"], status=1, ran_off=True,
                                               message="ran off along a ridge")
            except (ValueError, np.linalg.LinAlgError):
                return None

    def judge(r):
        theta = _to_theta(model, r.x)
        r.info = _continuous_information(model, x, y, w, theta, observed=observed)
        r.valid = (r.status > 0 and not r.get("ran_off", False) and _plausible(model, x, theta)
                   and bool(model.limits_ordered(theta)) and _nonsingular(r.info))
        return r

    tried = []
    per_start = min(max_nfev, _PER_START)
    for s in starts:
        psi0 = _to_psi(model, s)
        if not np.all(np.isfinite(psi0)):
            continue  # a given start with d <= c for a family that keeps c <= d
        r = solve(psi0, per_start)
        start_cost = 0.5 * float(np.sum(w * (model(x, _to_theta(model, psi0)) - y) ** 2))
        if r is None or not np.isfinite(r.cost) or r.cost > start_cost:
            # Levenberg-Marquardt's first step can be huge where the curve is nearly a step
            # (b in the hundreds: the Jacobian is almost singular) and end worse than the start;
            # retry with MINPACK's initial step bound at 0.1 instead of 100 (leastsq's factor)
            with np.errstate(all="ignore"):
                try:
                    p, _, info, msg, ier = optimize.leastsq(resid, psi0, Dfun=jac, full_output=True, xtol=1e-12,
                                                            ftol=1e-12, gtol=1e-12, maxfev=per_start, factor=0.1)
                    r = optimize.OptimizeResult(x=p, cost=0.5 * float(info["fvec"] @ info["fvec"]),
                                                status=ier if ier in (1, 2, 3, 4) else 0, message=msg)
                except _RunAwayError:
                    r = None
                except (ValueError, np.linalg.LinAlgError):
                    r = None
        if r is None or not np.all(np.isfinite(r.x)) or not np.isfinite(r.cost):
            continue
        tried.append(judge(r))
    if not tried:
        return None
    best = min(tried, key=lambda r: r.cost)
    if best.status == 0 and max_nfev > per_start:
        # the budget ran out on the lowest attempt: continue it (a slow approach to an
        # optimum, e.g. spinach LL.5, is not a failure of the data)
        more = solve(best.x, max_nfev - per_start)
        if more is not None and np.all(np.isfinite(more.x)) and more.cost <= best.cost:
            tried.append(judge(more))
            best = more
    valid = [r for r in tried if r.valid]
    if not valid:
        return best
    best_valid = min(valid, key=lambda r: r.cost)
    if best.cost < best_valid.cost - 1e-6 * best_valid.cost - 1e-12:
        best.local_optimum = 2 * best_valid.cost
        return best
    return best_valid


_SINGULAR = float(np.sqrt(np.finfo(float).eps))


def _nonsingular(info: np.ndarray) -> bool | np.ndarray:
    """Whether the information matrix can be inverted, judged on the correlation scale.

    ``e`` and ``f`` may differ from ``b``, ``c``, ``d`` by orders of magnitude, so the raw
    matrix's eigenvalue ratio reflects the units of the parameters, not their
    identifiability: rescaling to unit diagonal (what the standard errors are relative to)
    removes the units and leaves the correlations, whose smallest eigenvalue is 0 exactly
    when some combination of parameters is not informed by the data. The cut-off is the square
    root of machine precision (1.5e-8): the information comes from derivatives accurate to about
    that, so a smaller eigenvalue cannot be told from 0 (and would inflate a standard error more
    than 8000-fold over its value with the other parameters known).

    ``info`` is one ``(k, k)`` matrix (returns a bool) or a batch ``(B, k, k)`` (a bool array,
    as the batched fitter uses it)."""
    info = np.asarray(info, float)
    k = info.shape[-1]
    with np.errstate(invalid="ignore"):
        diag = np.diagonal(info, axis1=-2, axis2=-1)
        # a subnormal diagonal (below float's smallest normal number) is information that no
        # finite standard error can express, and LAPACK cannot invert it: singular
        ok = np.isfinite(info).all((-2, -1)) & (diag > np.finfo(float).tiny).all(-1)
    safe = np.where(ok[..., None, None], info, np.eye(k))
    scale = np.sqrt(np.diagonal(safe, axis1=-2, axis2=-1))
    corr = safe / (scale[..., :, None] * scale[..., None, :])
    eig = np.linalg.eigvalsh((corr + np.swapaxes(corr, -1, -2)) / 2)
    out = ok & (eig[..., 0] > _SINGULAR)
    return bool(out) if out.ndim == 0 else out


class _BinomialScale:
    """Optimiser scale for binomial fits: a probability curve stays inside [0, 1].

    drc lets the limits of a binomial curve leave [0, 1] and clips the probabilities; the
    clipped likelihood then keeps improving as a limit runs to -24 or +2.4 (H.virescens LL.5),
    where the curve is no probability at all. Here the limits are held in [0, 1]: ``c`` and
    ``d`` directly, or for the ordered families ``c`` and ``s`` with ``d = c + (1 - c) s``
    (so ``c <= d <= 1``); ``e`` and ``f`` on the log scale within a million-fold band (around
    the doses for ``e``), whose edge marks a ridge: an optimum on that edge is none."""

    def __init__(self, model: Model, x: np.ndarray):
        self.m = model
        free = model.free
        self.ic = free.index("c") if "c" in free else None
        self.id = free.index("d") if "d" in free else None
        self.gap = model.ordered and self.ic is not None and self.id is not None
        pos = x[x > 0]
        big = np.log(1e6)
        bounds = []
        for p in free:
            if p in ("c", "d"):
                bounds.append((0.0, 1.0))
            elif p == "e":
                bounds.append((np.log(pos.min()) - big, np.log(pos.max()) + big) if pos.size else (None, None))
            elif p == "f":
                bounds.append((-big, big))
            else:
                bounds.append((None, None))
        self.bounds = bounds

    def to_psi(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, float)
        psi = theta.copy()
        for j, p in enumerate(self.m.free):
            if p in ("e", "f"):
                psi[j] = np.log(theta[j]) if theta[j] > 0 else np.nan
            elif p in ("c", "d"):
                psi[j] = min(max(theta[j], 0.0), 1.0)
        if self.gap:
            c, d = psi[self.ic], psi[self.id]
            psi[self.id] = 0.0 if c >= 1 else min(max((d - c) / (1 - c), 0.0), 1.0)
        lo = np.array([-np.inf if b[0] is None else b[0] for b in self.bounds])
        hi = np.array([np.inf if b[1] is None else b[1] for b in self.bounds])
        return np.clip(psi, lo, hi)

    def to_theta(self, psi: np.ndarray) -> np.ndarray:
        theta = np.asarray(psi, float).copy()
        for j, p in enumerate(self.m.free):
            if p in ("e", "f"):
                theta[j] = np.exp(min(psi[j], 700.0))
        if self.gap:
            c = psi[self.ic]
            theta[self.id] = c + (1 - c) * psi[self.id]
        return theta

    def chain(self, psi: np.ndarray, jac_theta: np.ndarray) -> np.ndarray:
        """d / d psi from d / d theta (rows: observations)."""
        theta = self.to_theta(psi)
        jac = jac_theta.copy()
        for j, p in enumerate(self.m.free):
            if p in ("e", "f"):
                jac[:, j] *= theta[j]
        if self.gap:
            c, sgap = psi[self.ic], psi[self.id]
            jac[:, self.ic] = jac_theta[:, self.ic] + jac_theta[:, self.id] * (1 - sgap)
            jac[:, self.id] = jac_theta[:, self.id] * (1 - c)
        return jac

    def on_ridge(self, psi: np.ndarray) -> bool:
        """Whether e or f sits on the edge of its band (a run-off, not an optimum)."""
        for j, p in enumerate(self.m.free):
            if p in ("e", "f") and self.bounds[j][0] is not None:
                lo, hi = self.bounds[j]
                if psi[j] <= lo + 1e-6 or psi[j] >= hi - 1e-6:
                    return True
        return False


def _fit_binomial(model: Model, x, y, n, starts, max_nfev):
    """Maximum likelihood from every start, limits held in [0, 1] (:class:`_BinomialScale`);
    keep the best valid optimum unless another attempt went lower (then none is valid)."""
    eps = 1e-12
    sc = _BinomialScale(model, x)

    def nll(psi):
        mu = np.clip(model(x, sc.to_theta(psi)), eps, 1 - eps)
        return -float(np.sum(n * (y * np.log(mu) + (1 - y) * np.log1p(-mu))))

    def grad(psi):
        # the gradient of the clipped likelihood (drc's zeroTol): an observation whose
        # probability is clipped no longer moves with the parameters
        theta = sc.to_theta(psi)
        raw = model(x, theta)
        mu = np.clip(raw, eps, 1 - eps)
        inside = (raw > eps) & (raw < 1 - eps)
        return -((inside * n * (y - mu) / (mu * (1 - mu))) @ sc.chain(psi, model.jacobian(x, theta)))

    def projected_gradient(psi):
        g = grad(psi)
        for j, (lo, hi) in enumerate(sc.bounds):
            if (lo is not None and psi[j] <= lo + 1e-10 and g[j] > 0) or (
                    hi is not None and psi[j] >= hi - 1e-10 and g[j] < 0):
                g[j] = 0.0
        return g

    def judge(r):
        theta = sc.to_theta(r.x)
        r.ran_off = sc.on_ridge(r.x)
        r.info = _binomial_information(model, x, y, n, theta)
        # a probability clipped at 0 or 1 where the observed proportion lies strictly inside
        # costs log(1e-12) per subject and no longer moves with the parameters: the clipped
        # likelihood is flat there, so the optimiser stops, but this is not an optimum
        with np.errstate(all="ignore"):
            raw = model(x, theta)
        r.stuck = bool(np.any(((raw >= 1 - eps) & (y < 1)) | ((raw <= eps) & (y > 0))))
        r.valid = (r.status > 0 and not r.ran_off and not r.stuck and _plausible(model, x, theta)
                   and bool(model.limits_ordered(theta)) and _nonsingular(r.info))
        r.theta = theta
        return r

    tried = []
    for s in starts:
        psi0 = sc.to_psi(s)
        if not np.all(np.isfinite(psi0)):
            continue
        with np.errstate(all="ignore"):
            r = optimize.minimize(nll, psi0, jac=grad, method="L-BFGS-B", bounds=sc.bounds,
                                  options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": min(max_nfev, _PER_START)})
        if not np.all(np.isfinite(r.x)) or not np.isfinite(r.fun):
            continue
        # L-BFGS-B often stops at "abnormal termination" right at the optimum: accept a tiny
        # projected gradient
        r.status = 1 if (r.success or np.max(np.abs(projected_gradient(r.x))) < 1e-5) else 0
        tried.append(judge(r))
    # drc's clipping makes the likelihood kinked where the curve reaches 0 or 1 (e.g. c -> 0
    # for untreated rows with no response): gradient methods stall at the kink. A
    # derivative-free polish of the three lowest stalled attempts either moves on or confirms
    # a (non-smooth) optimum, as drc's optim does with its relative-change stopping rule.
    for r in sorted((r for r in tried if r.status == 0), key=lambda r: r.fun)[:3]:
        with np.errstate(all="ignore"):
            nm = optimize.minimize(nll, r.x, method="Nelder-Mead", bounds=sc.bounds,
                                   options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": max_nfev,
                                            "maxfev": max_nfev, "adaptive": True})
        if nm.success and np.all(np.isfinite(nm.x)) and nm.fun <= r.fun + 1e-12 * max(1.0, abs(r.fun)):
            r.x, r.fun, r.status, r.message = nm.x, nm.fun, 1, f"Nelder-Mead polish: {nm.message}"
            judge(r)
    if not tried:
        return None, nll
    best = min(tried, key=lambda r: r.fun)
    valid = [r for r in tried if r.valid]
    if not valid:
        return best, nll
    best_valid = min(valid, key=lambda r: r.fun)
    if best.fun < best_valid.fun - 1e-6 * abs(best_valid.fun) - 1e-12 and not best.stuck:
        best.local_optimum = best_valid.fun
        return best, nll
    return best_valid, nll


def _continuous_information(model: Model, x, y, w, theta, *, observed: bool) -> np.ndarray:
    """Half the Hessian of the weighted RSS (drc's choice, ``observed=True``) or its
    Gauss-Newton part ``J'WJ``; the covariance is ``sigma^2`` times its inverse."""
    jac = model.jacobian(x, theta)
    info = (jac * w[:, None]).T @ jac
    if not observed:
        return info
    resid = y - model(x, theta)
    k = theta.size
    second = np.empty((k, k))
    for j in range(k):
        step = 1e-5 * max(abs(theta[j]), 1e-2)
        up, dn = theta.copy(), theta.copy()
        up[j] += step
        dn[j] -= step
        second[:, j] = (w * resid) @ ((model.jacobian(x, up) - model.jacobian(x, dn)) / (2 * step))
    info = info - (second + second.T) / 2
    return info


def _canonical(model: Model, theta: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LL with f = 1 and Hill are symmetric under (b, c, d) -> (-b, d, c); report drc's
    orientation, with ``c`` the lower and ``d`` the upper limit."""
    free = model.free
    if model.family not in ("LL", "Hill") or "f" in free or not {"c", "d"} <= set(free):
        return theta, cov
    ic, id_, ib = free.index("c"), free.index("d"), free.index("b")
    if theta[ic] <= theta[id_]:
        return theta, cov
    perm = list(range(len(free)))
    perm[ic], perm[id_] = id_, ic
    theta = theta[perm]
    cov = cov[np.ix_(perm, perm)]
    theta[ib] = -theta[ib]
    cov[ib, :] *= -1
    cov[:, ib] *= -1
    return theta, cov


def _binomial_information(model: Model, x, y, n, theta) -> np.ndarray:
    """Observed information (numerical Hessian of the negative log-likelihood), as drc's optim."""
    eps = 1e-12

    def g(t):  # gradient of the clipped likelihood, as in _fit_binomial
        raw = model(x, t)
        mu = np.clip(raw, eps, 1 - eps)
        inside = (raw > eps) & (raw < 1 - eps)
        return -((inside * n * (y - mu) / (mu * (1 - mu))) @ model.jacobian(x, t))

    k = theta.size
    hess = np.empty((k, k))
    for j in range(k):
        step = 1e-5 * max(abs(theta[j]), 1e-2)
        up, dn = theta.copy(), theta.copy()
        up[j] += step
        dn[j] -= step
        hess[:, j] = (g(up) - g(dn)) / (2 * step)
    return (hess + hess.T) / 2


def _nested_start(m: Model, x, y, w, *, type: str, fixed, se_method: str, max_nfev: int) -> list[np.ndarray]:  # noqa: A002
    """LL.5 contains LL.4 (f = 1): start LL.5 from the four-parameter optimum, so its fit can
    never end worse than LL.4's (without it, mecter and glymet curves stopped at 7x LL.4's RSS).

    The LL.4 curve is oriented with ``c <= d`` (for f = 1, ``(b, c, d) -> (-b, d, c)`` is the
    same curve), the order LL.5 keeps. Returns no starts for models without a free ``f``."""
    if m.family != "LL" or "f" not in m.free:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        inner = fit_curve(x, y, m.name, type=type, weights=None if type == "continuous" and np.all(w == 1) else w,
                          fixed={**(fixed or {}), "f": 1.0}, se_method=se_method, max_nfev=max_nfev)
    theta = inner.extras["last_iterate"]
    if not all(np.isfinite(v) for v in theta.values()):
        return []
    full = {**m.fixed, **theta, "f": 1.0}
    if {"c", "d"} <= set(theta) and full["c"] > full["d"]:
        full["b"], full["c"], full["d"] = -full["b"], full["d"], full["c"]
    out = [np.array([full[p] for p in m.free], float)]
    # the same curve skewed: other f with e moved so the half-way dose stays where LL.4 put it
    # (half-way when exp(b (log x - log e)) = 2^(1/f) - 1); for a near-step curve (metals Cu:
    # b = -121) the skewed optimum (f = 0.03) is not reached from f = 1
    for f0 in (0.05, 0.3, 3.0, 20.0):
        shift = np.log(2 ** (1 / f0) - 1) / full["b"]
        out.append(np.array([{**full, "f": f0, "e": full["e"] * np.exp(-shift)}[p] for p in m.free], float))
    return out


def fit_curve(
    dose: Sequence[float] | np.ndarray,
    response: Sequence[float] | np.ndarray,
    model: str | Model = "LL.4",
    *,
    type: str = "continuous",  # noqa: A002 - drc's argument name
    weights: Sequence[float] | np.ndarray | None = None,
    fixed: dict[str, float] | None = None,
    start: dict[str, float] | None = None,
    se_method: str = "hessian",
    max_nfev: int = 5_000,
) -> DoseResponseFit:
    """Fit a dose-response model as drc's ``drm`` does.

    Continuous responses are fitted by (weighted) least squares with a Levenberg-Marquardt
    optimiser; binomial (quantal) responses by maximum likelihood with the limits held in
    [0, 1] (drc lets them leave it and clips the probabilities). Several starts are tried
    (drc-style self-start, generic ones, steep steps between adjacent doses, and for LL.5 the
    LL.4 optimum) and the best valid optimum is kept: plausible ``e``, ordered limits where the
    family needs them, a non-singular information matrix. If another attempt went lower along
    a ridge (``e`` or ``f`` running off, a limit running far beyond the data), the valid one is
    only a local optimum and the fit is reported as not converged: the data have no finite
    optimum for this model (a slow slide, e.g. a lower limit towards minus infinity, is the
    usual reason; choose a model with fewer free parameters). Standard errors come, as in drc, from the observed information: ``sigma^2`` times the
    inverse of half the Hessian of the residual sum of squares (continuous), or the inverse
    Hessian of the negative log-likelihood (binomial).

    Parameters
    ----------
    dose
        Doses (>= 0; 0 is the untreated control and is used, as drc does).
    response
        Responses; for ``type="binomial"`` the proportion affected per observation.
    model
        ``"LL.2"``, ``"LL.3"``, ``"LL.4"``, ``"LL.5"``, ``"W1.4"``, ``"W2.4"`` or ``"Hill"``
        (see :mod:`perturbkit.dose._models` for the formulas).
    type
        ``"continuous"`` or ``"binomial"``.
    weights
        Case weights (continuous) or the number of subjects per observation (binomial).
    fixed
        Extra parameters to hold fixed, e.g. ``{"c": 0}`` (drc's ``fixed=``).
    start
        Starting values for free parameters (tried first).
    se_method
        ``"hessian"`` (drc: covariance from the Hessian of the residual sum of squares) or
        ``"gauss-newton"`` (``sigma^2 (J'WJ)^-1``, as ``nls``/``curve_fit``). Continuous only.
    max_nfev
        Optimiser budget: every start gets ``min(500, max_nfev)`` evaluations (iterations for
        binomial data), and the lowest attempt, if it used them all, continues up to
        ``max_nfev`` (a derivative-free polish for binomial data); a fit that exhausts it is
        reported as not converged.

    Returns
    -------
    DoseResponseFit
        ``params``/``se`` named ``b``, ``c``, ``d``, ``e``, ``f`` (free ones), ``ed(p)``,
        ``aic``, ``loglik``, ``lack_of_fit()``, ``converged`` and ``message``. A fit that
        does not converge warns (:class:`ConvergenceWarning`) and carries NaN estimates.

    Raises
    ------
    ValueError
        NaN or negative doses, a single dose level, fewer dose levels than parameters,
        constant responses, mismatched lengths, an unknown model.

    References
    ----------
    Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R.
    PLoS ONE 10:e0146021.

    Examples
    --------
    >>> import perturbkit as pk
    >>> rye = pk.data.simulate_dose_table(seed=0)
    >>> fit = pk.dose.fit_curve(rye["dose"], rye["response"], model="LL.4")
    >>> fit.converged, bool(abs(fit.params["e"] - 3.0) < 0.3)
    (True, True)
    """
    if se_method not in ("hessian", "gauss-newton"):
        raise ValueError(f"se_method must be 'hessian' or 'gauss-newton', got {se_method!r}")
    if type not in ("continuous", "binomial"):
        raise ValueError(f"type must be 'continuous' or 'binomial', got {type!r}")
    m = get_model(model).with_fixed(fixed)
    x, y, w = check_dose_response(dose, response, weights, n_params=len(m.free), type=type)
    starts = start_values(m, x, y)
    if start:
        missing = set(m.free) - set(start)
        if missing:
            raise ValueError(f"start lacks {sorted(missing)} (free parameters of {m.name}: {m.free})")
        starts.insert(0, np.array([start[p] for p in m.free], float))
    starts += _nested_start(m, x, y, w, type=type, fixed=fixed, se_method=se_method, max_nfev=max_nfev)
    k = len(m.free)
    names = list(m.free)
    if type == "continuous":
        r = _fit_continuous(m, x, y, w, starts, max_nfev, se_method == "hessian")
    else:
        r, _ = _fit_binomial(m, x, y, w, starts, max_nfev)
    ok = r is not None and bool(r.valid)
    if r is None:
        theta = np.full(k, np.nan)
    else:
        theta = r.theta if type == "binomial" else _to_theta(m, r.x)
    if ok:
        msg = "converged"
    elif r is None:
        msg = "no start gave a finite fit"
    elif r.status <= 0:
        msg = f"optimiser stopped without converging ({r.message})"
    elif r.get("ran_off", False):
        msg = ("no finite optimum: the objective keeps falling along a ridge (e or f reached a million-fold "
               "band's edge, e around the tested doses and f around 1, or a limit ran 1000 response ranges "
               "beyond the data)")
    elif not _plausible(m, x, theta):
        msg = "e ran off beyond 1000x the tested dose range: the data do not pin the curve down"
    elif not bool(m.limits_ordered(theta)):
        msg = (f"every optimum crossed the limits (c > d); {m.name} keeps c as the lower limit, as drc "
               "does, and within that order these data have no optimum")
    elif getattr(r, "stuck", False):
        msg = ("the fit predicts a probability of 0 or 1 where the observed proportion is not: "
               "a flat stretch of the clipped likelihood, not an optimum")
    else:
        msg = "information matrix is singular: parameters not identifiable from these data"
    if not ok and r is not None and "local_optimum" in r:
        what = "RSS" if type == "continuous" else "-logLik"
        msg += (f"; the valid optimum found ({what} {r.local_optimum:.6g}) is only local: this attempt went lower, "
                "so it is not reported as the fit")
    df = x.size - k
    if type == "continuous":
        rss = float(np.sum(w * (y - m(x, theta)) ** 2))
        n = x.size
        loglik = -0.5 * n * (np.log(2 * np.pi) + np.log(rss / n) + 1) + 0.5 * np.sum(np.log(w))
        aic = -2 * loglik + 2 * (k + 1)
        scale = rss / df if df > 0 else np.nan
    else:
        mu = np.clip(m(x, theta), 1e-12, 1 - 1e-12)
        count = np.round(y * w)
        loglik = float(np.sum(stats.binom.logpmf(count, np.round(w).astype(int), mu)))
        rss = float(np.sum(w * (y - mu) ** 2))
        aic = -2 * loglik + 2 * k
        scale = 1.0
    last = theta
    if ok:
        cov = scale * np.linalg.inv(r.info)
        theta, cov = _canonical(m, theta, cov)
    else:
        warnings.warn(f"{m.name} fit did not converge: {msg}; estimates set to NaN",
                      ConvergenceWarning, stacklevel=2)
        theta = np.full(k, np.nan)
        cov = np.full((k, k), np.nan)
        loglik = aic = rss = np.nan
    return DoseResponseFit(
        model=m,
        type=type,
        dose=x,
        response=y,
        weights=w,
        params=pd.Series(theta, index=names, name="estimate"),
        se=pd.Series(np.sqrt(np.diag(cov)), index=names, name="std_error"),
        cov=pd.DataFrame(cov, index=names, columns=names),
        converged=bool(ok),
        message=str(msg),
        df_resid=int(df),
        rss=float(rss),
        loglik=float(loglik),
        aic=float(aic),
        n_starts=len(starts),
        extras={"last_iterate": dict(zip(names, map(float, last), strict=True))},
    )

