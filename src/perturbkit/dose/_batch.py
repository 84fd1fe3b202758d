"""Thousands of dose-response curves at once: a batched Levenberg-Marquardt fitter.

All curves are advanced together with numpy: the Jacobians of every curve form one
``(B, n, k)`` array, the normal equations one batch of ``k x k`` systems solved by
``numpy.linalg.solve``. Each curve keeps its own damping and its own stopping test, the
same tests MINPACK (and so ``scipy.optimize.curve_fit``) applies to a single curve, and
curves leave the active set as they converge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from ._models import Model, get_model

__all__ = ["STATUS", "batch_start", "fit_curves"]

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


def _psi(model: Model, theta: np.ndarray) -> np.ndarray:
    psi = theta.copy()
    for j, p in enumerate(model.free):
        if p in ("e", "f"):
            psi[:, j] = np.log(psi[:, j])
    return psi


def _theta(model: Model, psi: np.ndarray) -> np.ndarray:
    theta = psi.copy()
    for j, p in enumerate(model.free):
        if p in ("e", "f"):
            theta[:, j] = np.exp(np.clip(psi[:, j], -700, 700))
    return theta


def fit_curves(
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
    return_cov: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """Fit one model to many curves at once by batched Levenberg-Marquardt.

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
        Refit curves that failed from two generic starts (``b = +-1``, ``e`` at the
        geometric mean dose) and keep a converged result.
    abandon_runaway
        Stop iterating a curve as soon as its ``e`` leaves a million-fold band around the
        tested doses (it is then reported as status -1, as it would be at the end anyway);
        ``False`` lets it run to the ordinary stopping rules, as ``curve_fit`` does.
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
        not converge carry NaN parameters: a failed fit is never a number.

    Examples
    --------
    >>> import numpy as np, perturbkit as pk
    >>> d = pk.data.simulate_dose_table(n_groups=3, seed=0)
    >>> y = np.stack([g["response"].to_numpy() for _, g in d.groupby("perturbation")])
    >>> res = pk.dose.fit_curves(d["dose"].to_numpy()[: y.shape[1]], y)
    >>> res["converged"].tolist()
    [True, True, True]
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
    n_levels = (np.isfinite(xs[:, :1])).ravel().astype(int) + (
        (np.diff(xs, axis=1) > 0) & np.isfinite(xs[:, 1:])
    ).sum(1)
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
    psi = _psi(m, np.where(unfit[:, None], 1.0, theta0))
    pos = np.where((x > 0) & (w > 0), x, np.nan)
    with np.errstate(all="ignore"):
        band_lo = np.log(np.nanmin(pos, 1)) - np.log(1e6)
        band_hi = np.log(np.nanmax(pos, 1)) + np.log(1e6)
    if not abandon_runaway:
        band_lo, band_hi = np.full(n_curves, -np.inf), np.full(n_curves, np.inf)
    result_psi, n_iter = _lm(m, x, y, w, psi, status, unfit, band_lo, band_hi, ftol, xtol, max_iter)
    out, cov = _summarise(m, x, y, w, result_psi, status, n_iter, n_obs, within)
    if retry and start is None:
        failed = np.flatnonzero(~out["converged"].to_numpy() & (status != -4))
        for sign in (1.0, -1.0):
            if failed.size == 0:
                break
            alt = theta0[failed].copy()
            alt[:, m.free.index("b")] = sign
            if "e" in m.free:
                with np.errstate(all="ignore"):
                    gm = np.exp(np.nanmean(np.log(pos[failed]), 1))
                alt[:, m.free.index("e")] = np.where(np.isfinite(gm), gm, 1.0)
            sub, sub_cov = fit_curves(x_all[failed], y_all[failed], m, weights=w_all[failed], start=alt, ftol=ftol,
                                      xtol=xtol, max_iter=max_iter, retry=False,
                                      abandon_runaway=abandon_runaway, return_cov=True)
            good = sub["converged"].to_numpy()
            out.iloc[failed[good]] = sub.iloc[np.flatnonzero(good)].to_numpy()
            cov[failed[good]] = sub_cov[good]
            failed = failed[~good]
        out["converged"] = out["converged"].astype(bool)
        out["status"] = out["status"].astype(int)
        out["n_iter"] = out["n_iter"].astype(int)
    return (out, cov) if return_cov else out


_LOG0 = -1e6  # log(0) stand-in: exp(b * (-1e6 - log e)) is exactly 0 or inf for any usable b


