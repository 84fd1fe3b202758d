"""Centred log-ratio (CLR) normalisation of antibody-derived tag counts."""

from __future__ import annotations

from typing import Literal

import numpy as np
from anndata import AnnData
from scipy import sparse

from .._validate import check_adata, check_counts

__all__ = ["clr"]


def clr(
    adata: AnnData,
    *,
    axis: Literal["cell", "feature"] = "cell",
    layer: str | None = None,
    key_added: str = "clr",
    copy: bool = False,
) -> AnnData | None:
    """Centred log-ratio transform of tag counts, as Seurat's ``NormalizeData(method="CLR")``.

    Each value becomes ``log1p(x / g)`` with ``g = exp(sum(log1p(x[x > 0])) / n)``, the
    (pseudo-count) geometric mean over ``n`` values, exactly Seurat's formula. ``axis="cell"``
    centres each cell over its proteins (Seurat's ``margin = 2``): a cell whose every tag is
    lower because it stained or was captured worse comes out unchanged, so protein levels
    compare across cells of different depth. ``axis="feature"`` centres each protein over the
    cells (Seurat's default ``margin = 1``, used in the ECCITE-seq vignette): it puts proteins
    on a common scale but leaves per-cell depth in place.

    Run first: nothing; ``X`` or ``layers[layer]`` holds raw tag counts (cells x proteins).

    Parameters
    ----------
    adata
        Cells x proteins with raw counts.
    axis
        ``"cell"`` (centre each cell) or ``"feature"`` (centre each protein).
    layer
        Counts layer (``None``: ``X``).
    key_added
        Layer written.
    copy
        Return a modified copy.

    Returns
    -------
    ``None`` or the copy; writes ``layers[key_added]`` (float64 dense, cells x proteins) and
    ``uns[key_added]["params"]``.

    Raises
    ------
    ValueError
        ``axis`` not ``"cell"``/``"feature"``; negative or non-finite counts.
    KeyError
        ``layers[layer]`` missing.

    References
    ----------
    Stoeckius et al. 2017 (CITE-seq); Mimitou et al. 2019 :cite:`mimitou2019`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adt = pk.data.simulate_protein_screen(n_cells=300, seed=0)
    >>> pk.pp.clr(adt)
    >>> adt.layers["clr"].shape
    (300, 12)
    """
    check_adata(adata)
    if axis not in ("cell", "feature"):
        raise ValueError(f"axis must be 'cell' or 'feature', got {axis!r}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    x = adata.layers[layer] if layer is not None else adata.X
    check_counts(x, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    x = np.asarray(x.toarray() if sparse.issparse(x) else x, dtype=float)
    ax = 1 if axis == "cell" else 0
    # Seurat: exp(sum(log1p(x[x > 0])) / length(x)); zeros add log1p(0) = 0 anyway
    g = np.exp(np.log1p(x).sum(axis=ax, keepdims=True) / x.shape[ax])
    out = adata.copy() if copy else adata
    out.layers[key_added] = np.log1p(x / g)
    out.uns[key_added] = {"params": {"axis": axis, "layer": layer}}
    return out if copy else None
