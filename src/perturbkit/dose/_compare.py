"""Several models for one curve (AIC comparison, drc's ``mselect``) and the tidy potency table
of a dict of single-curve fits."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._fit import ConvergenceWarning, DoseResponseFit, fit_curve

__all__ = ["DEFAULT_MODELS", "compare_models", "fit_best", "potency_table"]

#: Models tried by :func:`compare_models` unless told otherwise.
DEFAULT_MODELS = ("LL.2", "LL.3", "LL.4", "LL.5", "W1.4", "W2.4")


def _fit_quietly(dose, response, model, **kw) -> DoseResponseFit | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return fit_curve(dose, response, model, **kw)
        except ValueError as err:
            # too few dose levels for this model: it is simply not a candidate
            if "distinct levels" in str(err):
                return None
            raise


def compare_models(
    dose: Sequence[float] | np.ndarray,
    response: Sequence[float] | np.ndarray,
    models: Sequence[str] = DEFAULT_MODELS,
    **kwargs: Any,
) -> pd.DataFrame:
    """Fit several models to one curve and rank them by AIC (drc's ``mselect``).

    Parameters
    ----------
    dose, response
        One curve's data (see :func:`fit_curve`).
    models
        drc model names to try.
    **kwargs
        Passed to :func:`fit_curve` (``type``, ``weights``, ...).

    Returns
    -------
    DataFrame
        One row per model, best (lowest AIC) first: ``converged``, ``n_params``,
        ``loglik``, ``aic``, ``delta_aic`` (to the best converged model), ``lack_of_fit_pvalue``
        (drc's ``modelFit``; small means the model misses the dose-level means), ``ed50``
        with ``ed50_lower``/``ed50_upper`` and ``message``. Models that did not converge stay
        in the table with NaN numbers, at the bottom.

    Examples
    --------
    >>> import perturbkit as pk
    >>> d = pk.data.simulate_dose_table(seed=0)
    >>> table = pk.dose.compare_models(d["dose"], d["response"], models=["LL.3", "LL.4"])
    >>> list(table.columns[:3])
    ['converged', 'n_params', 'loglik']
    """
    rows = []
    for name in models:
        fit = _fit_quietly(dose, response, name, **kwargs)
        if fit is None:
            continue
        ed = fit.ed(50)
        rows.append(
            {
                "model": name,
                "converged": fit.converged,
                "n_params": len(fit.model.free),
                "loglik": fit.loglik,
                "aic": fit.aic,
                "lack_of_fit_pvalue": float(fit.lack_of_fit()["pvalue"]) if fit.converged else np.nan,
                "ed50": float(ed["estimate"].iloc[0]),
                "ed50_lower": float(ed["lower"].iloc[0]),
                "ed50_upper": float(ed["upper"].iloc[0]),
                "message": fit.message,
            }
        )
    if not rows:
        raise ValueError(f"none of the models {list(models)} can be fitted to {np.unique(dose).size} dose levels")
    table = pd.DataFrame(rows).set_index("model")
    table["delta_aic"] = table["aic"] - table["aic"].min()
    table = table.sort_values(["converged", "aic"], ascending=[False, True])
    return table[["converged", "n_params", "loglik", "aic", "delta_aic", "lack_of_fit_pvalue",
                  "ed50", "ed50_lower", "ed50_upper", "message"]]


def fit_best(
    dose: Sequence[float] | np.ndarray,
    response: Sequence[float] | np.ndarray,
    models: Sequence[str] = DEFAULT_MODELS,
    **kwargs: Any,
) -> DoseResponseFit:
    """The converged model with the lowest AIC among ``models`` (see :func:`compare_models`).

    If no model converges, the last attempt is returned with ``converged=False`` (and NaN
    estimates), never a number from a failed fit.

    Parameters
    ----------
    dose, response
        One curve's data.
    models
        drc model names to try.
    **kwargs
        Passed to :func:`fit_curve`.

    Returns
    -------
    DoseResponseFit
        The selected fit (``fit.model.name`` says which).

    Examples
    --------
    >>> import perturbkit as pk
    >>> d = pk.data.simulate_dose_table(seed=0)
    >>> pk.dose.fit_best(d["dose"], d["response"], models=["LL.3", "LL.4"]).model.name in {"LL.3", "LL.4"}
    True
    """
    best, last = None, None
    for name in models:
        fit = _fit_quietly(dose, response, name, **kwargs)
        if fit is None:
            continue
        last = fit
        if fit.converged and (best is None or fit.aic < best.aic):
            best = fit
    if best is None:
        if last is None:
            raise ValueError(f"none of the models {list(models)} can be fitted to these doses")
        warnings.warn(f"no model among {list(models)} converged", ConvergenceWarning, stacklevel=2)
        return last
    return best


def potency_table(
    fits: dict,
    *,
    p: float = 50,
    absolute: float | None = None,
    level: float = 0.95,
    interval: str = "delta",
) -> pd.DataFrame:
    """Tidy table of potencies from single-curve fits: one row per group.

    Parameters
    ----------
    fits
        Group -> :class:`DoseResponseFit` (from :func:`fit_curve` or :func:`fit_best`), e.g.
        ``{drug: pk.dose.fit_curve(g["dose"], g["response"]) for drug, g in data.groupby("perturbation")}``.
    p
        Relative ED(p) to report (50: the dose halfway between the fitted limits).
    absolute
        Also report the dose where the curve crosses this absolute response (0.5 for an
        absolute IC50 on viability scaled to the vehicle).
    level
        Confidence level.
    interval
        ``"delta"`` (drc) or ``"log-delta"`` (delta method on the log dose; positive bounds).

    Returns
    -------
    DataFrame
        ``model``, ``converged``, the parameters (``b``, ``c``, ``d``, ``e``, ``f`` where
        free), ``aic``, ``lack_of_fit_pvalue``, ``ed``, ``ed_lower``, ``ed_upper``,
        ``ed_in_range`` and, with ``absolute``, ``abs_dose``, ``abs_lower``, ``abs_upper``,
        ``abs_reached``, ``abs_in_range``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> d = pk.data.simulate_dose_table(n_groups=2, seed=0)
    >>> fits = {drug: pk.dose.fit_curve(g["dose"], g["response"]) for drug, g in d.groupby("perturbation")}
    >>> table = pk.dose.potency_table(fits, absolute=4.0)
    >>> list(table.index), bool(table["converged"].all())
    (['drug0', 'drug1'], True)
    """
    rows = []
    for key, fit in fits.items():
        if fit is None:
            rows.append({"group": key, "converged": False})
            continue
        row = {"group": key, "model": fit.model.name, "converged": fit.converged}
        row.update(fit.params.to_dict())
        ed = fit.ed(p, level=level, interval=interval).iloc[0]
        row.update(
            {
                "aic": fit.aic,
                "lack_of_fit_pvalue": float(fit.lack_of_fit()["pvalue"]) if fit.converged else np.nan,
                "ed": ed["estimate"],
                "ed_lower": ed["lower"],
                "ed_upper": ed["upper"],
                "ed_in_range": bool(ed["in_range"]),
            }
        )
        if absolute is not None:
            ab = fit.dose_at(absolute, ci_level=level, interval=interval).iloc[0]
            row.update(
                {
                    "abs_dose": ab["estimate"],
                    "abs_lower": ab["lower"],
                    "abs_upper": ab["upper"],
                    "abs_reached": bool(ab["reached"]),
                    "abs_in_range": bool(ab["in_range"]),
                }
            )
        rows.append(row)
    return pd.DataFrame(rows).set_index("group")
