"""Spatial neighbour graph over cell coordinates (squidpy backend), with checked input."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import numpy as np
from anndata import AnnData
from scipy import sparse

from .._validate import check_adata

__all__ = ["check_coordinates", "quiet_squidpy", "spatial_neighbors"]

CONNECTIVITIES = "spatial_connectivities"
DISTANCES = "spatial_distances"


@contextmanager
def quiet_squidpy() -> Iterator[None]:
    """Silence the INFO lines squidpy/spatialdata print on every call (they clutter the book)."""
    loggers = [logging.getLogger(name) for name in ("spatialdata", "spatialdata._logging", "squidpy")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def check_coordinates(adata: AnnData, spatial_key: str = "spatial") -> np.ndarray:
    """Return ``adata.obsm[spatial_key]`` as an (n, 2 or 3) float array or raise a clear error.

    Raises
    ------
    KeyError
        No coordinates under ``spatial_key``.
    ValueError
        Wrong shape, or NaN / infinite coordinates (the message counts them and names a cell).
    """
    check_adata(adata)
    if spatial_key not in adata.obsm:
        raise KeyError(
            f"adata.obsm has no {spatial_key!r}: spatial methods need cell coordinates "
            f"(an n_obs x 2 array, e.g. in µm); available: {list(adata.obsm)}"
        )
    xy = np.asarray(adata.obsm[spatial_key], dtype=float)
    if xy.ndim != 2 or xy.shape[1] not in (2, 3):
        raise ValueError(f"adata.obsm[{spatial_key!r}] must be n_obs x 2 (or 3), got shape {xy.shape}")
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        raise ValueError(
            f"adata.obsm[{spatial_key!r}] has {int(bad.sum())} cell(s) with NaN or infinite coordinates, "
            f"e.g. {adata.obs_names[np.argmax(bad)]!r}; drop or fix them first"
        )
    return xy


def spatial_neighbors(
    adata: AnnData,
    *,
    method: Literal["delaunay", "knn", "radius"] = "delaunay",
    n_neighs: int = 6,
    radius: float | None = None,
    max_distance: float | None = None,
    spatial_key: str = "spatial",
    copy: bool = False,
) -> AnnData | None:
    """Build the spatial neighbour graph of a tissue section.

    A thin, checked front to :func:`squidpy.gr.spatial_neighbors` (generic coordinates):
    coordinates must exist and be finite; with ``max_distance`` long Delaunay edges
    (across holes and the section border) are dropped.

    Parameters
    ----------
    adata
        Cells with coordinates in ``obsm[spatial_key]``.
    method
        ``"delaunay"`` (touching cells), ``"knn"`` (``n_neighs`` nearest) or ``"radius"``
        (all cells within ``radius``, in the units of the coordinates).
    n_neighs, radius
        Options of the kNN and radius graphs.
    max_distance
        Drop edges longer than this (coordinate units) after building the graph.
    spatial_key
        Key of the coordinates in ``obsm``.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``obsp["spatial_connectivities"]`` (CSR, 0/1, symmetric),
        ``obsp["spatial_distances"]`` (CSR, edge lengths) and ``uns["spatial_neighbors"]``
        (``params``) to ``adata`` (or the returned copy).

    Raises
    ------
    KeyError, ValueError
        See :func:`check_coordinates`; unknown ``method`` or a radius graph without ``radius``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> pk.pp.spatial_neighbors(tissue)
    >>> bool(4 < tissue.obsp["spatial_connectivities"].sum(1).mean() < 7)
    True
    """
    import squidpy as sq

    check_coordinates(adata, spatial_key)
    if method not in ("delaunay", "knn", "radius"):
        raise ValueError(f"method must be 'delaunay', 'knn' or 'radius', got {method!r}")
    if method == "radius" and radius is None:
        raise ValueError("method='radius' needs radius= (in the units of the coordinates)")
    adata = adata.copy() if copy else adata
    with quiet_squidpy():
        sq.gr.spatial_neighbors(
            adata,
            spatial_key=spatial_key,
            coord_type="generic",
            delaunay=method == "delaunay",
            n_neighs=n_neighs,
            radius=radius if method == "radius" else None,
        )
    if max_distance is not None:
        dist = sparse.csr_matrix(adata.obsp[DISTANCES])
        conn = sparse.csr_matrix(adata.obsp[CONNECTIVITIES])
        keep = dist.copy()
        keep.data = (keep.data <= max_distance).astype(float)
        adata.obsp[CONNECTIVITIES] = conn.multiply(keep).tocsr()
        adata.obsp[DISTANCES] = dist.multiply(keep).tocsr()
        adata.obsp[CONNECTIVITIES].eliminate_zeros()
        adata.obsp[DISTANCES].eliminate_zeros()
    adata.uns["spatial_neighbors"] = {
        "connectivities_key": CONNECTIVITIES,
        "distances_key": DISTANCES,
        "params": {"method": method, "n_neighs": n_neighs, "radius": radius,
                   "max_distance": max_distance, "spatial_key": spatial_key},
    }
    return adata if copy else None
