"""Composition figures (twins of pk.tl.composition_test and pk.tl.sccoda)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ._docs import fill_doc

__all__ = ["composition_changes", "composition_shares"]


@fill_doc
def composition_shares(
    counts: pd.DataFrame,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    sample_key: str = "sample",
    cell_type_key: str = "cell_type",
    count_key: str = "n_cells",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Mean share of each cell type per condition (over its samples), as stacked bars, the
    control first.

    Parameters
    ----------
    counts
        Tidy counts, one row per sample and cell type (as for :func:`perturbkit.tl.composition_test`).
    groupby, control, sample_key, cell_type_key, count_key
        Columns and control label, as there.
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> c = pd.DataFrame({"sample": ["s1", "s1", "s2", "s2"], "perturbation": ["control"] * 2 + ["treated"] * 2,
    ...                   "cell_type": ["A", "B"] * 2, "n_cells": [10, 30, 20, 20]})
    >>> ax = pk.pl.composition_shares(c)
    """
    import matplotlib.pyplot as plt

    missing = [c for c in (groupby, sample_key, cell_type_key, count_key) if c not in counts.columns]
    if missing:
        raise KeyError(f"counts has no column {missing}; columns: {list(counts.columns)}")
    if control not in set(counts[groupby].astype(str)):
        raise ValueError(f"control label {control!r} not in counts[{groupby!r}]")
    props = counts.assign(_p=counts[count_key] / counts.groupby(sample_key)[count_key].transform("sum"))
    mean = props.groupby([groupby, cell_type_key], observed=True)["_p"].mean().unstack(fill_value=0.0)
    mean.index = mean.index.astype(str)
    mean = mean.loc[[control] + [p for p in mean.index if p != control]]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 + 1.2 * len(mean), 4))
    bottom = np.zeros(len(mean))
    colours = plt.get_cmap("tab10")
    for i, ct in enumerate(mean.columns):
        ax.bar(range(len(mean)), mean[ct], bottom=bottom, width=0.7, label=str(ct), color=colours(i % 10))
        bottom += mean[ct].to_numpy()
    ax.set_xticks(range(len(mean)), mean.index)
    ax.set(xlabel="condition", ylabel="mean fraction of cells", title=title or "Composition per condition")
    ax.legend(fontsize=7, bbox_to_anchor=(1, 1), loc="upper left")
    return ax


@fill_doc
def composition_changes(
    comp: pd.DataFrame,
    *,
    value: str = "log2_ratio_change",
    annotate: str | None = "pvalue",
    limit: float = 3.0,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Change of each cell type relative to the reference (rows) in each perturbation
    (columns), on a symmetric red-blue scale, optionally annotated (e.g. with p-values).

    Parameters
    ----------
    comp
        Result of :func:`perturbkit.tl.composition_test` (or :func:`perturbkit.tl.sccoda`
        with ``value="log2_fold_change"``, ``annotate=None``).
    value
        Column coloured.
    annotate
        Column written in each cell (``None``: nothing).
    limit
        Colour scale from ``-limit`` to ``+limit``.
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> comp = pd.DataFrame({"perturbation": "t", "cell_type": ["B", "C"], "reference": "A",
    ...                      "log2_ratio_change": [0.1, 2.0], "pvalue": [0.8, 0.01]})
    >>> ax = pk.pl.composition_changes(comp)
    """
    import matplotlib.pyplot as plt

    need = ["perturbation", "cell_type", "reference", value] + ([annotate] if annotate else [])
    missing = [c for c in need if c not in comp.columns]
    if missing:
        raise KeyError(f"columns {missing} not in the table; pass the result of pk.tl.composition_test")
    grid = comp.pivot(index="cell_type", columns="perturbation", values=value)
    if ax is None:
        _, ax = plt.subplots(figsize=(2 + 1.2 * grid.shape[1], 1 + 0.4 * grid.shape[0]))
    im = ax.imshow(grid.to_numpy(float), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), grid.columns)
    ax.set_yticks(range(grid.shape[0]), grid.index)
    if annotate:
        notes = comp.pivot(index="cell_type", columns="perturbation", values=annotate).loc[grid.index, grid.columns]
        for (i, j), v in np.ndenumerate(notes.to_numpy(float)):
            ax.text(j, i, f"p={v:.2f}", ha="center", va="center", fontsize=7)
    ref = comp["reference"].iloc[0]
    ax.set(xlabel="perturbation vs control", ylabel="cell type", title=title or f"log2 change of ratio to {ref}")
    ax.figure.colorbar(im, ax=ax, label=f"log2 fold change of (type / {ref})")
    return ax
