"""GDSC plate normalisation: raw luminescence to viability against blanks and DMSO wells."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["gdsc_normalise", "gdsc_plate_qc"]

_REQUIRED = ("SCAN_ID", "TAG", "COSMIC_ID", "DRUG_ID", "CONC", "INTENSITY")


def gdsc_normalise(plates: pd.DataFrame, *, min_z_factor: float | None = None) -> pd.DataFrame:
    """Normalise GDSC raw plates the way gdscIC50 does, per plate (``SCAN_ID``).

    ``viability = (intensity - mean(blanks)) / (mean(NC-1) - mean(blanks))``: blanks
    (``B``, medium without cells) give the zero of the luminescence scale, the DMSO
    negative controls (``NC-1``) full viability. Plate quality is summarised by the Z
    factor between ``NC-1`` and the positive-control wells (``PC-1``, a cytotoxic drug):
    ``Z = 1 - 3 (sd_NC + sd_PC) / |mean_NC - mean_PC|`` (above 0.5 is a good assay).

    Parameters
    ----------
    plates
        ``pk.data.load("gdsc_raw_plate_gdscIC50")``.
    min_z_factor
        Drop plates whose Z factor is below this (``None`` keeps all, flagged).

    Returns
    -------
    DataFrame
        One row per drug-treated well (tags ``L*-D*-S``): ``SCAN_ID``, ``COSMIC_ID``,
        ``CELL_LINE_NAME``, ``DRUG_ID`` (int), ``CONC`` (uM), ``viability`` (float; can
        leave [0, 1] through noise), ``z_factor`` of its plate (the per-plate table is
        :func:`gdsc_plate_qc`).

    Raises
    ------
    KeyError
        A required column is missing.
    ValueError
        A plate has no blank or no NC-1 wells, or its DMSO signal does not exceed the blanks.

    Examples
    --------
    >>> import perturbkit as pk
    >>> wells = pk.pp.gdsc_normalise(pk.data.load("gdsc_raw_plate_gdscIC50"))
    >>> round(float(wells["viability"].median()), 1) < 1
    True
    """
    stats = gdsc_plate_qc(plates)
    tag = plates["TAG"].astype(str)
    treated = plates[tag.str.match(r"^L\d+-D\d+-S$")].copy()
    s = stats.loc[treated["SCAN_ID"]]
    treated["viability"] = (treated["INTENSITY"].to_numpy() - s["blank"].to_numpy()) / (
        s["dmso"].to_numpy() - s["blank"].to_numpy()
    )
    treated["z_factor"] = s["z_factor"].to_numpy()
    if min_z_factor is not None:
        treated = treated[treated["z_factor"] >= min_z_factor]
    cols = ["SCAN_ID", "COSMIC_ID", "CELL_LINE_NAME", "DRUG_ID", "CONC", "viability", "z_factor"]
    out = treated[[c for c in cols if c in treated.columns]].reset_index(drop=True)
    out["DRUG_ID"] = out["DRUG_ID"].astype(int)
    return out


def gdsc_plate_qc(plates: pd.DataFrame) -> pd.DataFrame:
    """Per-plate controls and Z factor of GDSC raw plates (what :func:`gdsc_normalise` uses).

    Parameters
    ----------
    plates
        ``pk.data.load("gdsc_raw_plate_gdscIC50")`` or ``pk.data.simulate_viability_plates()``.

    Returns
    -------
    DataFrame
        Indexed by ``SCAN_ID``: ``blank``, ``dmso``, ``dmso_sd``, ``positive``,
        ``positive_sd`` (mean and SD intensity of the B, NC-1 and PC-1 wells), ``n_dmso``
        (int) and ``z_factor``.

    Raises
    ------
    KeyError
        A required column is missing.
    ValueError
        A plate has no blank or no NC-1 wells, or its DMSO signal does not exceed the blanks.

    Examples
    --------
    >>> import perturbkit as pk
    >>> qc = pk.pp.gdsc_plate_qc(pk.data.simulate_viability_plates(n_cell_lines=5, seed=0))
    >>> len(qc), bool((qc["z_factor"] > 0.5).all())
    (5, True)
    """
    missing = [c for c in _REQUIRED if c not in plates.columns]
    if missing:
        raise KeyError(f"plates has no column {missing}; available: {list(plates.columns)}")
    tag = plates["TAG"].astype(str)
    inten = plates["INTENSITY"].astype(float)
    scan = plates["SCAN_ID"]
    stats = pd.DataFrame({
        "blank": inten[tag == "B"].groupby(scan[tag == "B"]).mean(),
        "dmso": inten[tag == "NC-1"].groupby(scan[tag == "NC-1"]).mean(),
        "dmso_sd": inten[tag == "NC-1"].groupby(scan[tag == "NC-1"]).std(),
        "positive": inten[tag == "PC-1"].groupby(scan[tag == "PC-1"]).mean(),
        "positive_sd": inten[tag == "PC-1"].groupby(scan[tag == "PC-1"]).std(),
        "n_dmso": (tag == "NC-1").groupby(scan).sum(),
    })
    lacking = stats.index[stats["blank"].isna() | stats["dmso"].isna()]
    if len(lacking):
        raise ValueError(f"{len(lacking)} plate(s) lack blank or NC-1 wells, e.g. SCAN_ID {lacking[0]}")
    flat = stats.index[stats["dmso"] <= stats["blank"]]
    if len(flat):
        raise ValueError(f"{len(flat)} plate(s) have DMSO signal at or below the blanks, e.g. SCAN_ID {flat[0]}")
    with np.errstate(divide="ignore", invalid="ignore"):
        stats["z_factor"] = 1 - 3 * (stats["dmso_sd"] + stats["positive_sd"]) / (stats["dmso"] - stats["positive"]).abs()
    return stats
