"""Plots of drug-combination blocks: the twins of :func:`perturbkit.tl.synergy`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

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
