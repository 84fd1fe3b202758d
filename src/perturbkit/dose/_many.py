"""Summaries of many fitted curves: AUC over the tested range and partial pooling of log IC50s."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._models import Model, get_model

__all__ = ["curve_auc", "partial_pooling"]


def curve_auc(model: str | Model, theta: np.ndarray, lo: np.ndarray, hi: np.ndarray, n_grid: int = 64) -> np.ndarray:
    """Area under fitted curves over the tested range on the log-dose axis, divided by the
    width of that range: the mean fitted response between ``lo`` and ``hi`` (1 = no effect
    for viability relative to vehicle). Vectorised over curves.

    Parameters
    ----------
    model
        drc model name (or :class:`Model`).
    theta
        ``(B, k)`` free parameters of ``B`` curves.
    lo, hi
        ``(B,)`` lowest and highest tested dose of each curve.
    n_grid
        Trapezoid points on the log-dose axis.

    Returns
    -------
    numpy.ndarray
        ``(B,)`` normalised areas.

    Examples
    --------
    >>> import numpy as np, perturbkit as pk
    >>> auc = pk.dose.curve_auc("LL.2", np.array([[1.0, 1.0]]), np.array([0.01]), np.array([100.0]))
    >>> round(float(auc[0]), 3)
    0.5
    """
    m = get_model(model)
    t = np.linspace(0.0, 1.0, n_grid)
    with np.errstate(all="ignore"):
        grid = np.exp(np.log(lo)[:, None] + (np.log(hi) - np.log(lo))[:, None] * t[None, :])
        vals = m(grid, theta)
        return np.trapezoid(vals, t, axis=1)


def partial_pooling(
    estimate: Sequence[float] | np.ndarray,
    std_error: Sequence[float] | np.ndarray,
    groups: Sequence | np.ndarray | None = None,
) -> pd.DataFrame:
    """Shrink noisy per-curve estimates (e.g. log IC50s) toward their group mean.

    A normal-normal hierarchical model per group: ``estimate_i ~ N(theta_i, se_i^2)``,
    ``theta_i ~ N(mu, tau^2)``, with ``mu`` and ``tau^2`` by the DerSimonian-Laird method of
    moments; the posterior mean of each ``theta_i`` pulls poorly determined estimates
    (large ``se_i``) toward ``mu`` and leaves precise ones nearly alone. This is the
    spirit of GDSC's mixed-effects fit, which borrows strength across cell lines.

    Parameters
    ----------
    estimate, std_error
        Per-curve estimates and their standard errors.
    groups
        Pool within these groups (e.g. drug); ``None``: one group.

    Returns
    -------
    DataFrame
        ``pooled`` (posterior mean), ``pooled_se``, ``shrinkage`` (weight on the group mean,
        0-1), ``mu`` and ``tau`` of the group. NaN where the estimate or its SE is NaN.

    Examples
    --------
    >>> import perturbkit as pk
    >>> out = pk.dose.partial_pooling([0.0, 1.0, 5.0], [0.1, 0.1, 10.0])
    >>> bool(out["shrinkage"].iloc[2] > 0.9)
    True
    """
    est = np.asarray(estimate, float)
    se = np.asarray(std_error, float)
    if est.shape != se.shape:
        raise ValueError(f"estimate and std_error lengths differ: {est.shape} vs {se.shape}")
    if groups is not None and pd.isna(np.asarray(groups, dtype=object)).any():
        raise ValueError(f"groups has {int(pd.isna(np.asarray(groups, dtype=object)).sum())} missing label(s); "
                         "give every estimate a group")
    grp = np.zeros(est.size, int) if groups is None else pd.factorize(np.asarray(groups))[0]
    names = ["all"] if groups is None else list(pd.factorize(np.asarray(groups))[1])
    few = []
    out = pd.DataFrame({"pooled": np.nan, "pooled_se": np.nan, "shrinkage": np.nan, "mu": np.nan, "tau": np.nan},
                       index=range(est.size))
    for g in np.unique(grp):
        idx = np.flatnonzero((grp == g) & np.isfinite(est) & np.isfinite(se) & (se > 0))
        if idx.size < 3:
            few.append(f"{str(names[g])!r} ({idx.size})")
            continue
        v = se[idx] ** 2
        wts = 1 / v
        mu_fe = np.sum(wts * est[idx]) / wts.sum()
        qstat = np.sum(wts * (est[idx] - mu_fe) ** 2)
        c = wts.sum() - np.sum(wts**2) / wts.sum()
        tau2 = max(0.0, (qstat - (idx.size - 1)) / c)
        wr = 1 / (v + tau2)
        mu = np.sum(wr * est[idx]) / wr.sum()
        shrink = v / (v + tau2) if tau2 > 0 else np.ones_like(v)
        out.loc[idx, "pooled"] = shrink * mu + (1 - shrink) * est[idx]
        out.loc[idx, "pooled_se"] = np.sqrt((1 - shrink) * v)
        out.loc[idx, "shrinkage"] = shrink
        out.loc[idx, "mu"] = mu
        out.loc[idx, "tau"] = np.sqrt(tau2)
    if few:
        warnings.warn(f"group(s) {', '.join(few[:10])} have fewer than 3 finite estimates with a positive "
                      "std_error: not pooled, their rows are NaN", UserWarning, stacklevel=2)
    return out
