"""Many curves from a tidy table (e.g. every cell line x drug of a screen), fitted in one
batch, with IC50, AUC over the tested range, and partial pooling of log IC50s."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_probability
from ._batch import fit_curves
from ._models import get_model

__all__ = ["curve_auc", "fit_many", "partial_pooling"]


def curve_auc(model: str, theta: np.ndarray, lo: np.ndarray, hi: np.ndarray, n_grid: int = 64) -> np.ndarray:
    """Area under fitted curves over the tested range on the log-dose axis, divided by the
    width of that range: the mean fitted response between ``lo`` and ``hi`` (1 = no effect
    for viability relative to vehicle). Vectorised over curves.

    Parameters
    ----------
    model
        drc model name.
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


def fit_many(
    data: pd.DataFrame,
    *,
    dose: str,
    response: str,
    groupby: str | Sequence[str],
    model: str = "LL.2",
    level: float = 0.95,
    max_iter: int = 200,
) -> pd.DataFrame:
    """Fit one curve per group of a tidy table, all groups in one batch.

    Parameters
    ----------
    data
        One row per well.
    dose, response
        Column names (dose > 0 for treated wells; rows with dose 0 act as controls).
    groupby
        Column(s) defining a curve, e.g. ``["COSMIC_ID", "DRUG_ID"]``.
    model
        drc model (``"LL.2"``: viability from 1 down to 0, GDSC's two-parameter sigmoid).
    level
        Confidence level of the IC50 interval (delta method on log IC50).
    max_iter
        Iterations per curve.

    Returns
    -------
    DataFrame
        One row per group: the group columns, parameters, ``converged``, ``status``,
        ``n_wells``, ``min_dose``/``max_dose`` (tested positive range), ``ic50``
        (``e`` for LL.2/LL.3/LL.4; relative ED50 otherwise), ``ln_ic50``, ``se_ln_ic50``,
        ``ln_ic50_lower``/``ln_ic50_upper``, ``ic50_in_range`` and ``auc`` (mean fitted
        response over the tested log-dose range).

    Examples
    --------
    >>> import perturbkit as pk
    >>> d = pk.data.simulate_dose_table(n_groups=3, params={"b": 1.5, "c": 0.0, "d": 1.0, "e": 2.0},
    ...                                 noise_sd=0.03, seed=0)
    >>> res = pk.dose.fit_many(d, dose="dose", response="response", groupby="perturbation")
    >>> bool(res["converged"].all())
    True
    """
    keys = [groupby] if isinstance(groupby, str) else list(groupby)
    missing = [c for c in [dose, response, *keys] if c not in data.columns]
    if missing:
        raise KeyError(f"data has no column {missing}; available: {list(data.columns)}")
    level = check_probability(level, name="level")
    m = get_model(model)
    xs_all = pd.to_numeric(data[dose], errors="coerce").to_numpy(float)
    if (xs_all[np.isfinite(xs_all)] < 0).any():
        raise ValueError(f"data[{dose!r}] has negative doses (min {np.nanmin(xs_all)}); doses must be >= 0")
    ys_all = pd.to_numeric(data[response], errors="coerce").to_numpy(float)
    dropped = int((~(np.isfinite(xs_all) & np.isfinite(ys_all))).sum())
    if dropped:
        warnings.warn(f"{dropped} row(s) with a missing or infinite {dose!r} or {response!r} are not used "
                      "(n_wells counts the rows used)", UserWarning, stacklevel=2)
    if m.fixed.get("c") == 0 and m.fixed.get("d") == 1:
        fin = ys_all[np.isfinite(ys_all)]
        outside = int(((fin < -0.5) | (fin > 1.5)).sum())
        if outside:
            warnings.warn(
                f"{m.name} holds the limits at 0 and 1, so data[{response!r}] should be fractions (e.g. viability "
                f"relative to control), but {outside} value(s) lie outside [-0.5, 1.5] (range "
                f"[{fin.min():.3g}, {fin.max():.3g}]): its IC50s would be meaningless; normalise the "
                "responses or use a model that estimates the limits (LL.4)", UserWarning, stacklevel=2)
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(data[keys]) if len(keys) > 1 else data[keys[0]])
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(uniques))
    n = counts.max()
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    pos_in_group = np.arange(len(codes)) - np.repeat(starts, counts)
    x = np.ones((len(uniques), n))
    y = np.zeros((len(uniques), n))
    w = np.zeros((len(uniques), n))
    xs = data[dose].to_numpy(float)[order]
    ys = data[response].to_numpy(float)[order]
    rows = codes[order]
    x[rows, pos_in_group] = xs
    y[rows, pos_in_group] = ys
    w[rows, pos_in_group] = np.isfinite(xs) & np.isfinite(ys)
    res, cov = fit_curves(x, y, m, weights=w, max_iter=max_iter, return_cov=True)
    theta = res[list(m.free)].to_numpy()
    posd = np.where((w > 0) & (x > 0), x, np.nan)
    with np.errstate(all="ignore"):
        lo, hi = np.nanmin(posd, 1), np.nanmax(posd, 1)
        ic50 = m.ed(theta, 50.0)
        ie = m.free.index("e")
        # for LL models ED50 is e, and se(log e) = se(e) / e
        grad = np.zeros_like(theta)
        for j in range(theta.shape[1]):
            step = 1e-6 * np.maximum(np.abs(theta[:, j]), 1e-3)
            up, dn = theta.copy(), theta.copy()
            up[:, j] += step
            dn[:, j] -= step
            grad[:, j] = (np.log(m.ed(up, 50.0)) - np.log(m.ed(dn, 50.0))) / (2 * step)
        se_ln = np.sqrt(np.einsum("bk,bkl,bl->b", grad, cov, grad))
        q = stats.norm.ppf(0.5 + level / 2)
        auc = curve_auc(m.name, np.where(np.isfinite(theta), theta, 1.0), np.where(np.isfinite(lo), lo, 1.0),
                        np.where(np.isfinite(hi), hi, 1.0))
    del ie
    conv = res["converged"].to_numpy()
    if len(keys) > 1:
        out = pd.DataFrame(list(uniques), columns=keys)
    else:
        out = pd.DataFrame({keys[0]: np.asarray(uniques)})
    out = pd.concat([out, res.reset_index(drop=True)], axis=1)
    out["n_wells"] = (w > 0).sum(1).astype(int)  # the wells used, not the rows given
    out["min_dose"] = lo
    out["max_dose"] = hi
    out["ic50"] = np.where(conv, ic50, np.nan)
    out["ln_ic50"] = np.log(out["ic50"])
    out["se_ln_ic50"] = np.where(conv, se_ln, np.nan)
    out["ln_ic50_lower"] = out["ln_ic50"] - q * out["se_ln_ic50"]
    out["ln_ic50_upper"] = out["ln_ic50"] + q * out["se_ln_ic50"]
    out["ic50_in_range"] = conv & (out["ic50"] >= lo) & (out["ic50"] <= hi)
    out["auc"] = np.where(conv, auc, np.nan)
    return out


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
