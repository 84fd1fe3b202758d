"""Thousands of dose-response curves at once: a batched Levenberg-Marquardt fitter.

All curves are advanced together with numpy: the Jacobians of every curve form one
``(B, n, k)`` array, the normal equations one batch of ``k x k`` systems solved by
``numpy.linalg.solve``. Each curve keeps its own damping and its own stopping test, the
same tests MINPACK (and so ``scipy.optimize.curve_fit``) applies to a single curve, and
curves leave the active set as they converge.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import expit

from ._fit import _jac_psi, _nonsingular
from ._fit import _to_psi as _psi
from ._fit import _to_theta as _theta
from ._models import Model, get_model

__all__ = ["STATUS", "batch_start", "fit_arrays"]

#: Meaning of the ``status`` codes returned by :func:`fit_curves`.
STATUS = {
    1: "converged (relative reduction of the RSS below ftol)",
    2: "converged (relative step below xtol)",
    3: "converged (perfect fit)",
    0: "not converged: iteration budget exhausted",
    -1: "not converged: e ran beyond 1000x the tested dose range",
    -2: "not converged: information matrix singular (parameters not identifiable)",
    -3: "not converged: non-finite parameters or residuals",
    -4: "not fitted: fewer distinct doses than parameters, or a constant response",
    -5: "not converged: the limits crossed (c > d), leaving the family (W1, W2, LL.5 keep c <= d, as drc)",
}

_LINEARISE = {
    "LL": lambda h: np.log(1.0 / h - 1.0),
    "Hill": lambda h: np.log(h / (1.0 - h)),
    "W1": lambda h: np.log(-np.log(h)),
    "W2": lambda h: np.log(-np.log(1.0 - h)),
}


def batch_start(model: Model, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Vectorised drc-style self-start for every curve: limits just beyond the observed
    range, then a weighted straight line of the linearised response on log dose."""
    big = np.where(w > 0, y, -np.inf).max(1)
    small = np.where(w > 0, y, np.inf).min(1)
    pad = 0.001 * (big - small) + 1e-12
    c0 = np.full_like(big, model.fixed["c"]) if "c" in model.fixed else small - pad
    d0 = np.full_like(big, model.fixed["d"]) if "d" in model.fixed else big + pad
    pos = (x > 0) & (w > 0)
    lx = np.log(np.where(pos, x, 1.0))
    h = np.clip((y - c0[:, None]) / (d0 - c0)[:, None], 0.01, 0.99)
    with np.errstate(all="ignore"):
        z = _LINEARISE[model.family](h)
    m = pos.astype(float)
    n = m.sum(1)
    mx = (m * lx).sum(1) / np.maximum(n, 1)
    mz = (m * z).sum(1) / np.maximum(n, 1)
    sxx = (m * (lx - mx[:, None]) ** 2).sum(1)
    sxz = (m * (lx - mx[:, None]) * (z - mz[:, None])).sum(1)
    with np.errstate(all="ignore"):
        slope = sxz / sxx
    ok = np.isfinite(slope) & (np.abs(slope) > 1e-3)
    slope = np.where(ok, slope, 1.0)
    lo = np.where(pos, lx, np.inf).min(1)
    hi = np.where(pos, lx, -np.inf).max(1)
    le = np.where(ok, np.clip(mx - mz / slope, lo - 3, hi + 3), mx)
    full = {"b": slope, "c": c0, "d": d0, "e": np.exp(le), "f": np.ones_like(slope)}
    return np.column_stack([full[p] for p in model.free])


