"""GDSC release-17 IC50 matrix and genomic features, as shipped inside gdsctools 1.0.1.

IC50s are natural-log micromolar (the GDSC convention; not stated in the file itself).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TABLES = {"ic50": "IC50_v17.csv.gz", "features": "genomic_features_v17.csv.gz"}


def load(paths: dict[str, Path], *, table: str | None = None) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Read the IC50 matrix and/or the genomic features.

    Parameters
    ----------
    table
        ``"ic50"``, ``"features"``, ``"ic50_long"`` or ``None`` (a dict with ``ic50`` and
        ``features``).

    Returns
    -------
    DataFrame or dict
        ``ic50``: 988 cell lines (index ``COSMIC_ID``, int) x 265 drugs (columns are integer
        GDSC drug ids; values ln(IC50 / uM), NaN where untested). ``ic50_long``: tidy
        ``COSMIC_ID``, ``DRUG_ID``, ``ln_ic50``. ``features``: index ``COSMIC_ID``;
        ``TISSUE_FACTOR`` (str), ``MSI_FACTOR`` (0/1), ``<gene>_mut`` (0/1) and copy-number
        columns (0/1).

    Examples
    --------
    >>> import perturbkit as pk
    >>> ic50 = pk.data.load("gdsc_ic50_v17_gdsctools", table="ic50")
    >>> ic50.shape
    (988, 265)
    """
    if table not in (None, "ic50", "features", "ic50_long"):
        raise KeyError(f"unknown table {table!r}; available: ['ic50', 'ic50_long', 'features']")
    out = {}
    if table in (None, "ic50", "ic50_long"):
        raw = pd.read_csv(paths[TABLES["ic50"]]).set_index("COSMIC_ID")
        raw.columns = [int(c.split("_")[1]) for c in raw.columns]
        raw.columns.name = "DRUG_ID"
        out["ic50"] = raw
        if table == "ic50_long":
            return raw.stack().rename("ln_ic50").reset_index()
    if table in (None, "features"):
        out["features"] = pd.read_csv(paths[TABLES["features"]]).set_index("COSMIC_ID")
    return out[table] if table is not None else out
