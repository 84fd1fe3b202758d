"""Loewe and ZIP references: both need single-drug dose-response curves, fitted here with
:func:`perturbkit.dose.fit_curve` (four-parameter log-logistic, drc's LL.4)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize

from ...dose import Curve, fit_curve

__all__ = ["fit_single_drug", "flat_curve", "reference_surface", "single_drug_curves"]


def fit_single_drug(dose: np.ndarray, response: np.ndarray, *, fixed: dict | None = None) -> Curve | None:
    """Fit LL.4 (with ``fixed`` parameters, drc style) via :func:`perturbkit.dose.fit_curve`;
    ``None`` when no fit converges."""
    attempts = [fixed or None] if fixed is not None else [None, {"c": 0.0}, {"c": 0.0, "d": 100.0}]
    for fx in attempts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = fit_curve(dose, response, "LL.4", fixed=fx)
        except ValueError:
            continue
        if not fit.converged:
            continue
        p = {**(fx or {}), **fit.params.to_dict()}
        return Curve("LL.4", {k: float(p[k]) for k in "bcde"}, "LL.4" + (f" fixed {fx}" if fx else ""))
    return None


def _singles(surface: pd.Series) -> tuple[pd.Series, pd.Series]:
    idx = surface.index.to_frame(index=False)
    row = surface[(idx["conc_col"] == 0).to_numpy()]
    col = surface[(idx["conc_row"] == 0).to_numpy()]
    return (pd.Series(row.to_numpy(), index=row.index.get_level_values("conc_row")),
            pd.Series(col.to_numpy(), index=col.index.get_level_values("conc_col")))


def flat_curve(single: pd.Series, source: str) -> Curve:
    """A drug treated as inactive: a flat curve at its mean response over the positive doses."""
    dose = single.index.to_numpy()
    mean = float(single.to_numpy()[dose > 0].mean())
    return Curve("LL.4", {"b": -1.0, "c": mean, "d": mean, "e": float(np.median(dose[dose > 0]))}, source)


def single_drug_curves(surface: pd.Series) -> tuple[Curve, Curve]:
    """Fit the row drug and the column drug of a two-drug surface (mean responses)."""
    row, col = _singles(surface)
    fits = []
    for s in (row, col):
        fit = fit_single_drug(s.index.to_numpy(), s.to_numpy())
        if fit is None:  # no log-logistic fits: treat the drug as inactive at its mean response
            fit = flat_curve(s, "flat (LL.4 failed)")
        fits.append(fit)
    return fits[0], fits[1]


def _loewe(x1: float, x2: float, f1: Curve, f2: Curve) -> float:
    """Response y solving x1 / X1(y) + x2 / X2(y) = 1 (dose additivity), capped at 100."""
    y1, y2 = float(f1.predict(x1)), float(f2.predict(x2))

    def g(y: float) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = x1 / f1.dose_at(y) if x1 > 0 else 0.0
            t2 = x2 / f2.dose_at(y) if x2 > 0 else 0.0
        return float(np.nan_to_num(t1, nan=0.0, posinf=1e12) + np.nan_to_num(t2, nan=0.0, posinf=1e12)) - 1.0

    lo = max(y1, y2)
    hi = max(f1.params["d"], f1.params["c"], f2.params["d"], f2.params["c"])
    if hi - lo <= 1e-9 or g(lo) <= 0:
        return min(lo, 100.0)
    top = hi - 1e-9 * max(1.0, abs(hi))
    if g(top) > 0:
        return min(top, 100.0)
    return min(optimize.brentq(g, lo, top, xtol=1e-10), 100.0)


def reference_surface(
    surface: pd.Series, method: str, *, fits: tuple[Curve, Curve] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reference (expected) and fitted responses for ``"loewe"`` or ``"zip"``, aligned with
    ``surface`` (mean responses indexed by ``conc_row``, ``conc_col``).

    Loewe: the response the two drugs would give if each were a dilution of the other
    (x1/X1(y) + x2/X2(y) = 1, SynergyFinder's Loewe; capped at 100 %). ZIP: every row and
    column of the matrix is refitted with a log-logistic whose bottom is the partner's
    single-drug response and whose top is 100 %, the two fits averaged (``fitted``), and
    compared with Bliss applied to the fitted single-drug curves {cite}`yadav2015zip`.
    """
    f_row, f_col = fits if fits is not None else single_drug_curves(surface)
    idx = surface.index.to_frame(index=False)
    xr, xc = idx["conc_row"].to_numpy(), idx["conc_col"].to_numpy()
    observed = surface.to_numpy()
    if method == "loewe":
        ref = np.array([_loewe(a, b, f_row, f_col) if a > 0 and b > 0 else np.nan for a, b in zip(xr, xc, strict=True)])
        return ref, observed
    if method != "zip":
        raise ValueError(f"method must be 'loewe' or 'zip', got {method!r}")
    mat = surface.unstack("conc_col")  # rows conc_row, columns conc_col, both sorted
    rows, cols = mat.index.to_numpy(), mat.columns.to_numpy()
    yr, yc = f_row.predict(rows), f_col.predict(cols)
    by_col = np.full(mat.shape, np.nan)  # each column j: curve along the row drug, bottom yc[j]
    for j in range(1, len(cols)):
        resp = mat.iloc[1:, j].to_numpy()
        fit = fit_single_drug(rows[1:], resp, fixed={"c": float(yc[j]), "d": 100.0}) if len(rows) > 2 else None
        by_col[1:, j] = fit.predict(rows[1:]) if fit is not None else resp
    by_row = np.full(mat.shape, np.nan)
    for i in range(1, len(rows)):
        resp = mat.iloc[i, 1:].to_numpy()
        fit = fit_single_drug(cols[1:], resp, fixed={"c": float(yr[i]), "d": 100.0}) if len(cols) > 2 else None
        by_row[i, 1:] = fit.predict(cols[1:]) if fit is not None else resp
    fitted = (by_col + by_row) / 2
    zip_ref = yr[:, None] + yc[None, :] - yr[:, None] * yc[None, :] / 100.0
    pos = {(r, c): (i, j) for i, r in enumerate(rows) for j, c in enumerate(cols)}
    ij = np.array([pos[(a, b)] for a, b in zip(xr, xc, strict=True)])
    return zip_ref[ij[:, 0], ij[:, 1]], np.where(np.isnan(fitted[ij[:, 0], ij[:, 1]]), observed,
                                                  fitted[ij[:, 0], ij[:, 1]])
