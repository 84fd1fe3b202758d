"""Small helpers the plotting modules share: a fresh Axes when none is passed, a clear
error when a result table lacks the columns a figure reads, and cells drawn at their
coordinates (tissue or embedding) coloured by one value per cell."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from anndata import AnnData

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def new_axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    """``ax`` itself, or a new figure's Axes of ``size`` inches."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def require_columns(table: pd.DataFrame, columns: Sequence[str], producer: str) -> None:
    """Raise ``KeyError`` naming the missing columns and the call whose result to pass."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise KeyError(f"columns {missing} not in the table (columns: {list(table.columns)}); "
                       f"pass the table {producer} returns")


def cell_values(adata: AnnData, color: str, *, layer: str | None = None, obsm_key: str | None = None) -> pd.Series:
    """One value per cell: a column of ``obsm[obsm_key]`` (a DataFrame), an ``obs`` column or a gene."""
    if obsm_key is not None:
        if obsm_key not in adata.obsm:
            raise KeyError(f"adata.obsm has no {obsm_key!r} (keys: {list(adata.obsm.keys())})")
        table = adata.obsm[obsm_key]
        if not isinstance(table, pd.DataFrame) or color not in table.columns:
            raise KeyError(f"{color!r} is not a column of adata.obsm[{obsm_key!r}]")
        return pd.Series(np.asarray(table[color], dtype=float), index=adata.obs_names, name=color)
    if color in adata.obs.columns:
        return adata.obs[color]
    if color in adata.var_names:
        x = adata[:, color].layers[layer] if layer is not None else adata[:, color].X
        return pd.Series(np.asarray(x.toarray() if hasattr(x, "toarray") else x).ravel(), index=adata.obs_names,
                         name=color)
    raise KeyError(f"{color!r} is neither an obs column nor a gene")


def scatter_values(
    ax: Axes,
    xy: np.ndarray,
    values: pd.Series,
    *,
    groups: Sequence[str] | None = None,
    palette: Sequence[str] | None = None,
    size: float = 4.0,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar_label: str | None = None,
) -> None:
    """Points at ``xy`` coloured by ``values``: categories with a legend (those not in
    ``groups`` in grey), numbers with a colour bar (highest drawn last, on top)."""
    import matplotlib.pyplot as plt

    if isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object:
        cats = pd.Categorical(values)
        shown = list(groups) if groups is not None else list(cats.categories)
        if palette is None:
            cmap_ = plt.get_cmap("tab20" if len(shown) > 10 else "tab10")
            palette = [cmap_(i % cmap_.N) for i in range(len(shown))]
        elif len(palette) < len(shown):
            raise ValueError(f"palette has {len(palette)} colours for {len(shown)} categories {shown}")
        labels = np.asarray(values, dtype=str)
        rest = ~np.isin(labels, [str(s) for s in shown])
        if rest.any():
            ax.scatter(xy[rest, 0], xy[rest, 1], s=size, c="lightgrey", linewidths=0, label="other")
        for colour, cat in zip(palette, shown, strict=False):
            sel = labels == str(cat)
            ax.scatter(xy[sel, 0], xy[sel, 1], s=size, color=colour, linewidths=0, label=str(cat))
        ax.legend(markerscale=3, fontsize=7, frameon=False, bbox_to_anchor=(1.0, 1.0), loc="upper left")
    else:
        v = values.to_numpy(dtype=float)
        order = np.argsort(v)
        points = ax.scatter(xy[order, 0], xy[order, 1], s=size, c=v[order], cmap=cmap, vmin=vmin, vmax=vmax,
                            linewidths=0)
        plt.colorbar(points, ax=ax, label=colorbar_label or str(values.name), shrink=0.7)
