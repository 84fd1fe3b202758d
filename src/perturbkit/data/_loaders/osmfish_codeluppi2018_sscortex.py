"""osmFISH mouse somatosensory cortex (Codeluppi et al. 2018): 33 genes x 5,328 cells in space."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._keys import SPATIAL_UNIT

#: Pixel edge in µm, from the loom's ``size_um2 / size_pix`` (0.004225 µm² per pixel).
PIXEL_UM = 0.065


def load(paths: dict[str, Path], *, drop_excluded: bool = False) -> AnnData:
    """Read the three Giotto/drieslab text files (and cell areas from the original loom).

    Parameters
    ----------
    paths
        File name -> verified local path (from :func:`perturbkit.data.fetch`).
    drop_excluded
        Drop the 489 cells the authors labelled ``"Excluded"`` (kept by default so the
        object has the published 5,328 cells).

    Returns
    -------
    AnnData
        5,328 cells x 33 genes. ``X`` float32 counts; ``layers["counts"]`` int64 counts;
        ``obsm["spatial"]`` (n, 2) float64 coordinates in µm (pixels x 0.065; x to the
        right, y down as in the images); ``obsm["spatial_px"]`` the original pixels;
        ``obs``: ``cell_type`` (the authors' ``ClusterName``, 32 categories incl.
        ``"Excluded"``), ``cluster_id`` (int), ``region`` (12 categories, e.g. ``"Layer 4"``),
        ``perturbation`` (all ``"control"``: no perturbation in this dataset),
        ``area_um2`` (segmented cell area), ``n_counts``. ``uns["spatial_unit"] = "um"``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> ad = pk.data.load("osmfish_codeluppi2018_sscortex")
    >>> ad.shape, ad.obsm["spatial"].shape
    ((5328, 33), (5328, 2))
    """
    expr = pd.read_csv(paths["osmFISH_prep_expression.txt"], sep="\t", index_col=0)
    coords = pd.read_csv(paths["osmFISH_prep_cell_coordinates.txt"], sep="\t", index_col=0)
    meta = pd.read_csv(paths["osmFISH_prep_cell_metadata.txt"], sep="\t", index_col=0)
    cells = expr.columns.astype(str)
    missing = cells.difference(meta.index).union(cells.difference(coords.index))
    if len(missing):
        raise ValueError(f"{len(missing)} expression cells lack metadata or coordinates, e.g. {list(missing[:3])}")
    meta, coords = meta.loc[cells], coords.loc[cells]

    counts = expr.T.to_numpy().astype(np.int64)
    obs = pd.DataFrame(
        {
            "cell_type": pd.Categorical(meta["ClusterName"].astype(str)),
            "cluster_id": meta["ClusterID"].astype(int).to_numpy(),
            "region": pd.Categorical(meta["Region"].astype(str)),
            "perturbation": pd.Categorical(["control"] * len(cells)),
            "n_counts": counts.sum(axis=1),
        },
        index=pd.Index(cells, name="cell_id"),
    )
    obs["area_um2"] = _areas(paths.get("osmFISH_SScortex_mouse_all_cells.loom"), cells)
    px = coords[["X", "Y"]].to_numpy(dtype=float)
    adata = AnnData(
        X=counts.astype(np.float32),
        obs=obs,
        var=pd.DataFrame(index=pd.Index(expr.index.astype(str), name="gene")),
        layers={"counts": counts},
        obsm={"spatial": px * PIXEL_UM, "spatial_px": px},
        uns={SPATIAL_UNIT: "um"},
    )
    if drop_excluded:
        adata = adata[adata.obs["cell_type"] != "Excluded"].copy()
        adata.obs["cell_type"] = adata.obs["cell_type"].cat.remove_unused_categories()
        adata.obs["region"] = adata.obs["region"].cat.remove_unused_categories()
    return adata


def _areas(loom: Path | None, cells: pd.Index) -> np.ndarray:
    """Segmented area per cell (µm²) from the original loom; NaN where it is not there."""
    if loom is None:
        return np.full(len(cells), np.nan)
    import h5py

    with h5py.File(loom, "r") as fh:
        ids = [f"cell_{i.decode() if isinstance(i, bytes) else i}" for i in fh["col_attrs/CellID"][:]]
        area = pd.Series(fh["col_attrs/size_um2"][:].astype(float), index=ids)
    return area.reindex(cells).to_numpy()
