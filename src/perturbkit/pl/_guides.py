"""Plots for guide assignment (twin of :func:`perturbkit.tl.assign_guides`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes

from .._keys import GUIDE, GUIDE_NAMES, require_obs, require_uns
from ._axes import new_axes as _axes
from ._tables import draw_bars

__all__ = ["assignment_accuracy", "cells_per_target", "guide_mixture", "guide_umis"]


def guide_mixture(adata: AnnData, guide: str, *, key: str = GUIDE, ax: Axes | None = None) -> Axes:
    """Histogram of one guide's UMIs across cells with the mixture-model threshold.

    Run first: :func:`perturbkit.tl.assign_guides` with ``method="mixture"`` (writes
    ``uns[key]["mixture"]``).

    Parameters
    ----------
    adata
        Screen with ``obsm`` guide counts and ``uns[key]["mixture"]``.
    guide
        Guide id (a column of the guide matrix).
    key
        ``key_added`` used in :func:`~perturbkit.tl.assign_guides`.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    Axes
        The histogram: x = guide UMIs per cell (log scale), y = cells (log scale).

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=300, n_genes=20, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> ax = pk.pl.guide_mixture(adata, "T0g1")
    """
    import matplotlib.pyplot as plt

    producer = f"pk.tl.assign_guides(adata, method='mixture', key_added={key!r})"
    info = require_uns(adata, key, producer=producer)
    if "mixture" not in info:
        raise KeyError(f"adata.uns[{key!r}] has no 'mixture': run {producer} first")
    params = info["params"]
    names = [str(n) for n in require_uns(adata, GUIDE_NAMES, producer="pk.pp.guide_counts(adata, ...)")]
    if guide not in names:
        raise ValueError(f"guide {guide!r} not in adata.uns[{GUIDE_NAMES!r}]")
    mat = adata.obsm[params["guide_key"]]
    col = mat[:, names.index(guide)]
    x = np.asarray(col.toarray() if hasattr(col, "toarray") else col).ravel()
    fit = info["mixture"].loc[guide]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    bins = np.r_[0, np.unique(np.round(np.geomspace(1, max(x.max(), 2) + 1, 40)))] - 0.5
    threshold = float(fit["threshold"])
    below, above = x[x < threshold], x[x >= threshold]
    ax.hist([below + 1, above + 1], bins=bins + 1, stacked=True, color=["0.7", "C3"],
            label=["background", "guide present"])
    if np.isfinite(threshold):
        ax.axvline(threshold + 0.5, color="k", ls="--", lw=1, label=f"threshold {threshold:.0f} UMIs")
    ax.set(xscale="log", yscale="log", xlabel="guide UMIs per cell + 1 (log scale)", ylabel="cells (log scale)",
           title=f"{guide}: {int(fit['n_positive'])} cells carry the guide")
    ax.legend(frameon=False, fontsize=8)
    return ax


def assignment_accuracy(
    accuracy: pd.DataFrame,
    *,
    title: str | None = "Guide assignment: share of cells called correctly",
    ax: Axes | None = None,
) -> Axes:
    """Bars of each assignment rule's accuracy by what the cells received.

    Parameters
    ----------
    accuracy
        Rows: groups of cells (e.g. "received none", "received one target", "received
        several"; a row "all cells" is left out); columns: assignment rules; values: share of
        cells whose call matches what they received, in [0, 1].
    title
        Axes title.
    ax
        Axes to draw on (a new figure when None).

    Returns
    -------
    Axes
        The bar chart.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> acc = pd.DataFrame({"max": [0.0, 0.9], "mixture": [0.99, 0.88]},
    ...                    index=["received none", "received one target"])
    >>> ax = pk.pl.assignment_accuracy(acc)
    >>> len(ax.patches)
    4
    """
    values = accuracy.drop(index="all cells", errors="ignore")
    if values.empty:
        raise ValueError("accuracy has no group of cells to draw (only 'all cells' or nothing)")
    bad = values.stack()
    bad = bad[(bad < 0) | (bad > 1)]
    if not bad.empty:
        raise ValueError(f"accuracy values must be shares in [0, 1]; got {bad.to_dict()}")
    ax = _axes(ax, (6.5, 3.5))
    colors = ["0.6", "C3", "C0", "C2"][: values.shape[1]] if values.shape[1] <= 4 else None
    draw_bars(ax, values, colors=colors, what="assignment_accuracy")
    ax.set(xlabel="what the cell received", ylabel="share of cells assigned correctly", title=title,
           ylim=(0, 1.05))
    ax.legend(title="rule", frameon=False)
    return ax


def guide_umis(adata: AnnData, *, value: str = "umis", bins: int = 50, ax: Axes | None = None) -> Axes:
    """Histogram over cells of how strong, or how dominant, each cell's top guide is.

    Run first: :func:`perturbkit.tl.assign_guides` (it writes ``obs["guide_umis_top"]`` and
    ``obs["guide_fraction_top"]``).

    Parameters
    ----------
    adata
        Screen annotated by :func:`perturbkit.tl.assign_guides`.
    value
        ``"umis"``: UMIs of the top guide (log10 of UMIs + 1); ``"fraction"``: the top guide's
        share of the cell's guide UMIs.
    bins
        Histogram bins.
    ax
        Axes to draw on (a new figure when None).

    Returns
    -------
    Axes
        The histogram.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_screen(n_cells=200, n_genes=20, seed=0)
    >>> pk.tl.assign_guides(sim, method="max")
    >>> ax = pk.pl.guide_umis(sim, value="fraction")
    >>> int(sum(p.get_height() for p in ax.patches))
    200
    """
    columns = {"umis": "guide_umis_top", "fraction": "guide_fraction_top"}
    if value not in columns:
        raise ValueError(f"value must be one of {sorted(columns)}, not {value!r}")
    require_obs(adata, columns[value], producer="pk.tl.assign_guides(adata)")
    x = adata.obs[columns[value]].to_numpy(float)
    if not np.isfinite(x).all():
        raise ValueError(f"obs[{columns[value]!r}] has {int((~np.isfinite(x)).sum())} non-finite values")
    ax = _axes(ax, (5, 3.5))
    if value == "umis":
        ax.hist(np.log10(x + 1), bins=bins, color="C0")
        ax.set(xlabel="UMIs of the cell's top guide + 1 (log10)", title="Guide UMIs of the top guide per cell")
    else:
        ax.hist(x, bins=bins, color="C1")
        ax.set(xlabel="share of the cell's guide UMIs in its top guide", title="How dominant is the top guide?")
    ax.set_ylabel("cells")
    return ax


def cells_per_target(
    counts: pd.Series,
    *,
    control: str = "control",
    title: str | None = "Cells per target after guide assignment",
    ax: Axes | None = None,
) -> Axes:
    """Bars of the number of cells per target, the control (non-targeting) bar in grey.

    Parameters
    ----------
    counts
        Cells per target (index: targets, e.g. ``obs["perturbation"].value_counts()`` after
        :func:`perturbkit.tl.assign_guides`, without ``"multiple"`` and ``"unassigned"``).
    control
        Label of the non-targeting cells.
    title
        Axes title.
    ax
        Axes to draw on (a new figure when None).

    Returns
    -------
    Axes
        The bar chart, in the order of ``counts``.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> ax = pk.pl.cells_per_target(pd.Series({"control": 120, "STAT1": 80, "JAK2": 60}))
    >>> [int(p.get_height()) for p in ax.patches]
    [120, 80, 60]
    """
    values = pd.to_numeric(pd.Series(counts), errors="coerce")
    if values.empty:
        raise ValueError("counts is empty: no target to draw")
    bad = values[values.isna() | (values < 0)]
    if not bad.empty:
        raise ValueError(f"cell counts must be non-negative numbers; got {pd.Series(counts)[bad.index].to_dict()}")
    names = [str(t) for t in values.index]
    ax = _axes(ax, (max(5.0, 0.3 * len(values) + 1.5), 3.5))
    ax.bar(names, values.to_numpy(float), color=["0.4" if t == control else "C0" for t in names])
    ax.set(xlabel=f"target ({control} = non-targeting guides)", ylabel="cells (single-target calls)", title=title)
    ax.tick_params(axis="x", rotation=90)
    return ax
