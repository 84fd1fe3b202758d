"""The batched fitter against a per-curve ``scipy.optimize.curve_fit`` loop, same curves,
same starting values, same parameterisation and the same MINPACK stopping rules."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.special import expit

from ._batch import _LOG0, _collapse, batch_start, canonical, fit_arrays
from ._fit import _nonsingular
from ._models import get_model

__all__ = ["compare_with_scipy"]


class _RunAway(Exception):
    pass


def _ll4(lx, b, c, d, le):
    return c + (d - c) * expit(-b * (lx - le))


def _guarded(lo: float, hi: float):
    def f(lx, b, c, d, le):
        if not lo < le < hi:
            raise _RunAway
        return _ll4(lx, b, c, d, le)

    return f


def _ll4_jac(lx, b, c, d, le):
    diff = lx - le
    h = expit(-b * diff)
    dh = -h * (1.0 - h) * (d - c)
    return np.column_stack([dh * diff, 1.0 - h, h, -dh * b])


def _valid(theta: np.ndarray, x: np.ndarray, w: np.ndarray, jtj_ok: np.ndarray) -> np.ndarray:
    pos = np.where((x > 0) & (w > 0), x, np.nan)
    with np.errstate(all="ignore"):
        e = theta[:, 3]
        return np.isfinite(theta).all(1) & (e >= np.nanmin(pos, 1) / 1e3) & (e <= np.nanmax(pos, 1) * 1e3) & jtj_ok


def compare_with_scipy(
    dose: np.ndarray,
    response: np.ndarray,
    weights: np.ndarray,
    *,
    ftol: float = 1.49012e-08,
    xtol: float = 1.49012e-08,
    maxfev: int = 500,
    abandon_runaway: bool = False,
) -> dict:
    """Time and compare :func:`fit_curves` (LL.4) with a ``curve_fit`` loop on the same curves.

    Both fit the same curves (replicate doses collapsed to weighted means, which is exact for
    least squares), start from the same self-start values, optimise ``(b, c, d, log e)`` with the
    analytic Jacobian, and stop by MINPACK's rules with the same ``ftol``/``xtol``; the
    batched fitter gets ``max_iter = maxfev`` iterations (``curve_fit``'s default budget
    with a Jacobian is ``100 * (k + 1)`` = 500 evaluations), no early abandoning of
    run-away curves and no restarts. A fit counts as *converged* when the optimiser reports
    success, and as *valid* when in addition ``e`` lies within 1000-fold of the tested doses
    and ``J'J`` is non-singular on the correlation scale (the batched fitter's own test).

    Parameters
    ----------
    dose, response, weights
        ``(B, n)`` curves (e.g. from :func:`perturbkit.get.dose_curves`).
    ftol, xtol, maxfev
        MINPACK stopping rules and evaluation budget shared by both fitters.
    abandon_runaway
        Stop run-away curves early in both fitters.

    Returns
    -------
    dict
        ``n_curves``, ``seconds_batched``, ``seconds_scipy``, ``speedup``,
        ``converged_batched``/``converged_scipy`` (optimiser stopped by its tolerances),
        ``abandoned_batched``/``abandoned_scipy`` (run-aways stopped early), and
        ``valid_batched``/``valid_scipy`` (fractions), ``both_valid`` (count), ``max_rel_diff`` (over b, d, e of curves valid
        in both), ``frac_rel_diff_below_1e-4``, ``frac_diff_below_0.01_se`` (the largest of the b, d, e
        differences below 1% of the batched standard error), ``rss_ratio_p99`` (99th percentile of
        batched RSS / scipy RSS on those curves) and ``table`` (per-curve DataFrame).

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(n_genes=20, n_response_genes=5, seed=0)
    >>> c = pk.get.dose_curves(sim)
    >>> res = pk.dose.compare_with_scipy(c["dose"], c["response"], c["weights"])
    >>> res["n_curves"]
    20
    """
    m = get_model("LL.4")
    x = np.asarray(dose, float)
    y = np.asarray(response, float)
    w = np.asarray(weights, float)
    t0 = time.perf_counter()
    batched = fit_arrays(x, y, m, weights=w, ftol=ftol, xtol=xtol, max_iter=maxfev, retry=False,
                         abandon_runaway=abandon_runaway)
    t_batch = time.perf_counter() - t0
    # scipy gets the same (collapsed) curves: replicate doses as one weighted point
    xc, yc, wc, within = _collapse(x, y, w)
    start = batch_start(m, xc, yc, wc)
    theta_sp = np.full((len(y), 4), np.nan)
    conv_sp = np.zeros(len(y), bool)
    jtj_ok = np.zeros(len(y), bool)
    rss_sp = np.full(len(y), np.nan)
    runaway_sp = np.zeros(len(y), bool)
    with np.errstate(divide="ignore"):
        lx_all = np.where(xc > 0, np.log(np.where(xc > 0, xc, 1.0)), _LOG0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for i in range(len(y)):
            keep = wc[i] > 0
            lx, yi, sigma = lx_all[i, keep], yc[i, keep], 1.0 / np.sqrt(wc[i, keep])
            p0 = start[i].copy()
            p0[3] = np.log(p0[3])
            pos = lx[lx > _LOG0]
            fn = _guarded(pos.min() - np.log(1e6), pos.max() + np.log(1e6)) if abandon_runaway else _ll4
            try:
                popt, _ = curve_fit(fn, lx, yi, p0=p0, sigma=sigma, jac=_ll4_jac, ftol=ftol, xtol=xtol,
                                    maxfev=maxfev)
            except (RuntimeError, ValueError):
                continue
            except _RunAway:
                runaway_sp[i] = True
                continue
            conv_sp[i] = True
            theta_sp[i] = [popt[0], popt[1], popt[2], np.exp(popt[3])]
            jac = _ll4_jac(lx, *popt) / sigma[:, None]
            jac[:, 3] /= np.exp(popt[3])
            jtj = jac.T @ jac
            jtj_ok[i] = _nonsingular(jtj)  # the batched fitter's own test (correlation scale)
            rss_sp[i] = float(np.sum(((_ll4(lx, *popt) - yi) / sigma) ** 2)) + within[i]
    t_scipy = time.perf_counter() - t0
    theta_sp = canonical(m, theta_sp)
    valid_sp = conv_sp & _valid(theta_sp, xc, wc, jtj_ok)
    # the batched fitter's own verdicts: status > 0 is converged and valid; -1/-2 are
    # optimiser-converged curves that failed the validity checks
    status = batched["status"].to_numpy()
    # "converged" = the optimiser stopped by ftol/xtol (abandoned run-aways count as failures)
    conv_b = np.isin(status, [1, 2, 3, -2]) | ((status == -1) & ~abandon_runaway)
    valid_b = status > 0
    both = valid_b & valid_sp
    theta_b = batched[["b", "c", "d", "e"]].to_numpy()
    with np.errstate(all="ignore"):
        rel = np.abs(theta_b - theta_sp) / np.maximum(np.abs(theta_sp), 1e-12)
        rel_bde = rel[:, [0, 2, 3]]
        worst = np.nanmax(rel_bde[both], axis=1) if both.any() else np.array([])
        # the same differences in units of the standard error: on a weakly determined curve
        # (standard error above the estimate) the stopping rule decides digits no data support
        se_bde = batched[["se_b", "se_d", "se_e"]].to_numpy()
        worst_se = np.nanmax((np.abs(theta_b - theta_sp)[:, [0, 2, 3]] / se_bde)[both], axis=1) if both.any() else np.array([])
        rss_ratio = batched["rss"].to_numpy()[both] / rss_sp[both]
    table = pd.DataFrame({
        "status_batched": status, "converged_scipy": conv_sp, "valid_scipy": valid_sp,
        "e_batched": theta_b[:, 3], "e_scipy": theta_sp[:, 3],
        "rss_batched": batched["rss"].to_numpy(), "rss_scipy": rss_sp,
    })
    return {
        "n_curves": int(len(y)),
        "seconds_batched": t_batch,
        "seconds_scipy": t_scipy,
        "speedup": t_scipy / t_batch,
        "converged_batched": float(conv_b.mean()),
        "converged_scipy": float(conv_sp.mean()),
        "abandoned_scipy": float(runaway_sp.mean()),
        "abandoned_batched": float(((status == -1) & abandon_runaway).mean()),
        "valid_batched": float(valid_b.mean()),
        "valid_scipy": float(valid_sp.mean()),
        "both_valid": int(both.sum()),
        "max_rel_diff": float(worst.max()) if worst.size else float("nan"),
        "median_rel_diff": float(np.median(worst)) if worst.size else float("nan"),
        "frac_rel_diff_below_1e-4": float((worst < 1e-4).mean()) if worst.size else float("nan"),
        "frac_rel_diff_below_1e-2": float((worst < 1e-2).mean()) if worst.size else float("nan"),
        "frac_diff_below_0.01_se": float((worst_se < 0.01).mean()) if worst_se.size else float("nan"),
        "p99_rel_diff": float(np.quantile(worst, 0.99)) if worst.size else float("nan"),
        "frac_same_rss": float((np.abs(rss_ratio - 1) < 1e-6).mean()) if rss_ratio.size else float("nan"),
        "frac_batched_lower_rss": float((rss_ratio < 1 - 1e-6).mean()) if rss_ratio.size else float("nan"),
        "rss_ratio_p99": float(np.quantile(rss_ratio, 0.99)) if rss_ratio.size else float("nan"),
        "table": table,
    }
