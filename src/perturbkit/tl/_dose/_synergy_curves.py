"""Loewe and ZIP references: both need single-drug dose-response curves, fitted here with
:func:`perturbkit.dose.fit_curve` (four-parameter log-logistic, drc's LL.4)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from ._synergy_blocks import _mean_surface, check_blocks

__all__ = [
    "SingleDrugCurve", "fit_single_drug", "reference_surface", "single_drug_curves", "single_drug_fits",
]


@dataclass(frozen=True)
class SingleDrugCurve:
    """A log-logistic curve in drc's parameters: ``c + (d - c) / (1 + (x / e)^b)``.

    For % inhibition rising with dose, ``b < 0``, ``c`` is the response without drug and
    ``d`` the plateau at high dose. ``source`` says how it was obtained.
    """

    b: float
    c: float
    d: float
    e: float
    source: str = "LL.4"

    def predict(self, x: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            ratio = np.where(x > 0, (np.maximum(x, 1e-300) / self.e) ** self.b, np.inf if self.b < 0 else 0.0)
            return self.c + (self.d - self.c) / (1.0 + ratio)

    def dose_for(self, y: np.ndarray | float) -> np.ndarray:
        """Dose of this drug alone giving response ``y`` (inf if never reached, 0 if at baseline)."""
        y = np.asarray(y, dtype=float)
        if self.d == self.c:  # a flat curve: the drug alone never moves the response
            return np.where(y > self.c, np.inf, 0.0)
        lo, hi = min(self.c, self.d), max(self.c, self.d)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            x = self.e * ((self.d - y) / (y - self.c)) ** (1.0 / self.b)
        beyond_far = (y >= hi) if self.d > self.c else (y <= lo)
        before_start = (y <= lo) if self.d > self.c else (y >= hi)
        return np.where(beyond_far, np.inf, np.where(before_start, 0.0, x))


def fit_single_drug(dose: np.ndarray, response: np.ndarray, *, fixed: dict | None = None) -> SingleDrugCurve | None:
    """Fit LL.4 (with ``fixed`` parameters, drc style) via :func:`perturbkit.dose.fit_curve`;
    ``None`` when no fit converges."""
    from ...dose import fit_curve

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
        return SingleDrugCurve(float(p["b"]), float(p["c"]), float(p["d"]), float(p["e"]),
                               "LL.4" + (f" fixed {fx}" if fx else ""))
    return None


def _singles(surface: pd.Series) -> tuple[pd.Series, pd.Series]:
    idx = surface.index.to_frame(index=False)
    row = surface[(idx["conc_col"] == 0).to_numpy()]
    col = surface[(idx["conc_row"] == 0).to_numpy()]
    return (pd.Series(row.to_numpy(), index=row.index.get_level_values("conc_row")),
            pd.Series(col.to_numpy(), index=col.index.get_level_values("conc_col")))


def single_drug_curves(surface: pd.Series) -> tuple[SingleDrugCurve, SingleDrugCurve]:
    """Fit the row drug and the column drug of a two-drug surface (mean responses)."""
    row, col = _singles(surface)
    fits = []
    for s in (row, col):
        fit = fit_single_drug(s.index.to_numpy(), s.to_numpy())
        if fit is None:  # no log-logistic fits: treat the drug as inactive at its mean response
            mean = float(s.to_numpy()[s.index.to_numpy() > 0].mean())
            fit = SingleDrugCurve(-1.0, mean, mean, float(np.median(s.index[s.index > 0])), "flat (LL.4 failed)")
        fits.append(fit)
    return fits[0], fits[1]


def _loewe(x1: float, x2: float, f1: SingleDrugCurve, f2: SingleDrugCurve) -> float:
    """Response y solving x1 / X1(y) + x2 / X2(y) = 1 (dose additivity), capped at 100."""
    y1, y2 = float(f1.predict(x1)), float(f2.predict(x2))

    def g(y: float) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = x1 / f1.dose_for(y) if x1 > 0 else 0.0
            t2 = x2 / f2.dose_for(y) if x2 > 0 else 0.0
        return float(np.nan_to_num(t1, nan=0.0, posinf=1e12) + np.nan_to_num(t2, nan=0.0, posinf=1e12)) - 1.0

    lo = max(y1, y2)
    hi = max(f1.d, f1.c, f2.d, f2.c)
    if hi - lo <= 1e-9 or g(lo) <= 0:
        return min(lo, 100.0)
    top = hi - 1e-9 * max(1.0, abs(hi))
    if g(top) > 0:
        return min(top, 100.0)
    return min(optimize.brentq(g, lo, top, xtol=1e-10), 100.0)


def reference_surface(
    surface: pd.Series, method: str, *, fits: tuple[SingleDrugCurve, SingleDrugCurve] | None = None
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


def single_drug_fits(data: pd.DataFrame, *, block_key: str = "block_id") -> pd.DataFrame:
    """The single-drug curves that Loewe and ZIP use, one row per two-drug block and drug.

    Parameters
    ----------
    data
        Tidy combination table (see :func:`perturbkit.tl.synergy`).
    block_key
        Column naming the blocks.

    Returns
    -------
    pandas.DataFrame
        ``block_id``, ``drug`` (``"row"``/``"col"``), drc's ``b``, ``c``, ``d``, ``e`` (float;
        ``e`` in the dose unit) and ``source`` (``"LL.4"``, ``"LL.4 fixed {...}"`` or
        ``"flat (LL.4 failed)"``).

    Examples
    --------
    >>> import perturbkit as pk
    >>> fits = pk.tl.single_drug_fits(pk.data.simulate_combination(seed=0))
    >>> fits.shape
    (6, 7)
    """
    checked = check_blocks(data, block_key=block_key)
    rows = []
    for block, sub in checked.groupby(block_key, sort=False):
        if "conc_3" in sub and (sub["conc_3"] > 0).any():
            continue
        f_row, f_col = single_drug_curves(_mean_surface(sub, ("conc_row", "conc_col")))
        for name, f in (("row", f_row), ("col", f_col)):
            rows.append({block_key: block, "drug": name, "b": f.b, "c": f.c, "d": f.d, "e": f.e, "source": f.source})
    return pd.DataFrame(rows)
