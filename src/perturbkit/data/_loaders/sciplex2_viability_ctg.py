"""sci-Plex2 bulk CellTiter-Glo viability: A549 cells x 4 compounds x 7 doses + vehicle, 6 replicates.

The CSV uses classic-Mac CR-only line endings. One row per well:

=============  =====================================================================
``perturbation``  compound (``"BMS"`` BMS-345541, ``"Dex"`` dexamethasone, ``"Nutlin"``
                  nutlin-3a, ``"SAHA"`` vorinostat); vehicle wells keep their compound's
                  name and have ``dose`` 0 (they are each compound's own control)
``dose``          concentration actually used, uM (the CSV's ``real_dose``)
``dose_label``    sci-Plex2's dose label (0, 0.1, 0.5, 1, 5, 10, 50, 100)
``dose_unit``     ``"uM"``
``viability``     CellTiter-Glo signal as a fraction of the vehicle mean (the CSV's ``CTG``)
``replicate``     1-6
``cell_type``     ``"A549"``
=============  =====================================================================
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

COMPOUNDS = {
    "BMS": "BMS-345541",
    "Dex": "dexamethasone",
    "Nutlin": "nutlin-3a",
    "SAHA": "vorinostat (SAHA)",
}


def load(paths: dict[str, Path], *, table: str = "viability") -> pd.DataFrame:
    """Read the viability table (default) or the hash sample sheet (``table="hash"``).

    Returns
    -------
    DataFrame
        ``viability``: 192 rows with the columns above. ``hash``: 192 rows with
        ``hash_name`` (e.g. ``"Nutlin_100_AA01"``), ``barcode``, ``axis``, and
        ``perturbation``/``dose_label`` parsed from the name.

    Examples
    --------
    >>> import perturbkit as pk
    >>> ctg = pk.data.load("sciplex2_viability_ctg")
    >>> ctg.shape, sorted(ctg["perturbation"].unique())
    ((192, 7), ['BMS', 'Dex', 'Nutlin', 'SAHA'])
    """
    if table == "hash":
        sheet = pd.read_csv(paths["sciPlex2_hashSampleSheet.txt"], sep="\t", header=None)
        sheet = sheet.iloc[:, :3]
        sheet.columns = ["hash_name", "barcode", "axis"]
        parts = sheet["hash_name"].str.split("_", expand=True)
        sheet["perturbation"] = parts[0]
        sheet["dose_label"] = pd.to_numeric(parts[1], errors="coerce")
        return sheet
    if table != "viability":
        raise KeyError(f"unknown table {table!r}; available: ['viability', 'hash']")
    text = Path(paths["sciPlex2_CTG_results.csv"]).read_text().replace("\r\n", "\n").replace("\r", "\n")
    raw = pd.read_csv(io.StringIO(text))
    return pd.DataFrame(
        {
            "perturbation": raw["treatment"].astype(str),
            "dose": raw["real_dose"].astype(float),
            "dose_label": raw["dose"].astype(float),
            "dose_unit": "uM",
            "viability": raw["CTG"].astype(float),
            "replicate": raw["replicate"].astype(int),
            "cell_type": raw["cell_type"].astype(str),
        }
    )