def _collapse(x: np.ndarray, y: np.ndarray, w: np.ndarray):
    """Replace replicate observations at the same dose by their weighted mean (weight = sum).

    Exact for least squares: replicates share one fitted value, so the RSS splits into the
    RSS of the means plus a within-dose sum of squares that no parameter can change. With
    26 DMSO wells per L1000 curve this shrinks each curve from 32 to 7 points."""
    order = np.argsort(np.where(w > 0, x, np.inf), axis=1, kind="stable")
    xs = np.take_along_axis(x, order, 1)
    ys = np.take_along_axis(y, order, 1)
    ws = np.take_along_axis(w, order, 1)
    valid = ws > 0
    new_run = valid.copy()
    new_run[:, 1:] &= xs[:, 1:] != xs[:, :-1]
    run_id = np.maximum(np.cumsum(new_run, axis=1) - 1, 0)
    n_runs = new_run.sum(1)
    width = max(int(n_runs.max()), 1)
    flat = (np.arange(len(x))[:, None] * width + run_id).ravel()
    size = len(x) * width
    wr = np.bincount(flat, ws.ravel(), size)
    with np.errstate(invalid="ignore", divide="ignore"):
        yr = np.bincount(flat, (ws * ys).ravel(), size) / wr
    yr = np.where(wr > 0, yr, 0.0)
    xr = np.ones(size)
    xr[flat[new_run.ravel()]] = xs.ravel()[new_run.ravel()]
    within = (ws * (ys - yr[flat].reshape(ys.shape)) ** 2).sum(1)
    shape = (len(x), width)
    return xr.reshape(shape), yr.reshape(shape), wr.reshape(shape), within


