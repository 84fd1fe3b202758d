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
    raw = _read_cached(Path(paths["gdsc_example.rda"]))
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


def _read_cached(path: Path) -> pd.DataFrame:
    """Parse the .rda once (about 10 s) and keep a parquet copy beside the verified file,
    named by the file's sha256 so that a changed file can never be served from it."""
    import hashlib

    import pyreadr

    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    cached = path.with_name(f"{path.stem}.{digest}.parquet")
    try:
        import pyarrow  # noqa: F401 - parquet engine; without it we simply parse every time
    except ImportError:
        return next(iter(pyreadr.read_r(str(path)).values()))
    if cached.is_file():
        return pd.read_parquet(cached)
    raw = next(iter(pyreadr.read_r(str(path)).values()))
    tmp = cached.with_suffix(".part")
    try:
        raw.to_parquet(tmp, index=False)
        tmp.replace(cached)
    except (OSError, ValueError, TypeError):
        tmp.unlink(missing_ok=True)
    return raw
