"""SynergyFinder's example drug-combination blocks (O'Neil 2016, Mathews Griner 2014, NCATS).

Returns one tidy table, one row per well (replicates kept as separate rows):

==============  ==================================================================
``set``         ``"oneil"``, ``"mathews"`` or ``"ncats"``
``block_id``    ``"<set>_<n>"``, unique across the three sets
``drug_row``    drug whose doses run down the rows (SynergyFinder's ``drug1``)
``drug_col``    drug whose doses run along the columns (``drug2``)
``conc_row``    dose of ``drug_row`` (float, unit ``conc_unit``; 0 = not added)
``conc_col``    dose of ``drug_col``
``drug_3``      third drug of the NCATS 3-drug design (empty string elsewhere)
``conc_3``      dose of ``drug_3`` (0 where there is no third drug)
``conc_unit``   ``"uM"`` (O'Neil, NCATS) or ``"nM"`` (Mathews Griner)
``response``    % inhibition (0 = as untreated, 100 = no viable cells). Mathews Griner and
                NCATS record % viability (SynergyFinder reads them with
                ``data_type = "viability"``), converted here as 100 - viability
``cell_line``   cell line (Mathews Griner: ``"TMD8"``, an ABC-DLBCL line, which the table
                does not record; SynergyFinder's vignette names it; NCATS:
                ``"P. falciparum"``, the malaria parasite)
``replicate``   replicate number within a dose combination (1, 2, ...)
==============  ==================================================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

_FILES = {
    "oneil": "ONEIL_screening_data.rda",
    "mathews": "mathews_screening_data.rda",
    "ncats": "NCATS_screening_data.rda",
}
# sets whose table holds % viability rather than % inhibition (untreated wells read ~100)
_VIABILITY = {"mathews", "ncats"}
COLUMNS = [
    "set", "block_id", "drug_row", "drug_col", "conc_row", "conc_col", "drug_3", "conc_3",
    "conc_unit", "response", "cell_line", "replicate",
]


def _read(path: Path) -> pd.DataFrame:
    import pyreadr

    return next(iter(pyreadr.read_r(str(path)).values()))


def _tidy(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    if name == "mathews":
        units = set(raw["conc_r_unit"]) | set(raw["conc_c_unit"])
        if len(units) != 1:
            raise ValueError(f"mathews_screening_data mixes concentration units {units}")
        out = pd.DataFrame({
            "drug_row": raw["drug_row"], "drug_col": raw["drug_col"],
            "conc_row": raw["conc_r"], "conc_col": raw["conc_c"],
            "conc_unit": units.pop(), "cell_line": "TMD8",  # named in SynergyFinder's vignette
        })
    else:
        out = pd.DataFrame({
            "drug_row": raw["drug1"], "drug_col": raw["drug2"],
            "conc_row": raw["conc1"], "conc_col": raw["conc2"],
        })
        if name == "ncats":
            units = set(raw["conc_unit1"]) | set(raw["conc_unit2"]) | set(raw["conc_unit3"])
            out["drug_3"], out["conc_3"] = raw["drug3"], raw["conc3"]
            out["cell_line"] = "P. falciparum"  # NCATS Malaria TACT project: parasite growth
        else:
            units = set(raw["conc_unit"])
            out["cell_line"] = raw["cell_line_name"]
        if len(units) != 1:
            raise ValueError(f"{name} screening data mixes concentration units {units}")
        out["conc_unit"] = units.pop()
    out["set"] = name
    out["block_id"] = [f"{name}_{int(b)}" for b in raw["block_id"]]
    viability = name in _VIABILITY
    out["response"] = 100.0 - raw["response"].astype(float) if viability else raw["response"].astype(float)
    if "drug_3" not in out:
        out["drug_3"], out["conc_3"] = "", 0.0
    keys = ["block_id", "conc_row", "conc_col", "conc_3"]
    out["replicate"] = out.groupby(keys, sort=False).cumcount() + 1
    return out


def load(paths: dict[str, Path], *, sets: tuple[str, ...] = ("oneil", "mathews", "ncats")) -> pd.DataFrame:
    """Read the three SynergyFinder example sets into one tidy table (see module docstring).

    Parameters
    ----------
    paths
        File name -> local path, from :func:`perturbkit.data.fetch`.
    sets
        Which sets to read.

    Examples
    --------
    >>> import perturbkit as pk
    >>> blocks = pk.data.load("drugcomb_synergyfinder")
    >>> blocks.groupby("set")["block_id"].nunique().to_dict()
    {'mathews': 2, 'ncats': 2, 'oneil': 2}
    """
    unknown = set(sets) - set(_FILES)
    if unknown:
        raise ValueError(f"unknown set(s) {sorted(unknown)}; choose from {sorted(_FILES)}")
    frames = [_tidy(_read(paths[_FILES[s]]), s) for s in sets]
    table = pd.concat(frames, ignore_index=True)[COLUMNS]
    for col in ("conc_row", "conc_col", "conc_3", "response"):
        values = table[col].to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"drugcomb_synergyfinder: column {col!r} has non-finite values")
    if (table[["conc_row", "conc_col", "conc_3"]] < 0).any().any():
        raise ValueError("drugcomb_synergyfinder: negative concentrations")
    table["replicate"] = table["replicate"].astype(int)
    return table