def fit_arrays(
    dose: np.ndarray,
    response: np.ndarray,
    model: str | Model = "LL.4",
    *,
    weights: np.ndarray | None = None,
    start: np.ndarray | None = None,
    ftol: float = 1.49012e-08,
    xtol: float = 1.49012e-08,
    max_iter: int = 200,
    retry: bool = True,
    abandon_runaway: bool = True,
    collapse: bool = True,
    method: str = "auto",
    return_cov: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """Fit one model to many curves at once by batched Levenberg-Marquardt (the array core
    of :func:`perturbkit.dose.fit_curves`).

    Parameters
    ----------
    dose
        Doses, shape ``(n,)`` shared by all curves or ``(B, n)`` per curve (>= 0).
    response
        Responses, shape ``(B, n)``: one curve per row.
    model
        drc model name (continuous models; see :func:`perturbkit.dose.fit_curve`).
    weights
        ``(B, n)`` or ``(n,)`` case weights; 0 marks a missing observation (ragged designs).
    start
        ``(B, k)`` starting values of the free parameters (default: vectorised self-start).
    ftol, xtol
        MINPACK's stopping rules, with scipy's defaults: stop when both the actual and the
        predicted relative reduction of the RSS are below ``ftol``, or when the relative
        step is below ``xtol``.
    max_iter
        Iteration budget per curve (each iteration is one Jacobian and one trial step).
    retry
        Try the further starts :func:`~perturbkit.dose.fit_curve` tries (``b = +-1`` at the
        geometric-mean dose; for W1.4, W2.4 and LL.5 also both slopes at the dose quartiles
        and two asymmetries) and keep the lowest-RSS converged result: for failed curves,
        and for the W1/W2/LL.5 families (iterated on ``log(d - c)``, so ``c <= d`` as in
        drc) for every curve, since they have a local optimum in each orientation.
    abandon_runaway
        Stop iterating a curve as soon as its ``e`` leaves a million-fold band around the
        tested doses (it is then reported as status -1, as it would be at the end anyway);
        ``False`` lets it run to the ordinary stopping rules, as ``curve_fit`` does.
    method
        ``"lm"``: Levenberg-Marquardt on all free parameters. ``"varpro"`` (LL.4 only;
        ``"auto"`` picks it for LL.4): variable projection, solving the limits ``c`` and
        ``d`` exactly at every step and iterating on ``(b, log e)`` alone; same optimum and
        stopping rules, fewer and cheaper iterations.
    collapse
        Fit replicate observations at the same dose as one weighted mean (exact for least
        squares; see ``_collapse``), which makes designs with many controls much cheaper.
    return_cov
        Also return the ``(B, k, k)`` covariance matrices (NaN for failed curves).

    Returns
    -------
    DataFrame
        One row per curve (index 0..B-1): the free parameters (``b``, ``c``, ``d``, ``e``,
        ``f``), their standard errors ``se_<name>`` (``sigma^2 (J'WJ)^-1``, the
        Gauss-Newton covariance of ``curve_fit``), ``rss``, ``df_resid``, ``aic``,
        ``converged`` (bool), ``status`` (see :data:`STATUS`), ``n_iter``. Curves that did
        not converge carry NaN parameters: a failed fit is never a number. ``e_side``
        (failed curves only) says where ``e`` was heading: -1 below the lowest dose, +1 above
        the highest, 0 inside.

    Examples
    --------
    >>> import numpy as np, perturbkit as pk
    >>> d = pk.data.simulate_dose_table(n_groups=2, seed=0)
    >>> y = np.stack([g["response"].to_numpy() for _, g in d.groupby("perturbation")])
    >>> res = pk.dose.fit_curves(d["dose"].to_numpy()[: y.shape[1]], y)
    >>> res["converged"].tolist()
    [True, True]
    """
    m = get_model(model)
    y = np.atleast_2d(np.asarray(response, float))
    n_curves, n_obs = y.shape
    x = np.broadcast_to(np.asarray(dose, float), y.shape).copy()
    w = np.ones_like(y) if weights is None else np.broadcast_to(np.asarray(weights, float), y.shape).copy()
    if (w < 0).any():
        raise ValueError("weights must be >= 0 (0 marks a missing observation)")
    bad = ~np.isfinite(y) | ~np.isfinite(x)
    if (x[~bad] < 0).any():
        raise ValueError("dose has negative values; doses must be >= 0")
    w[bad] = 0.0
    y = np.where(bad, 0.0, y)
    x = np.where(bad, 1.0, x)
    k = len(m.free)
    status = np.zeros(n_curves, int)
    # curves that cannot be fitted at all
    obs_w = w > 0
    xs = np.sort(np.where(obs_w, x, np.inf), axis=1)
    with np.errstate(invalid="ignore"):  # inf - inf on padding
        steps = np.diff(xs, axis=1) > 0
    n_levels = (np.isfinite(xs[:, :1])).ravel().astype(int) + (steps & np.isfinite(xs[:, 1:])).sum(1)
    yw = np.where(obs_w, y, np.nan)
    with np.errstate(all="ignore"):
        flat = ~(np.nanmax(yw, 1) > np.nanmin(yw, 1))
    unfit = (n_levels < max(k, 2)) | flat
    status[unfit] = -4
    n_obs = obs_w.sum(1)
    within = np.zeros(n_curves)
    x_all, y_all, w_all = x, y, w
    if collapse:
        x, y, w, within = _collapse(x, y, w)
    theta0 = batch_start(m, x, y, w) if start is None else np.asarray(start, float).copy()
    psi = _psi(m, theta0)
    psi[unfit] = 0.0  # never iterated; any finite placeholder
    # a given start outside the family (e.g. d <= c for W1.4) cannot be iterated
    bad_start = ~unfit & ~np.isfinite(psi).all(1)
    status[bad_start] = -3
    unfit = unfit | bad_start
    pos = np.where((x > 0) & (w > 0), x, np.nan)
    with np.errstate(all="ignore"):
        band_lo = np.log(np.nanmin(pos, 1)) - np.log(1e6)
        band_hi = np.log(np.nanmax(pos, 1)) + np.log(1e6)
    if not abandon_runaway:
        band_lo, band_hi = np.full(n_curves, -np.inf), np.full(n_curves, np.inf)
    if method not in ("auto", "lm", "varpro"):
        raise ValueError(f"method must be 'auto', 'lm' or 'varpro', got {method!r}")
    use_varpro = method == "varpro" or (method == "auto" and m.name == "LL.4" and m.fixed == {"f": 1.0})
    if use_varpro and not (m.family == "LL" and m.free == ("b", "c", "d", "e")):
        raise ValueError(f"method='varpro' needs the LL.4 model, got {m.name}")
    if use_varpro:
        result_psi, n_iter = _varpro(x, y, w, psi, status, unfit, band_lo, band_hi, ftol, xtol, max_iter)
    else:
        result_psi, n_iter = _lm(m, x, y, w, psi, status, unfit, band_lo, band_hi, ftol, xtol, max_iter)
    out, cov = _summarise(m, x, y, w, result_psi, status, n_iter, n_obs, within)
    if retry and start is None:
        # the further starts fit_curve tries (start_values): b = +-1 at the geometric-mean
        # dose, and for the ordered families both slopes at two inflections and two
        # asymmetries. Ordered families can end in a local optimum of either orientation, so
        # there every curve tries every start and keeps the lowest RSS, as fit_curve does;
        # otherwise only failed curves are retried.
        fittable = status != -4
        for alt in _alternative_starts(m, theta0, x_all, w_all):
            idx = np.flatnonzero(fittable if m.ordered else (fittable & ~out["converged"].to_numpy()))
            if idx.size == 0:
                break
            sub, sub_cov = fit_arrays(x_all[idx], y_all[idx], m, weights=w_all[idx], start=alt[idx], ftol=ftol,
                                      xtol=xtol, max_iter=max_iter, retry=False, collapse=collapse,
                                      abandon_runaway=abandon_runaway, method=method, return_cov=True)
            good = sub["converged"].to_numpy()
            was = out["converged"].to_numpy()[idx]
            with np.errstate(invalid="ignore"):
                better = good & (~was | (sub["rss"].to_numpy() < out["rss"].to_numpy()[idx]))
            out.iloc[idx[better]] = sub.iloc[np.flatnonzero(better)].to_numpy()
            cov[idx[better]] = sub_cov[better]
        out["converged"] = out["converged"].astype(bool)
        out["status"] = out["status"].astype(int)
        out["n_iter"] = out["n_iter"].astype(int)
        out["e_side"] = out["e_side"].astype(int)
    return (out, cov) if return_cov else out


def _alternative_starts(m: Model, theta0: np.ndarray, x: np.ndarray, w: np.ndarray) -> list[np.ndarray]:
    """The generic starts of :func:`perturbkit.dose._fit.start_values`, for every curve at once:
    the self-start's limits with ``b = +-1`` at the geometric-mean positive dose; for the
    ordered families also ``b = +-2`` at the quartiles of log dose and, with ``f`` free,
    ``f`` = 0.3 and 3."""
    pos = np.where((x > 0) & (w > 0), x, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows of unfittable curves
        lpos = np.log(pos)
        gm = np.exp(np.nanmean(lpos, 1))
        quart = {q: np.exp(np.nanquantile(lpos, q, axis=1)) for q in (0.25, 0.75)}
    specs = [(sign, gm, 1.0) for sign in (1.0, -1.0)]
    if m.ordered:
        specs += [(sign, quart[q], 1.0) for q in (0.25, 0.75) for sign in (2.0, -2.0)]
        if "f" in m.free:
            specs += [(sign, gm, f0) for f0 in (0.3, 3.0) for sign in (1.0, -1.0)]
    out = []
    for b, e, f in specs:
        alt = theta0.copy()
        alt[:, m.free.index("b")] = b
        if "e" in m.free:
            alt[:, m.free.index("e")] = np.where(np.isfinite(e), e, 1.0)
        if "f" in m.free:
            alt[:, m.free.index("f")] = f
        out.append(alt)
    return out


_LOG0 = -1e6  # log(0) stand-in: exp(b * (-1e6 - log e)) is exactly 0 or inf for any usable b


def _fast(m: Model) -> bool:
    return m.family == "LL" and m.fixed.get("f") == 1.0


def _model_and_jac(m: Model, x, lx, psi, *, jac: bool = True):
    """Fitted values and the Jacobian on the fitting scale (log e), shape (B, n) and (B, n, k).

    Log-logistic models with f = 1 (LL.2-LL.4) take a lean path on precomputed log doses."""
    if not _fast(m):
        # the ordered families (W1, W2, LL.5) iterate on log(d - c), as fit_curve does
        return m(x, _theta(m, psi)), (_jac_psi(m, x, psi) if jac else None)
    full = m.full(_theta(m, psi))
    b, c, d, le = full[:, 0:1], full[:, 1:2], full[:, 2:3], np.log(full[:, 3:4])
    diff = lx - le
    h = expit(-b * diff)
    scale = d - c
    fit = c + scale * h
    if not jac:
        return fit, None
    dh = -h * (1.0 - h) * scale
    cols = {"b": dh * diff, "c": 1.0 - h, "d": h, "e": -dh * b}
    return fit, np.stack([cols[p] for p in m.free], axis=-1)


def _spd_solve(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve a batch of small symmetric positive-definite systems by Cholesky, written as
    vector operations over the batch (a Python loop over the k <= 5 rows only), which is far
    cheaper than one LAPACK call per 4 x 4 matrix. Returns the solutions and an ok mask."""
    n, k = b.shape
    low = np.zeros_like(a)
    ok = np.ones(n, bool)
    for j in range(k):
        d = a[:, j, j] - (low[:, j, :j] ** 2).sum(1)
        ok &= d > 0
        low[:, j, j] = np.sqrt(np.where(d > 0, d, 1.0))
        for i in range(j + 1, k):
            low[:, i, j] = (a[:, i, j] - (low[:, i, :j] * low[:, j, :j]).sum(1)) / low[:, j, j]
    z = np.zeros_like(b)
    for i in range(k):
        z[:, i] = (b[:, i] - (low[:, i, :i] * z[:, :i]).sum(1)) / low[:, i, i]
    x = np.zeros_like(b)
    for i in reversed(range(k)):
        x[:, i] = (z[:, i] - (low[:, i + 1 :, i] * x[:, i + 1 :]).sum(1)) / low[:, i, i]
    return x, ok & np.isfinite(x).all(1)


def _gram(jac: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """J'J and J'r for a batch of small Jacobians, by explicit products (no batched matmul)."""
    k = jac.shape[2]
    jtj = np.empty((jac.shape[0], k, k))
    for i in range(k):
        for j in range(i, k):
            jtj[:, i, j] = jtj[:, j, i] = (jac[:, :, i] * jac[:, :, j]).sum(1)
    grad = (jac * r[:, :, None]).sum(1)
    return jtj, grad


def _cost(m: Model, x, lx, y, w, psi) -> np.ndarray:
    r = _model_and_jac(m, x, lx, psi, jac=False)[0] - y
    return 0.5 * np.sum(w * r * r, axis=1)


def _accept_and_damp(old, new_cost, pred, ok_solve, active, lam, nu) -> np.ndarray:
    """Accept steps that lower the cost; Nielsen's damping update of ``lam``/``nu`` (in place).

    The gain ratio is the actual over the predicted reduction of the linearised model, as in
    MINPACK. Returns the accepted mask over ``active``.
    """
    rho = (old - new_cost) / np.where(pred > 0, pred, np.nan)
    accept = np.isfinite(new_cost) & (new_cost <= old) & ok_solve & ~(rho < 1e-4)
    acc, rej = active[accept], active[~accept]
    gain = np.nan_to_num(rho[accept], nan=1.0)
    lam[acc] = np.maximum(lam[acc] * np.maximum(1 / 3, 1 - (2 * np.clip(gain, 0, 1) - 1) ** 3), 1e-15)
    nu[acc] = 2.0
    lam[rej] = np.minimum(lam[rej] * nu[rej], 1e16)
    nu[rej] *= 2.0
    return accept


def _convergence(accept, old, new_cost, pred, step_rel, cost_now, ftol, xtol) -> np.ndarray:
    """MINPACK-style stop codes: 3 zero cost, 1 relative reduction < ftol, 2 step < xtol, 0 go on."""
    actual_red = (old - new_cost) / np.maximum(old, 1e-300)
    pred_red = pred / np.maximum(old, 1e-300)
    done_f = accept & (np.abs(actual_red) <= ftol) & (np.abs(pred_red) <= ftol)
    done_x = step_rel <= xtol
    return np.where(cost_now <= 1e-30, 3, np.where(done_f, 1, np.where(done_x, 2, 0)))


def _lm(m, x, y, w, psi, status, unfit, band_lo, band_hi, ftol, xtol, max_iter):
    """The batched Levenberg-Marquardt loop (Marquardt's diagonal scaling, per-curve damping)."""
    n_curves, k = psi.shape
    with np.errstate(divide="ignore"):
        lx = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), _LOG0)
    sw = np.sqrt(w)
    lam = np.full(n_curves, 1e-3)
    nu = np.full(n_curves, 2.0)
    scale = np.zeros((n_curves, k))
    n_iter = np.zeros(n_curves, int)
    active = np.flatnonzero(~unfit)
    ie = m.free.index("e") if "e" in m.free else None
    with np.errstate(all="ignore"):
        cost = np.full(n_curves, np.nan)
        cost[active] = _cost(m, x[active], lx[active], y[active], w[active], psi[active])
        for _ in range(max_iter):
            if active.size == 0:
                break
            xa, lxa, ya, wa, pa, swa = x[active], lx[active], y[active], w[active], psi[active], sw[active]
            fit, jac = _model_and_jac(m, xa, lxa, pa)
            jac *= swa[..., None]
            r = (fit - ya) * swa
            jtj, grad = _gram(jac, r)
            # Marquardt scaling by the running maximum of diag(J'J), as MINPACK does
            scale[active] = np.maximum(scale[active], np.diagonal(jtj, axis1=1, axis2=2))
            diag = np.maximum(scale[active], 1e-12)
            a = jtj + (lam[active, None] * diag)[:, :, None] * np.eye(k)
            finite = np.isfinite(a).all((1, 2)) & np.isfinite(grad).all(1)
            a[~finite] = np.eye(k)
            step, ok_solve = _spd_solve(a, -np.where(finite[:, None], grad, 0.0))
            redo = finite & ~ok_solve  # Cholesky broke down on a nearly singular system: LU
            if redo.any():
                step[redo] = -np.linalg.solve(a[redo], grad[redo][..., None])[..., 0]
                ok_solve[redo] = np.isfinite(step[redo]).all(1)
            ok_solve &= finite
            step = np.where(ok_solve[:, None], step, 0.0)
            trial = pa + step
            new_cost = _cost(m, xa, lxa, ya, wa, trial)
            old = cost[active]
            # predicted reduction of the linearised model, as MINPACK's test uses
            jstep = (jac * step[:, None, :]).sum(2)
            pred = -((r * jstep).sum(1) + 0.5 * (jstep * jstep).sum(1))
            accept = _accept_and_damp(old, new_cost, pred, ok_solve, active, lam, nu)
            n_iter[active] += 1
            acc = active[accept]
            psi[acc] = trial[accept]
            cost[acc] = new_cost[accept]
            step_rel = np.linalg.norm(step, axis=1) / (np.linalg.norm(pa, axis=1) + xtol)
            code = _convergence(accept, old, new_cost, pred, step_rel, cost[active], ftol, xtol)
            # curves whose e runs off a million-fold beyond the doses are abandoned early
            if ie is not None:
                runaway = ~((psi[active, ie] > band_lo[active]) & (psi[active, ie] < band_hi[active]))
                code = np.where(runaway, -1, code)
            bad = ~np.isfinite(psi[active]).all(1) | ((lam[active] >= 1e16) & ~accept)
            code = np.where(bad & (code >= 0), -3, code)
            status[active] = code
            active = active[code == 0]
    return psi, n_iter


def _linear_limits(h, y, w):
    """Weighted least-squares limits (c, d) of ``c + (d - c) h`` for fixed ``h``, closed form."""
    p0, p1 = 1.0 - h, h
    g00, g01, g11 = (w * p0 * p0).sum(1), (w * p0 * p1).sum(1), (w * p1 * p1).sum(1)
    r0, r1 = (w * p0 * y).sum(1), (w * p1 * y).sum(1)
    det = g00 * g11 - g01 * g01
    ok = det > 1e-12 * np.maximum(g00 * g11, 1e-300)
    det = np.where(ok, det, 1.0)
    return (g11 * r0 - g01 * r1) / det, (g00 * r1 - g01 * r0) / det, ok, (g00, g01, g11, det)


def _varpro(x, y, w, psi, status, unfit, band_lo, band_hi, ftol, xtol, max_iter):
    """Levenberg-Marquardt for LL.4 by variable projection: the limits c and d enter the model
    linearly, so for every trial (b, log e) they are solved exactly by weighted least squares
    and the iterations move only (b, log e) (Golub-Pereyra, Kaufman's Jacobian). Same
    optimum and stopping tests as the plain fitter; far fewer, cheaper iterations."""
    n_curves = len(x)
    with np.errstate(divide="ignore"):
        lx = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), _LOG0)
    sw = np.sqrt(w)
    alpha = psi[:, [0, 3]].copy()
    lam = np.full(n_curves, 1e-3)
    nu = np.full(n_curves, 2.0)
    scale = np.zeros((n_curves, 2))
    n_iter = np.zeros(n_curves, int)
    lims = psi[:, 1:3].copy()
    active = np.flatnonzero(~unfit)

    def evaluate(al, lxa, ya, wa):
        diff = lxa - al[:, 1:2]
        h = expit(-al[:, 0:1] * diff)
        c, d, ok, gram = _linear_limits(h, ya, wa)
        fit = c[:, None] + (d - c)[:, None] * h
        cost = 0.5 * (wa * (fit - ya) ** 2).sum(1)
        return h, diff, c, d, ok, gram, fit, np.where(ok, cost, np.inf)

    with np.errstate(all="ignore"):
        cost = np.full(n_curves, np.nan)
        _, _, c0, d0, _, _, _, cost0 = evaluate(alpha[active], lx[active], y[active], w[active])
        cost[active] = cost0
        lims[active] = np.column_stack([c0, d0])
        for _ in range(max_iter):
            if active.size == 0:
                break
            lxa, ya, wa, swa, al = lx[active], y[active], w[active], sw[active], alpha[active]
            h, diff, c, d, ok_lin, (g00, g01, g11, det), fit, _ = evaluate(al, lxa, ya, wa)
            dh = -h * (1.0 - h) * (d - c)[:, None]
            jb, je = swa * dh * diff, swa * dh * (-al[:, 0:1])
            f0, f1 = swa * (1.0 - h), swa * h
            r = swa * (fit - ya)
            # Kaufman: project the Jacobian onto the complement of the linear basis
            cols = []
            for jj in (jb, je):
                a0, a1 = (f0 * jj).sum(1), (f1 * jj).sum(1)
                k0, k1 = (g11 * a0 - g01 * a1) / det, (g00 * a1 - g01 * a0) / det
                cols.append(jj - f0 * k0[:, None] - f1 * k1[:, None])
            j0, j1 = cols
            a00, a01, a11 = (j0 * j0).sum(1), (j0 * j1).sum(1), (j1 * j1).sum(1)
            gr0, gr1 = (j0 * r).sum(1), (j1 * r).sum(1)
            scale[active] = np.maximum(scale[active], np.column_stack([a00, a11]))
            m00 = a00 + lam[active] * np.maximum(scale[active, 0], 1e-12)
            m11 = a11 + lam[active] * np.maximum(scale[active, 1], 1e-12)
            dd = m00 * m11 - a01 * a01
            step = np.column_stack([-(m11 * gr0 - a01 * gr1) / dd, -(m00 * gr1 - a01 * gr0) / dd])
            ok_solve = ok_lin & np.isfinite(step).all(1) & (dd > 0)
            step = np.where(ok_solve[:, None], step, 0.0)
            trial = al + step
            _, _, ct, dt, _, _, _, new_cost = evaluate(trial, lxa, ya, wa)
            old = cost[active]
            jstep = j0 * step[:, 0:1] + j1 * step[:, 1:2]
            pred = -((r * jstep).sum(1) + 0.5 * (jstep * jstep).sum(1))
            accept = _accept_and_damp(old, new_cost, pred, ok_solve, active, lam, nu)
            n_iter[active] += 1
            acc = active[accept]
            alpha[acc] = trial[accept]
            cost[acc] = new_cost[accept]
            lims[acc] = np.column_stack([ct, dt])[accept]
            full_now = np.column_stack([alpha[active, 0], lims[active], alpha[active, 1]])
            step_rel = np.linalg.norm(step, axis=1) / (np.linalg.norm(full_now, axis=1) + xtol)
            code = _convergence(accept, old, new_cost, pred, step_rel, cost[active], ftol, xtol)
            runaway = ~((alpha[active, 1] > band_lo[active]) & (alpha[active, 1] < band_hi[active]))
            code = np.where(runaway, -1, code)
            code = np.where(~ok_lin & (code >= 0), -2, code)
            bad = ~np.isfinite(alpha[active]).all(1) | ((lam[active] >= 1e16) & ~accept)
            code = np.where(bad & (code >= 0), -3, code)
            status[active] = code
            active = active[code == 0]
    out = np.column_stack([alpha[:, 0], lims[:, 0], lims[:, 1], alpha[:, 1]])
    return out, n_iter


