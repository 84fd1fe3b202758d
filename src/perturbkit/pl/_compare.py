"""One value against another for the same items (drug-line pairs, genes, cells): agreement
with a published value, a method against its ablation, a signal against a response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._axes import new_axes, require_columns
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["compare_values"]


@fill_doc
def compare_values(
    table: pd.DataFrame,
    x: str,
    y: str,
    *,
    highlight: str | None = None,
    labels: tuple[str, str] = ("all", "highlighted"),
    color: str | None = None,
    color_label: str | None = None,
    hue: str | None = None,
    colors: Mapping[object, str] | None = None,
    label: str | None = None,
    n_labels: int = 5,
    identity: bool = True,
    neg_log10_y: bool = False,
    zero_lines: bool = False,
    size: float = 6.0,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Scatter of ``y`` against ``x``, one point per row, with the line ``y = x``.

    Points on the diagonal agree; above it ``y`` is larger. Rows with a missing ``x`` or
    ``y`` are not drawn. With ``neg_log10_y`` (and ``identity=False``) it is a volcano of any
    effect column against its p-values.

    Parameters
    ----------
    table
        One row per item.
    x, y
        Numeric columns on the two axes.
    highlight
        Boolean column: those rows drawn on top in red, or ``None``.
    labels
        Legend text of all rows and of the highlighted ones (with ``highlight``).
    color
        Numeric column colouring the points (with a colour bar), or ``None``.
    color_label
        Colour-bar label (default ``color``).
    hue
        Column of categories colouring the points, one legend entry each (in order of
        appearance), or ``None``. Not with ``highlight`` or ``color``.
    colors
        Colour per value of ``hue`` (default matplotlib's cycle).
    label
        Column of point names: the first ``n_labels`` rows are annotated, or ``None``.
    n_labels
        How many rows to annotate (in table order).
    identity
        Draw the diagonal ``y = x`` over the range of both columns.
    neg_log10_y
        ``y`` holds p-values in [0, 1]: draw ``-log10(y)`` (zeros clipped at 1e-300).
    zero_lines
        Thin lines at x = 0 (and at y = 0 unless ``neg_log10_y``): signs agree in two quadrants.
    size
        Marker size.
    xlabel, ylabel
        Axis labels (default the column names).
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> t = pd.DataFrame({"published": [1.0, 2.0, 3.0], "refit": [1.1, 2.2, 2.7], "in_range": [True, True, False]})
    >>> ax = pk.pl.compare_values(t, "published", "refit", highlight="in_range")
    >>> ax.collections[1].get_offsets().tolist()
    [[1.0, 1.1], [2.0, 2.2]]
    """
    cols = [x, y] + [c for c in (highlight, color, hue, label) if c is not None]
    require_columns(table, cols, "a table with one row per item")
    t = table.dropna(subset=[x, y])
    if t.empty:
        raise ValueError(f"no row has both {x!r} and {y!r}")
    if highlight is not None and t[highlight].dtype != bool:
        raise TypeError(f"highlight column {highlight!r} must be boolean, not {t[highlight].dtype}")
    if hue is not None and (highlight is not None or color is not None):
        raise ValueError("hue colours the points by category: pass it without highlight and color")
    xv, yv = t[x].to_numpy(dtype=float), t[y].to_numpy(dtype=float)
    if neg_log10_y:
        outside = t.index[(yv < 0) | (yv > 1)]
        if len(outside):
            raise ValueError(f"neg_log10_y: column {y!r} must hold p-values in [0, 1]; rows {list(outside[:5])} do not")
        yv = -np.log10(np.clip(yv, 1e-300, 1))
    levels = list(dict.fromkeys(t[hue])) if hue is not None else []
    if colors is not None and [v for v in levels if v not in colors]:
        raise KeyError(f"no colour for {hue} values {[v for v in levels if v not in colors]}")
    ax = new_axes(ax, (5.5, 4.3))
    if hue is not None:
        for k, level in enumerate(levels):
            sel = (t[hue] == level).to_numpy()
            ax.scatter(xv[sel], yv[sel], s=size, alpha=0.7, color=colors[level] if colors is not None else f"C{k}",
                       label=str(level))
        ax.legend(fontsize=8, frameon=False)
    elif color is not None:
        points = ax.scatter(xv, yv, s=size, alpha=0.5, c=t[color].to_numpy(dtype=float), cmap="viridis")
        ax.figure.colorbar(points, ax=ax, label=color_label or color)
    else:
        ax.scatter(xv, yv, s=size, alpha=0.4 if highlight else 0.7, color="#7f7f7f" if highlight else "#1f77b4",
                   label=labels[0])
    if highlight is not None:
        sel = t[highlight].to_numpy()
        ax.scatter(xv[sel], yv[sel], s=size + 1, alpha=0.6, color="#d62728", label=labels[1])
        ax.legend(fontsize=8, frameon=False)
    if label is not None:
        for name, xi, yi in zip(t[label].head(n_labels), xv[:n_labels], yv[:n_labels], strict=True):
            ax.annotate(str(name), (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if identity:
        lims = [float(np.nanmin([xv.min(), yv.min()])), float(np.nanmax([xv.max(), yv.max()]))]
        ax.plot(lims, lims, color="black", lw=0.8, ls="--", label="_identity")
    if zero_lines:
        ax.axvline(0, color="black", lw=0.6)
        if not neg_log10_y:
            ax.axhline(0, color="black", lw=0.6)
    ax.set(xlabel=xlabel or x, ylabel=ylabel or y, title=title if title is not None else f"{y} against {x}")
    return ax
