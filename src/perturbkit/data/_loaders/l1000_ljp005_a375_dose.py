"""LINCS L1000 plate LJP005: A375 melanoma cells, 24 h, 60 kinase inhibitors x 6 doses + DMSO.

A GCT v1.3 file: 978 landmark genes x 377 wells of log2 quantile-normalised expression
(L1000 "level 3"). Returned as an AnnData with one observation per well:

================  ===================================================================
``perturbation``  compound name (``pert_iname``); DMSO vehicle wells are ``"control"``
``dose``          concentration in uM (0 for DMSO; the file's -666 placeholder)
``dose_unit``     ``"uM"``
``cell_type``     ``"A375"``
``replicate``     1 (a single plate: one well per compound x dose)
``pert_id``       Broad compound id (BRD-...); ``"DMSO"`` for the vehicle
``well``          detection well (``det_well``)
================  ===================================================================

``var`` is indexed by gene symbol (``pr_gene_symbol``) with ``probe_id`` (Affymetrix id),
``gene_id`` (Entrez) and ``is_landmark``. There are no counts: ``X`` holds the log2
expression and ``layers["counts"]`` is absent. All other column metadata of the file (QC
fields, plate, provenance) are kept in ``obs`` under their GCT names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

from .._load import CONTROL

FILE = "LJP005_A375_24H_test_l1000.gct"


def read_gct(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Parse a GCT v1.3 text file into (data genes x samples, row metadata, column metadata)."""
    with open(path) as fh:
        version = fh.readline().strip()
        if version != "#1.3":
            raise ValueError(f"{path}: expected a GCT #1.3 header, got {version!r}")
        n_rows, n_cols, n_rmeta, n_cmeta = (int(v) for v in fh.readline().split("\t")[:4])
    table = pd.read_csv(path, sep="\t", skiprows=2, header=0, index_col=0, dtype=str, low_memory=False)
    col_meta = table.iloc[:n_cmeta, n_rmeta:].T
    row_meta = table.iloc[n_cmeta:, :n_rmeta]
    data = table.iloc[n_cmeta:, n_rmeta:].astype(float)
    if data.shape != (n_rows, n_cols):
        raise ValueError(f"{path}: data block is {data.shape}, header says {(n_rows, n_cols)}")
    return data, row_meta, col_meta


def load(paths: dict[str, Path]) -> AnnData:
    """Read the LJP005 A375 plate.

    Returns
    -------
    AnnData
        377 wells x 978 genes; ``obs`` as in the module docstring.

    Examples
    --------
    >>> import perturbkit as pk
    >>> l1000 = pk.data.load("l1000_ljp005_a375_dose")
    >>> l1000.shape, int((l1000.obs["perturbation"] == "control").sum())
    ((377, 978), 26)
    """
    data, row_meta, col_meta = read_gct(paths[FILE])
    obs = col_meta.copy()
    control = obs["pert_type"].eq("ctl_vehicle") | obs["pert_iname"].str.upper().eq("DMSO")
    dose = pd.to_numeric(obs["pert_dose"], errors="coerce").to_numpy()
    dose = np.where(control | (dose < 0), 0.0, dose)
    obs.insert(0, "perturbation", np.where(control, CONTROL, obs["pert_iname"]))
    obs.insert(1, "dose", dose.astype(float))
    obs.insert(2, "dose_unit", "uM")
    obs.insert(3, "cell_type", obs["cell_id"].astype(str))
    obs.insert(4, "replicate", 1)
    obs.insert(5, "well", obs["det_well"].astype(str))
    units = set(col_meta.loc[~control, "pert_dose_unit"])
    if not units <= {"um", "uM", "µM"}:
        raise ValueError(f"unexpected dose units {units} in {FILE}")
    for col in ("perturbation", "cell_type", "pert_id", "pert_iname", "pert_type"):
        obs[col] = obs[col].astype("category")
    obs.index.name = None
    obs.columns.name = None
    var = pd.DataFrame(
        {
            "probe_id": row_meta.index.astype(str),
            "gene_id": row_meta["pr_gene_id"].astype(str).to_numpy(),
            "is_landmark": row_meta["pr_is_lmark"].astype(str).isin(["1", "Y", "True"]).to_numpy(),
        },
        index=pd.Index(row_meta["pr_gene_symbol"].astype(str).to_numpy(), name=None),
    )
    var_names = var.index.to_series()
    if var_names.duplicated().any():
        var.index = pd.Index(np.where(var_names.duplicated(keep=False), var_names + "_" + var["probe_id"], var_names))
    return AnnData(X=data.T.to_numpy(dtype=np.float32), obs=obs, var=var)