def _fast(m: Model) -> bool:
    return m.family == "LL" and m.fixed.get("f") == 1.0


def _model_and_jac(m: Model, x, lx, psi, *, jac: bool = True):
    """Fitted values and the Jacobian on the fitting scale (log e), shape (B, n) and (B, n, k).

    Log-logistic models with f = 1 (LL.2-LL.4) take a lean path on precomputed log doses."""
    if not _fast(m):
        theta = _theta(m, psi)
        return m(x, theta), (m.jacobian(x, theta, log_e=True) if jac else None)
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


def _cost(m: Model, x, lx, y, w, psi) -> np.ndarray:
    r = _model_and_jac(m, x, lx, psi, jac=False)[0] - y
    return 0.5 * np.sum(w * r * r, axis=1)


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
            jt = jac.transpose(0, 2, 1)
            jtj = jt @ jac
            grad = (jt @ r[..., None])[..., 0]
            # Marquardt scaling by the running maximum of diag(J'J), as MINPACK does
            scale[active] = np.maximum(scale[active], np.diagonal(jtj, axis1=1, axis2=2))
            diag = np.maximum(scale[active], 1e-12)
            a = jtj + (lam[active, None] * diag)[:, :, None] * np.eye(k)
            ok_solve = np.isfinite(a).all((1, 2))
            a[~ok_solve] = np.eye(k)
            step = -np.linalg.solve(a, grad[..., None])[..., 0]
            trial = pa + step
            new_cost = _cost(m, xa, lxa, ya, wa, trial)
            old = cost[active]
            # predicted reduction of the linearised model, as MINPACK's test uses
            jstep = (jac @ step[..., None])[..., 0]
            pred = -((r * jstep).sum(1) + 0.5 * (jstep * jstep).sum(1))
            # Nielsen's damping update from the gain ratio actual / predicted reduction
            rho = (old - new_cost) / np.where(pred > 0, pred, np.nan)
            accept = np.isfinite(new_cost) & (new_cost <= old) & ok_solve & ~(rho < 1e-4)
            n_iter[active] += 1
            acc, rej = active[accept], active[~accept]
            psi[acc] = trial[accept]
            cost[acc] = new_cost[accept]
            gain = np.nan_to_num(rho[accept], nan=1.0)
            lam[acc] = np.maximum(lam[acc] * np.maximum(1 / 3, 1 - (2 * np.clip(gain, 0, 1) - 1) ** 3), 1e-15)
            nu[acc] = 2.0
            lam[rej] = np.minimum(lam[rej] * nu[rej], 1e16)
            nu[rej] *= 2.0
            actual_red = (old - new_cost) / np.maximum(old, 1e-300)
            pred_red = pred / np.maximum(old, 1e-300)
            step_rel = np.linalg.norm(step, axis=1) / (np.linalg.norm(pa, axis=1) + xtol)
            done_f = accept & (np.abs(actual_red) <= ftol) & (np.abs(pred_red) <= ftol)
            done_x = step_rel <= xtol
            done_0 = cost[active] <= 1e-30
            code = np.where(done_0, 3, np.where(done_f, 1, np.where(done_x, 2, 0)))
            # curves whose e runs off a million-fold beyond the doses are abandoned early
            if ie is not None:
                runaway = ~((psi[active, ie] > band_lo[active]) & (psi[active, ie] < band_hi[active]))
                code = np.where(runaway, -1, code)
            bad = ~np.isfinite(psi[active]).all(1) | ((lam[active] >= 1e16) & ~accept)
            code = np.where(bad & (code >= 0), -3, code)
            status[active] = code
            active = active[code == 0]
    return psi, n_iter


def _summarise(m: Model, x, y, w, psi, status, n_iter, n_obs, within) -> pd.DataFrame:
    n_curves, k = psi.shape
    theta = _theta(m, psi)
    resid = m(x, theta) - y
    rss = np.sum(w * resid * resid, axis=1) + within
    df = n_obs - k
    jac = m.jacobian(x, theta) * np.sqrt(w)[..., None]
    jtj = np.einsum("bnk,bnl->bkl", jac, jac)
    with np.errstate(all="ignore"):
        finite = np.isfinite(jtj).all((1, 2))
        jtj[~finite] = np.eye(k)
        eig = np.linalg.eigvalsh(jtj)
        singular = ~finite | (eig[:, 0] <= 1e-10 * np.maximum(np.abs(eig[:, -1]), 1e-300))
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
    cov[~conv] = np.nan
    return out, cov
