"""Distributions of one value: box plots per group, histograms (optionally split by a
label) and strip plots of repeated draws. Tables in, one row per observation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._axes import new_axes, require_columns
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["boxplot", "histogram", "strip"]


def _groups(table: pd.DataFrame, group_key: str, order: Sequence[str] | None) -> list:
    present = list(pd.unique(table[group_key])) if not isinstance(table[group_key].dtype, pd.CategoricalDtype) \
        else [c for c in table[group_key].cat.categories if (table[group_key] == c).any()]
    if order is None:
        return present
    missing = [g for g in order if g not in present]
    if missing:
        raise KeyError(f"groups {missing} not in column {group_key!r}; present: {present}")
    return list(order)


@fill_doc
def boxplot(
    table: pd.DataFrame,
    value: str,
    *,
    group_key: str,
    order: Sequence[str] | None = None,
    hue: str | None = None,
    hue_order: Sequence[str] | None = None,
    hue_labels: dict | None = None,
    log: bool = False,
    reference: float | None = None,
    showfliers: bool = True,
    rotation: float = 0.0,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """One box of ``value`` per group (median, quartiles, whiskers at 1.5 IQR), or with
    ``hue`` one coloured box per group and hue level, side by side.

    Parameters
    ----------
    table
        One row per observation (a cell, a held-out well, ...), e.g. ``adata.obs``.
    value
        Numeric column drawn.
    group_key
        Column naming the groups (one box, or one cluster of boxes, each).
    order
        Groups to draw, left to right (default: categories or order of appearance).
    hue
        Column splitting each group into side-by-side boxes (coloured, with a legend), or
        ``None``. A (group, level) pair without observations leaves a gap.
    hue_order
        Hue levels to draw, in order (default: categories or order of appearance).
    hue_labels
        Level -> legend text (default the level itself).
    log
        Draw the value on a log10 axis (values must be positive).
    reference
        y position of a thin horizontal reference line (e.g. 0), or ``None``.
    showfliers
        Draw the points beyond the whiskers (``False`` for large groups).
    rotation
        Rotation of the group labels, in degrees.
    xlabel, ylabel
        Axis labels (default ``group_key`` and ``value``).
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> t = pd.DataFrame({"sample": ["a", "a", "a", "b", "b", "b"], "umis": [900, 1000, 1100, 1900, 2000, 2100]})
    >>> ax = pk.pl.boxplot(t, "umis", group_key="sample", log=True)
    >>> [float(line.get_ydata()[0]) for line in ax.lines if line.get_label() == "median"]
    [1000.0, 2000.0]
    >>> t["kit"] = ["v2", "v3", "v3", "v2", "v3", "v3"]
    >>> ax = pk.pl.boxplot(t, "umis", group_key="sample", hue="kit")
    >>> [float(line.get_ydata()[0]) for line in ax.lines if line.get_label() == "median"]  # a/v2, b/v2, a/v3, b/v3
    [900.0, 1900.0, 1050.0, 2050.0]
    """
    require_columns(table, [value, group_key] + ([hue] if hue else []), "a table with one row per observation")
    groups = _groups(table, group_key, order)
    finite = table[value].notna().to_numpy()
    in_group = [(table[group_key] == g).to_numpy() & finite for g in groups]
    empty = [g for g, sel in zip(groups, in_group, strict=True) if not sel.any()]
    if empty:
        raise ValueError(f"groups {empty} of {group_key!r} have no finite {value!r}")
    values = table[value].to_numpy(dtype=float)
    if log and values[finite].min() <= 0:
        raise ValueError(f"log=True needs positive {value!r}; got values <= 0")
    levels = [None] if hue is None else _groups(table, hue, hue_order)
    ax = new_axes(ax, (max(4.0, 0.7 * len(groups) * len(levels) + 2), 3.5))
    positions = np.arange(1, len(groups) + 1, dtype=float)
    width = 0.8 / len(levels)
    for k, level in enumerate(levels):
        sel = in_group if hue is None else [s & (table[hue] == level).to_numpy() for s in in_group]
        keep = [i for i, s in enumerate(sel) if s.any()]
        if not keep:
            continue
        shift = (k - (len(levels) - 1) / 2) * width
        style = {} if hue is None else {"patch_artist": True, "medianprops": {"color": "black"},
                                        "boxprops": {"facecolor": f"C{k % 10}", "alpha": 0.6}}
        parts = ax.boxplot([values[sel[i]] for i in keep], positions=positions[keep] + shift,
                           widths=0.5 if hue is None else 0.9 * width, showfliers=showfliers,
                           manage_ticks=False, **style)
        for line in parts["medians"]:
            line.set_label("median")
    ax.set_xticks(positions, [str(g) for g in groups], rotation=rotation)
    ax.set_xlim(0.5, len(groups) + 0.5)
    if hue is not None:
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=f"C{k % 10}", alpha=0.6, label=(hue_labels or {}).get(lv, str(lv)))
                           for k, lv in enumerate(levels)], title=hue.replace("_", " "), fontsize=8, frameon=False)
    if log:
        ax.set_yscale("log")
    if reference is not None:
        ax.axhline(reference, color="black", lw=0.6)
    ax.set(xlabel=xlabel or group_key.replace("_", " "), ylabel=ylabel or value,
           title=title if title is not None else f"{value} per {group_key}")
    return ax


@fill_doc
def histogram(
    table: pd.DataFrame,
    value: str,
    *,
    hue: str | None = None,
    hue_labels: dict | None = None,
    bins: int = 40,
    clip: tuple[float, float] | None = None,
    threshold: float | None = None,
    xlabel: str | None = None,
    ylabel: str = "count",
    color: str = "#1f77b4",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of ``value``, one overlaid histogram per level of ``hue`` on shared bins.

    Parameters
    ----------
    table
        One row per observation (a plate, a well, a cell).
    value
        Numeric column drawn.
    hue
        Column whose levels get their own (semi-transparent) histogram, or ``None``.
    hue_labels
        Level -> legend text (default the level itself).
    bins
        Number of equal-width bins over the (clipped) range.
    clip
        ``(low, high)``: values outside are counted in the edge bins (say so in ``xlabel``).
    threshold
        x position of a dashed line (e.g. the Z-factor 0.5 acceptance), or ``None``.
    xlabel, ylabel
        Axis labels (default ``value`` and "count").
    color
        Bar colour without ``hue``.
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> t = pd.DataFrame({"z_factor": [-3.0, 0.2, 0.6, 0.7, 0.8]})
    >>> ax = pk.pl.histogram(t, "z_factor", bins=4, clip=(-1, 1), threshold=0.5)
    >>> [int(p.get_height()) for p in ax.patches]
    [1, 0, 1, 3]
    """
    require_columns(table, [value] + ([hue] if hue else []), "a table with one row per observation")
    v = table[value].to_numpy(dtype=float)
    if clip is not None:
        v = np.clip(v, *clip)
    finite = np.isfinite(v)
    if not finite.any():
        raise ValueError(f"column {value!r} has no finite value to draw")
    edges = np.linspace(v[finite].min(), v[finite].max(), bins + 1) if clip is None else np.linspace(*clip, bins + 1)
    ax = new_axes(ax, (5.5, 3.6))
    if hue is None:
        ax.hist(v[finite], bins=edges, color=color)
    else:
        for level in _groups(table, hue, None):
            sel = finite & (table[hue] == level).to_numpy()
            ax.hist(v[sel], bins=edges, alpha=0.6, label=(hue_labels or {}).get(level, str(level)))
        ax.legend(fontsize=8, frameon=False)
    if threshold is not None:
        ax.axvline(threshold, color="black", ls="--", lw=0.8)
    ax.set(xlabel=xlabel or value, ylabel=ylabel, title=title if title is not None else f"Distribution of {value}")
    return ax


