"""``fit_curves``: many dose-response curves in one vectorised fit, from arrays or from a tidy
table with group columns (the table adapter lays the groups out as a ragged batch)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_probability
from ._batch import fit_arrays
from ._many import curve_auc
from ._models import Model, get_model

__all__ = ["fit_curves"]


def fit_curves(
    data: pd.DataFrame | np.ndarray,
    response: str | np.ndarray = "response",
    model: str | Model | Sequence[str] = "LL.4",
    *,
    dose: str = "dose",
    groupby: str | Sequence[str] = "perturbation",
    weights: str | np.ndarray | None = None,
    level: float = 0.95,
    **kwargs: Any,
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """Fit many dose-response curves at once (batched Levenberg-Marquardt, drc's models).

    Two inputs, one fitter:

    - a tidy **table** (``data`` a DataFrame): one curve per group of ``groupby``, with the
      columns ``dose`` and ``response`` (names); returns one row per group with IC50, its
      interval and the AUC;
    - **arrays** (``data`` the doses, ``(n,)`` or ``(B, n)``; ``response`` a ``(B, n)`` array):
      one curve per row; returns one row per curve (the fitter's raw table).

    :func:`perturbkit.tl.dose_response` is the AnnData adapter (one curve per feature).
    For one curve with drc's full inference (observed-information SEs, lack of fit,
    absolute doses) use :func:`fit_curve`.

    Parameters
    ----------
    data
        Tidy table (one row per well) or the dose array.
    response
        Response column name (table) or ``(B, n)`` response array.
    model
        drc model name (``"LL.4"``; ``"LL.2"`` is GDSC's viability sigmoid with limits 1 and
        0). Table input only: a list of names fits each and keeps, per group, the converged
        model with the lowest AIC (column ``model``).
    dose, groupby
        Table input: dose column (>= 0; 0 = control) and the column(s) defining a curve,
        e.g. ``["COSMIC_ID", "DRUG_ID"]``.
    weights
        Case weights: a column name (table) or an array broadcastable to the responses
        (0 marks a missing observation).
    level
        Table input: confidence level of the IC50 interval (delta method on log IC50).
    **kwargs
        Fitter options: ``start``, ``ftol``, ``xtol``, ``max_iter`` (200), ``retry``,
        ``abandon_runaway``, ``collapse``, ``method`` and, for arrays, ``return_cov``; see
        :func:`perturbkit.dose._batch.fit_arrays`.

    Returns
    -------
    DataFrame
        Arrays: one row per curve with the free parameters (``b``, ``c``, ``d``, ``e``,
        ``f``), ``se_<name>``, ``rss``, ``df_resid``, ``aic``, ``converged``, ``status``
        (:data:`STATUS`), ``n_iter``, ``e_side``; with ``return_cov=True`` also the
        ``(B, k, k)`` covariances. Table: the group columns, ``model``, the same columns,
        ``n_wells``, ``min_dose``/``max_dose`` (tested positive range), ``ic50`` (relative
        ED50: ``e`` for LL.2-LL.4), ``ln_ic50``, ``se_ln_ic50``,
        ``ln_ic50_lower``/``ln_ic50_upper``, ``ic50_in_range`` and ``auc`` (mean fitted
        response over the tested log-dose range). Failed curves carry NaN estimates.

    Raises
    ------
    KeyError
        A named column is missing from the table.
    ValueError
        Negative doses or weights; an unknown model.

    Examples
    --------
    >>> import perturbkit as pk
    >>> d = pk.data.simulate_dose_table(n_groups=3, params={"b": 1.5, "c": 0.0, "d": 1.0, "e": 2.0},
    ...                                 noise_sd=0.03, seed=0)
    >>> res = pk.dose.fit_curves(d, dose="dose", response="response", groupby="perturbation", model="LL.2")
    >>> res["ic50"].round(1).tolist(), d.groupby("perturbation")["true_e"].first().round(1).tolist()
    ([1.9, 8.3, 27.6], [2.0, 8.0, 32.0])
    >>> y = d.pivot_table(index="perturbation", columns="dose", values="response").to_numpy()
    >>> raw = pk.dose.fit_curves(d["dose"].drop_duplicates().sort_values().to_numpy(), y, "LL.2")
    >>> raw["converged"].tolist()
    [True, True, True]
    """
    if not isinstance(data, pd.DataFrame):
        return fit_arrays(data, response, model, weights=weights, **kwargs)
    if kwargs.get("return_cov"):
        raise ValueError("return_cov is for array input; a table's covariances are summarised as se_<name>")
    if isinstance(model, (str, Model)):
        return _fit_table(data, dose=dose, response=response, groupby=groupby, model=model, weights=weights,
                          level=level, **kwargs)
    tables = [_fit_table(data, dose=dose, response=response, groupby=groupby, model=m, weights=weights,
                         level=level, **kwargs) for m in model]
    if not tables:
        raise ValueError("model is an empty list; name at least one drc model")
    keys = [groupby] if isinstance(groupby, str) else list(groupby)
    both = pd.concat(tables, ignore_index=True)
    # per group: the converged model with the lowest AIC; groups where none converged keep the first
    order = both.assign(_bad=~both["converged"]).sort_values(["_bad", "aic"], kind="stable")
    best = order.drop_duplicates(keys).drop(columns="_bad")
    return tables[0][keys].merge(best, on=keys, how="left")


def _fit_table(data, *, dose, response, groupby, model, weights, level, **kwargs) -> pd.DataFrame:
    keys = [groupby] if isinstance(groupby, str) else list(groupby)
    missing = [c for c in [dose, response, *keys, *([weights] if weights else [])] if c not in data.columns]
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
                      "(n_wells counts the rows used)", UserWarning, stacklevel=3)
    if m.fixed.get("c") == 0 and m.fixed.get("d") == 1:
        fin = ys_all[np.isfinite(ys_all)]
        outside = int(((fin < -0.5) | (fin > 1.5)).sum())
        if outside:
            warnings.warn(
                f"{m.name} holds the limits at 0 and 1, so data[{response!r}] should be fractions (e.g. viability "
                f"relative to control), but {outside} value(s) lie outside [-0.5, 1.5] (range "
                f"[{fin.min():.3g}, {fin.max():.3g}]): its IC50s would be meaningless; normalise the "
                "responses or use a model that estimates the limits (LL.4)", UserWarning, stacklevel=3)
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(data[keys]) if len(keys) > 1 else data[keys[0]])
    if (codes < 0).any():
        raise ValueError(f"groupby column(s) {keys} hold missing values")
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(uniques))
    n = counts.max()
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    pos_in_group = np.arange(len(codes)) - np.repeat(starts, counts)
    x = np.ones((len(uniques), n))
    y = np.zeros((len(uniques), n))
    w = np.zeros((len(uniques), n))
    xs = xs_all[order]
    ys = ys_all[order]
    ws = data[weights].to_numpy(float)[order] if weights else np.ones_like(xs)
    rows = codes[order]
    x[rows, pos_in_group] = xs
    y[rows, pos_in_group] = ys
    w[rows, pos_in_group] = np.where(np.isfinite(xs) & np.isfinite(ys), ws, 0.0)
    res, cov = fit_arrays(x, y, m, weights=w, return_cov=True, **kwargs)
    theta = res[list(m.free)].to_numpy()
    posd = np.where((w > 0) & (x > 0), x, np.nan)
    with np.errstate(all="ignore"):
        lo, hi = np.nanmin(posd, 1), np.nanmax(posd, 1)
        ic50 = m.ed(theta, 50.0)
        # delta method on log ED50, with a central-difference gradient per curve
        grad = np.zeros_like(theta)
        for j in range(theta.shape[1]):
            step = 1e-6 * np.maximum(np.abs(theta[:, j]), 1e-3)
            up, dn = theta.copy(), theta.copy()
            up[:, j] += step
            dn[:, j] -= step
            grad[:, j] = (np.log(m.ed(up, 50.0)) - np.log(m.ed(dn, 50.0))) / (2 * step)
        se_ln = np.sqrt(np.einsum("bk,bkl,bl->b", grad, cov, grad))
        q = stats.norm.ppf(0.5 + level / 2)
        auc = curve_auc(m, np.where(np.isfinite(theta), theta, 1.0), np.where(np.isfinite(lo), lo, 1.0),
                        np.where(np.isfinite(hi), hi, 1.0))
    conv = res["converged"].to_numpy()
    if len(keys) > 1:
        out = pd.DataFrame(list(uniques), columns=keys)
    else:
        out = pd.DataFrame({keys[0]: np.asarray(uniques)})
    out["model"] = m.name
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
