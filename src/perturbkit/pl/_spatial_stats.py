"""Plots of the distance-resolved spatial statistics: co-occurrence, Ripley's L, Moran's I
(twins of :func:`perturbkit.tl.co_occurrence`, :func:`perturbkit.tl.ripley` and
:func:`perturbkit.tl.spatial_autocorr`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._axes import new_axes as _axes
from ._axes import require_columns as _require
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["co_occurrence", "morans_i", "ripley"]


@fill_doc
def co_occurrence(
    table: pd.DataFrame,
    anchor: str,
    *,
    groups: Sequence[str] | None = None,
    unit: str = "µm",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Co-occurrence ratio of each cell type with distance from cells of ``anchor``.

    Parameters
    ----------
    table
        The table :func:`perturbkit.tl.co_occurrence` returns.
    anchor
        The type the distances are measured from (``group_b``).
    groups
        Types to draw (default all).
    unit
        Distance unit for the axis label.
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        Columns missing, or ``anchor``/``groups`` not in the table.

    Examples
    --------
    >>> import numpy as np, perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> co = pk.tl.co_occurrence(tissue, cell_type_key="niche", distances=np.linspace(10, 200, 5))
    >>> ax = pk.pl.co_occurrence(co, "tumor")
    """
    _require(table, ("group_a", "group_b", "distance", "ratio"), "pk.tl.co_occurrence")
    if anchor not in set(table["group_b"]):
        raise KeyError(f"anchor {anchor!r} not in the table's group_b: {sorted(set(table['group_b']))[:10]}")
    groups = list(groups) if groups is not None else list(dict.fromkeys(table["group_a"]))
    absent = [g for g in groups if g not in set(table["group_a"])]
    if absent:
        raise KeyError(f"groups not in the table's group_a: {absent}")
    ax = _axes(ax, (6, 4.2))
    for g in groups:
        d = table[(table["group_b"] == anchor) & (table["group_a"] == g)]
        ax.plot(d["distance"], d["ratio"], label=g)
    ax.axhline(1, color="grey", lw=0.8, ls="--")
    ax.set(xlabel=f"distance from a cell of the anchor type ({unit})", ylabel="P(type | anchor at d) / P(type)",
           title=title if title is not None else f"Co-occurrence with {anchor}")
    ax.legend(fontsize=7, frameon=False)
    return ax


@fill_doc
def ripley(
    table: pd.DataFrame,
    *,
    groups: Sequence[str] | None = None,
    dashed: Sequence[str] = (),
    unit: str = "µm",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Ripley's L of each cell type minus that of random subsets of cells, with distance.

    Above 0: the type is clustered at that scale; below: dispersed.

    Parameters
    ----------
    table
        The table :func:`perturbkit.tl.ripley` returns.
    groups
        Types to draw (default all).
    dashed
        Types drawn dashed (e.g. the contrasting ones).
    unit
        Distance unit for the axis labels.
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        Columns missing, or ``groups`` not in the table.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> rip = pk.tl.ripley(tissue, cell_type_key="niche", max_dist=100.0, n_simulations=5)
    >>> ax = pk.pl.ripley(rip)
    """
    _require(table, ("group", "distance", "L", "L_random"), "pk.tl.ripley")
    groups = list(groups) if groups is not None else list(dict.fromkeys(table["group"]))
    absent = [g for g in groups if g not in set(table["group"])]
    if absent:
        raise KeyError(f"groups not in the table: {absent}")
    ax = _axes(ax, (6, 4.2))
    for g in groups:
        d = table[table["group"] == g]
        ax.plot(d["distance"], d["L"] - d["L_random"], label=g, ls="--" if g in set(dashed) else "-")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(xlabel=f"distance d ({unit})", ylabel=f"L(d) − L_random(d) ({unit})",
           title=title if title is not None else "Ripley's L against random subsets of cells")
    ax.legend(fontsize=7, frameon=False)
    return ax


@fill_doc
def morans_i(
    table: pd.DataFrame,
    within: pd.DataFrame | None = None,
    *,
    n_genes: int = 15,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Moran's I of the top genes, across all cells and (optionally) within cell types.

    Parameters
    ----------
    table
        The table :func:`perturbkit.tl.spatial_autocorr` returns (genes ranked by ``I``).
    within
        The same with ``within=...``, drawn beside (matched by gene).
    n_genes
        Genes shown (the top of ``table``; constant genes left out).
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        Columns ``gene`` and ``I`` missing.

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> pk.pp.spatial_neighbors(tissue)
    >>> ax = pk.pl.morans_i(pk.tl.spatial_autocorr(tissue, n_perms=0), n_genes=5)
    """
    _require(table, ("gene", "I"), "pk.tl.spatial_autocorr")
    top = table.dropna(subset=["I"]).head(n_genes)
    ax = _axes(ax, (5.5, 0.3 * len(top) + 1.5))
    y = np.arange(len(top))[::-1]
    if within is None:
        ax.barh(y, top["I"], height=0.6, color="#1f77b4")
    else:
        _require(within, ("gene", "I"), "pk.tl.spatial_autocorr")
        w = within.set_index("gene")["I"].reindex(top["gene"]).to_numpy()
        ax.barh(y + 0.2, top["I"], height=0.4, label="all cells", color="#1f77b4")
        ax.barh(y - 0.2, w, height=0.4, label="within cell type", color="#ff7f0e")
        ax.legend(frameon=False, fontsize=8)
    ax.set_yticks(y, top["gene"])
    ax.set(xlabel="Moran's I (dimensionless)", ylabel="gene",
           title=title if title is not None else f"Spatial autocorrelation, top {len(top)} genes")
    return ax
