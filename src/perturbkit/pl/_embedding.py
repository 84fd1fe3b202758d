"""Cells in a low-dimensional embedding (PCA, UMAP), coloured by a label, a gene or a
per-cell score such as :func:`perturbkit.tl.tf_activity`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from anndata import AnnData

from ._axes import cell_values, new_axes, scatter_values
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["embedding"]


@fill_doc
def embedding(
    adata: AnnData,
    color: str,
    *,
    basis: str = "umap",
    obsm_key: str | None = None,
    layer: str | None = None,
    groups: Sequence[str] | None = None,
    palette: Sequence[str] | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar_label: str | None = None,
    size: float = 4.0,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Cells at their coordinates in ``obsm["X_<basis>"]``, coloured by one value per cell.

    The axes are the embedding's first two dimensions in arbitrary units (a.u.): distances
    in a UMAP are not to be measured, only neighbourhoods read.

    Parameters
    ----------
    adata
        Cells with ``obsm["X_<basis>"]`` (from ``sc.pp.pca`` or ``sc.tl.umap``).
    color
        An ``obs`` column (categorical: legend; numeric: colour bar), a gene, or with
        ``obsm_key`` a column of that ``obsm`` table (e.g. a transcription factor of
        :func:`perturbkit.tl.tf_activity`).
    basis
        Embedding name without ``X_`` (``"umap"``, ``"pca"``).
    obsm_key
        ``obsm`` DataFrame (cells x scores) to read ``color`` from, or ``None``.
    layer
        Expression layer for a gene (default ``X``).
    groups
        For a categorical ``color``: only these categories in colour, the rest grey.
    palette
        Colours of the categories, in category order (default tab10/tab20).
    cmap, vmin, vmax, colorbar_label
        Colour map, its limits and its label for a numeric ``color`` (default label ``color``).
    size
        Marker size.
    title
        Plot title (default ``color``).
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cells=60, n_genes=30, seed=0)
    >>> sc.pp.pca(adata, n_comps=5)
    >>> ax = pk.pl.embedding(adata, "perturbation", basis="pca")
    >>> ax.get_xlabel()
    'PCA 1 (a.u.)'
    """
    key = f"X_{basis}"
    if key not in adata.obsm:
        raise KeyError(f"adata.obsm has no {key!r}: run sc.pp.pca (basis 'pca') or sc.tl.umap (basis 'umap') first")
    xy = np.asarray(adata.obsm[key])[:, :2]
    values = cell_values(adata, color, layer=layer, obsm_key=obsm_key)
    ax = new_axes(ax, (5.5, 4.2))
    scatter_values(ax, xy, values, groups=groups, palette=palette, size=size, cmap=cmap, vmin=vmin, vmax=vmax,
                   colorbar_label=colorbar_label)
    ax.set(xlabel=f"{basis.upper()} 1 (a.u.)", ylabel=f"{basis.upper()} 2 (a.u.)",
           title=title if title is not None else color)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax

