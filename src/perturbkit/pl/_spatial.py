"""Plots of tissue sections and spatial statistics (twins of ``pk.tl`` spatial functions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from anndata import AnnData

from .._keys import SPATIAL_UNIT, nhood_key, require_uns
from ..pp._spatial_neighbors import check_coordinates
from ._axes import cell_values, scatter_values
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["nhood_enrichment", "spatial_scatter"]


@fill_doc
def spatial_scatter(
    adata: AnnData,
    color: str,
    *,
    spatial_key: str = "spatial",
    groups: Sequence[str] | None = None,
    layer: str | None = None,
    size: float = 4.0,
    cmap: str = "viridis",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Cells at their coordinates, coloured by an ``obs`` column or a gene.

    Axes are labelled in ``uns["spatial_unit"]`` (µm when set to ``"um"``); y points down
    as in the microscope image.

    Parameters
    ----------
    adata
        Cells with ``obsm[spatial_key]``.
    color
        An ``obs`` column (categorical: legend; numeric: colour bar) or a gene.
    groups
        For a categorical ``color``: only these categories in colour, the rest grey.
    layer
        Expression layer for a gene (default ``X``).
    size, cmap, title, ax
        Marker size, colour map, title (default ``color``), axes to draw on.

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> ax = pk.pl.spatial_scatter(tissue, "niche")
    >>> ax.get_xlabel()
    'x (µm)'
    """
    import matplotlib.pyplot as plt

    xy = check_coordinates(adata, spatial_key)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    unit = {"um": "µm"}.get(str(adata.uns.get(SPATIAL_UNIT, "")), adata.uns.get(SPATIAL_UNIT, "units"))
    scatter_values(ax, xy, cell_values(adata, color, layer=layer), groups=groups, size=size, cmap=cmap,
                   colorbar_label=color)
    ax.set_aspect("equal")
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
    ax.set_title(title if title is not None else color)
    return ax


@fill_doc
def nhood_enrichment(
    adata: AnnData,
    *,
    cell_type_key: str = "cell_type",
    categories: Sequence[str] | None = None,
    vmax: float | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Heatmap of neighbourhood-enrichment z-scores written by :func:`perturbkit.tl.nhood_enrichment`.

    Parameters
    ----------
    categories
        Rows/columns to show, in this order (default all).
    vmax
        Colour limit (symmetric; default the largest |z| shown).

    {returns_axes}

    Raises
    ------
    KeyError
        The enrichment for ``cell_type_key`` has not been computed.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> pk.pp.spatial_neighbors(tissue)
    >>> pk.tl.nhood_enrichment(tissue, cell_type_key="niche", n_perms=20)
    >>> ax = pk.pl.nhood_enrichment(tissue, cell_type_key="niche")
    """
    import matplotlib.pyplot as plt

    res = require_uns(adata, nhood_key(cell_type_key), producer=f"pk.tl.nhood_enrichment(adata, cell_type_key={cell_type_key!r})")
    z = pd.DataFrame(np.asarray(res["zscore"], dtype=float), index=res["categories"], columns=res["categories"])
    if categories is not None:
        missing = [c for c in categories if c not in z.index]
        if missing:
            raise KeyError(f"categories not in adata.obs[{cell_type_key!r}]: {missing}")
        z = z.loc[list(categories), list(categories)]
    if ax is None:
        side = 2.5 + 0.3 * len(z)
        _, ax = plt.subplots(figsize=(side + 1, side))
    lim = vmax if vmax is not None else float(np.nanmax(np.abs(z.to_numpy())))
    im = ax.imshow(z.to_numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_xticks(range(len(z)), z.columns, rotation=90, fontsize=8)
    ax.set_yticks(range(len(z)), z.index, fontsize=8)
    ax.set_xlabel(f"neighbour {cell_type_key}")
    ax.set_ylabel(f"{cell_type_key}")
    plt.colorbar(im, ax=ax, label="enrichment z-score", shrink=0.7)
    ax.set_title(title if title is not None else "Neighbourhood enrichment")
    return ax
