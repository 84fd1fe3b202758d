"""Plots of drug-combination blocks: the twins of :func:`perturbkit.tl.synergy`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._axes import new_axes
from ._distributions import boxplot
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _fmt(values: np.ndarray) -> list[str]:
    return [f"{v:.3g}" for v in values]


@fill_doc
def synergy_heatmap(
    table: pd.DataFrame,
    block_id: str,
    *,
    value: str = "synergy",
    unit: str = "",
    drugs: tuple[str, str] | None = None,
    ax: Axes | None = None,
    vmax: float | None = None,
    annotate: bool = True,
    title: str | None = None,
) -> Axes:
    """Heatmap of one block from :func:`perturbkit.tl.synergy` (rows: ``conc_row``,
    columns: ``conc_col``), coloured by ``value`` (``"synergy"``, ``"response"`` or
    ``"reference"``) on a diverging scale centred at 0 for synergy.

    Parameters
    ----------
    table
        Output of :func:`perturbkit.tl.synergy` (two-drug blocks; for a three-drug block
        pass the slice at one ``conc_3``).
    block_id
        Block to draw.
    value
        Column to colour by.
    unit
        Dose unit for the axis labels (e.g. ``"uM"``).
    drugs
        Names of the row and column drug for the axis labels.
    {ax}
    vmax
        Colour-scale limit (default: the largest absolute value).
    annotate
        Write each value in its cell (grids up to 10 x 10).
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> tab = pk.tl.synergy(pk.data.simulate_combination(seed=0), method="bliss")
    >>> ax = pk.pl.synergy_heatmap(tab, "sim_1", unit="uM")
    """
    import matplotlib.pyplot as plt

    if value not in table.columns:
        raise KeyError(f"table has no column {value!r}; run pk.tl.synergy first")
    sub = table[table["block_id"] == block_id]
    if sub.empty:
        raise ValueError(f"block {block_id!r} not in table; blocks: {sorted(table['block_id'].unique())[:10]}")
    mat = sub.pivot_table(index="conc_row", columns="conc_col", values=value, aggfunc="mean")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 4))
    diverging = value == "synergy"
    lim = vmax if vmax is not None else (np.nanmax(np.abs(mat.to_numpy())) if diverging else None)
    img = ax.imshow(
        mat.to_numpy(), origin="lower", cmap="RdBu_r" if diverging else "viridis",
        vmin=-lim if diverging else None, vmax=lim, aspect="auto",
    )
    if annotate and mat.size <= 100:
        for (i, j), v in np.ndenumerate(mat.to_numpy()):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(mat.shape[1]), _fmt(mat.columns.to_numpy()), rotation=45)
    ax.set_yticks(range(mat.shape[0]), _fmt(mat.index.to_numpy()))
    row, col = drugs if drugs else ("row drug", "column drug")
    u = f" ({unit})" if unit else ""
    ax.set_xlabel(f"{col}{u}")
    ax.set_ylabel(f"{row}{u}")
    label = {"synergy": "synergy (% inhibition points)", "response": "% inhibition",
             "reference": "expected % inhibition"}.get(value, value)
    ax.figure.colorbar(img, ax=ax, label=label, shrink=0.85)
    method = sub["method"].iloc[0] if "method" in sub else ""
    ax.set_title(title or f"{block_id}: {method} {value}")
    return ax


_METHOD_NAMES = {"hsa": "HSA", "bliss": "Bliss", "loewe": "Loewe", "zip": "ZIP"}


@fill_doc
def synergy_scores(
    scores: pd.DataFrame,
    *,
    methods: tuple[str, ...] = ("hsa", "bliss"),
    ax: Axes | None = None,
    title: str = "Block synergy scores: > 0 synergy, < 0 antagonism",
) -> Axes:
    """Grouped bars of each block's mean synergy under each reference model.

    Parameters
    ----------
    scores
        Output of :func:`perturbkit.tl.synergy_scores`.
    methods
        Score columns to draw.
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> ax = pk.pl.synergy_scores(pk.tl.synergy_scores(pk.data.simulate_combination(seed=0)))
    """
    import matplotlib.pyplot as plt

    missing = [c for c in ("block_id", *methods) if c not in scores.columns]
    if missing:
        raise KeyError(f"scores has no column {missing}; run pk.tl.synergy_scores with methods={methods}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    pos = np.arange(len(scores))
    width = 0.8 / len(methods)
    for k, m in enumerate(methods):
        ax.bar(pos + (k - (len(methods) - 1) / 2) * width, scores[m], width=width, label=_METHOD_NAMES.get(m, m))
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(pos, scores["block_id"], rotation=30)
    ax.set_xlabel("block")
    ax.set_ylabel("mean synergy (% inhibition points)")
    ax.set_title(title)
    ax.legend(frameon=False)
    return ax


@fill_doc
def synergy_wells(
    wells: pd.DataFrame,
    *,
    methods: tuple[str, ...] | None = None,
    xlabel: str = "block",
    ylabel: str = "well synergy (% inhibition points)",
    ax: Axes | None = None,
    title: str = "Distribution of synergy over the dose wells of each block",
) -> Axes:
    """Box plots of well-level synergy per block and reference model (wells with every drug
    of the block present).

    Parameters
    ----------
    wells
        Concatenated outputs of :func:`perturbkit.tl.synergy` (one per method).
    methods
        Methods to draw, in order (default: those present).
    xlabel, ylabel
        Axis labels (e.g. say which wells each method used).
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> b = pk.data.simulate_combination(seed=0)
    >>> wells = pd.concat([pk.tl.synergy(b, method=m) for m in ("hsa", "bliss")])
    >>> ax = pk.pl.synergy_wells(wells)
    """
    for col in ("block_id", "method", "n_drugs", "synergy"):
        if col not in wells.columns:
            raise KeyError(f"wells has no column {col!r}; concatenate outputs of pk.tl.synergy")
    full = wells["n_drugs"] == wells.groupby(["block_id", "method"])["n_drugs"].transform("max")
    wells = wells[full]
    methods = list(pd.unique(wells["method"])) if methods is None else list(methods)
    return boxplot(wells, "synergy", group_key="block_id", order=list(pd.unique(wells["block_id"])),
                   hue="method", hue_order=methods, hue_labels=_METHOD_NAMES, reference=0.0,
                   showfliers=False, rotation=20, xlabel=xlabel, ylabel=ylabel,
                   title=title, ax=new_axes(ax, (11, 4)))
