"""GDSC raw plate readings as shipped by the gdscIC50 R package (``gdsc_example``).

One row per well: ``BARCODE``/``SCAN_ID`` (plate), ``COSMIC_ID`` and ``CELL_LINE_NAME``,
``DRUGSET_ID``, ``POSITION``, ``TAG`` (``L<k>-D<j>-S``: library drug k at dilution j,
single agent; ``NC-1``: DMSO negative control; ``NC-0``: untreated; ``B``: blank, no cells;
``PC-1``: positive control; ``UN-USED``), ``DRUG_ID``, ``CONC`` (uM) and ``INTENSITY``
(raw CellTiter-Glo luminescence). See :func:`perturbkit.pp.gdsc_normalise` for the
blank/DMSO normalisation.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def load(paths: dict[str, Path], *, drop_unused: bool = True) -> pd.DataFrame:
    """Read the plates.

    Parameters
    ----------
    drop_unused
        Drop ``UN-USED`` wells (58% of the rows; they carry no information).

    Returns
    -------
    DataFrame
        The gdscIC50 columns (``TAG`` and text columns as categoricals, ``COSMIC_ID`` int,
        ``CONC`` float uM, ``INTENSITY`` float).

    Examples
    --------
    >>> import perturbkit as pk
    >>> plates = pk.data.load("gdsc_raw_plate_gdscIC50")
    >>> plates["COSMIC_ID"].nunique(), plates["DRUG_ID"].nunique()
    (739, 8)
    """
    import pyreadr

    raw = next(iter(pyreadr.read_r(str(paths["gdsc_example.rda"])).values()))
    if drop_unused:
        raw = raw[raw["TAG"].astype(str) != "UN-USED"]
    raw = raw.reset_index(drop=True)
    for col in ("TAG", "CELL_LINE_NAME", "RESEARCH_PROJECT", "ASSAY"):
        if col in raw:
            raw[col] = raw[col].astype(str).astype("category")
    raw["COSMIC_ID"] = pd.to_numeric(raw["COSMIC_ID"]).astype("int64")
    raw["CONC"] = pd.to_numeric(raw["CONC"], errors="coerce").astype(float)
    raw["INTENSITY"] = pd.to_numeric(raw["INTENSITY"], errors="coerce").astype(float)
    return raw