@fill_doc
def strip(
    table: pd.DataFrame,
    value: str,
    *,
    group_key: str,
    reference: float | None = None,
    reference_label: str | None = None,
    xlabel: str | None = None,
    seed: int = 0,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Each observation of ``value`` as a point, one row per group, jittered vertically.

    For repeated draws of one statistic (e.g. two estimators on many subsamples) against the
    value they estimate (``reference``, a dashed vertical line).

    Parameters
    ----------
    table
        One row per draw.
    value
        Numeric column drawn on x.
    group_key
        Column naming the groups (one row of points each, sorted by name, first at the bottom).
    reference
        x position of a dashed reference line, or ``None``.
    reference_label
        Legend text of the reference line.
    xlabel
        x-axis label (default ``value``).
    seed
        Seed of the vertical jitter (same seed, same picture).
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> t = pd.DataFrame({"statistic": ["U", "U", "V", "V"], "edistance": [0.9, 1.1, 1.4, 1.6]})
    >>> ax = pk.pl.strip(t, "edistance", group_key="statistic", reference=1.0)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['U', 'V']
    """
    require_columns(table, [value, group_key], "a table with one row per draw")
    groups = sorted(pd.unique(table[group_key]), key=str)
    rng = np.random.default_rng(seed)
    ax = new_axes(ax, (6, 0.8 * len(groups) + 1.2))
    for i, g in enumerate(groups):
        x = table.loc[table[group_key] == g, value].to_numpy(dtype=float)
        ax.scatter(x, i + rng.uniform(-0.15, 0.15, x.size), s=8, alpha=0.6, label="_nolegend_")
    if reference is not None:
        ax.axvline(reference, color="black", lw=1, ls="--", label=reference_label or f"reference {reference:.3g}")
        ax.legend(fontsize=8)
    ax.set_yticks(range(len(groups)), [str(g) for g in groups])
    ax.set(xlabel=xlabel or value, ylabel=group_key.replace("_", " "),
           title=title if title is not None else f"{value} by {group_key}")
    return ax