def canonical(m: Model, theta: np.ndarray) -> np.ndarray:
    """LL (f = 1) and Hill curves are unchanged by (b, c, d) -> (-b, d, c): report drc's
    orientation, ``c`` the lower and ``d`` the upper limit (as :func:`fit_curve` does)."""
    free = m.free
    if m.family not in ("LL", "Hill") or "f" in free or not {"c", "d"} <= set(free):
        return theta
    ib, ic, id_ = free.index("b"), free.index("c"), free.index("d")
    flip = theta[:, ic] > theta[:, id_]
    out = theta.copy()
    out[flip, ib] = -theta[flip, ib]
    out[flip, ic] = theta[flip, id_]
    out[flip, id_] = theta[flip, ic]
    return out


def _summarise(m: Model, x, y, w, psi, status, n_iter, n_obs, within) -> pd.DataFrame:
    n_curves, k = psi.shape
    theta = canonical(m, _theta(m, psi))
    with np.errstate(all="ignore"):  # failed curves may hold extreme values; they become NaN
        resid = m(x, theta) - y
        rss = np.sum(w * resid * resid, axis=1) + within
        jac = m.jacobian(x, theta) * np.sqrt(w)[..., None]
        jtj = np.einsum("bnk,bnl->bkl", jac, jac)
    df = n_obs - k
    with np.errstate(all="ignore"):
        # identifiability on the correlation scale, as fit_curve judges it (the raw
        # eigenvalue ratio mostly reflects the units of e against b, c, d)
        singular = ~_nonsingular(jtj)
        jtj[singular] = np.eye(k)
        cov = np.linalg.inv(jtj) * (rss / np.maximum(df, 1))[:, None, None]
        se = np.sqrt(np.einsum("bkk->bk", cov))
    # a converged optimum must also be plausible: e within 1000x of the tested doses
    if "e" in m.free:
        pos = np.where((x > 0) & (w > 0), x, np.nan)
        with np.errstate(all="ignore"):
            e = theta[:, m.free.index("e")]
            plaus = (e >= np.nanmin(pos, 1) / 1e3) & (e <= np.nanmax(pos, 1) * 1e3)
        status = np.where((status > 0) & ~plaus, -1, status)
    status = np.where((status > 0) & ~m.limits_ordered(theta), -5, status)
    status = np.where((status > 0) & singular, -2, status)
    status = np.where((status > 0) & ~(np.isfinite(theta).all(1) & np.isfinite(se).all(1)), -3, status)
    conv = status > 0
    out = pd.DataFrame(np.where(conv[:, None], theta, np.nan), columns=list(m.free))
    for j, p in enumerate(m.free):
        out[f"se_{p}"] = np.where(conv, se[:, j], np.nan)
    with np.errstate(all="ignore"):
        loglik = -0.5 * n_obs * (np.log(2 * np.pi) + np.log(rss / n_obs) + 1)
    out["rss"] = np.where(conv, rss, np.nan)
    out["df_resid"] = df
    out["aic"] = np.where(conv, -2 * loglik + 2 * (k + 1), np.nan)
    out["converged"] = conv
    out["status"] = status
    out["n_iter"] = n_iter
    # for failed curves only: which side of the tested doses e was heading to (-1 below the
    # lowest dose, e.g. a response already complete at every dose; +1 above the highest,
    # e.g. a flat curve; 0 inside). A diagnostic, never an estimate.
    side = np.zeros(n_curves, int)
    if "e" in m.free:
        pos = np.where((x > 0) & (w > 0), x, np.nan)
        with np.errstate(all="ignore"):
            e = theta[:, m.free.index("e")]
            side = np.where(e < np.nanmin(pos, 1), -1, np.where(e > np.nanmax(pos, 1), 1, 0))
    out["e_side"] = np.where(conv, 0, side).astype(int)
    cov[~conv] = np.nan
    return out, cov
