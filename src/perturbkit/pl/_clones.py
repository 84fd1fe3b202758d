"""Plots of Perturb-Map clone neighbourhoods (twins of :func:`perturbkit.tl.clone_neighbourhood`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["clone_composition", "clone_outlines"]


@fill_doc
def clone_composition(
    result: pd.DataFrame,
    *,
    control: str = "NT",
    order: Sequence[str] | None = None,
    cell_types: Sequence[str] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Stacked cell-type fractions of each knockout's clone neighbourhood, control first.

    Parameters
    ----------
    result
        The table :func:`perturbkit.tl.clone_neighbourhood` returns.
    control
        Label of the control row (its fractions are the table's ``fraction_control``).
    order
        Perturbations from top to bottom after the control (default the table's order).
    cell_types
        Cell types in stacking order, which also fixes their colours (``tab10`` by
        position: pass the categories of the tissue map to match its colours).
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        Columns missing, or ``order`` names a perturbation not in the table.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(1200, seed=0)
    >>> res = pk.tl.clone_neighbourhood(tissue, control="NT", exclude_types=["Tumor"])
    >>> ax = pk.pl.clone_composition(res)
    """
    import matplotlib.pyplot as plt

    missing = [c for c in ("perturbation", "cell_type", "fraction", "fraction_control") if c not in result.columns]
    if missing:
        raise KeyError(f"result lacks columns {missing}: pass the table pk.tl.clone_neighbourhood returns")
    comp = result.pivot(index="perturbation", columns="cell_type", values="fraction")
    perts = list(order) if order is not None else list(dict.fromkeys(result["perturbation"]))
    absent = [p for p in perts if p not in comp.index]
    if absent:
        raise KeyError(f"perturbations not in the result: {absent}")
    comp.loc[control] = result.drop_duplicates("cell_type").set_index("cell_type")["fraction_control"]
    comp = comp.loc[[control, *perts]]
    palette = list(cell_types) if cell_types is not None else list(comp.columns)
    comp = comp[[c for c in palette if c in comp.columns]]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.5 * len(comp) + 1.5))
    comp.plot.barh(stacked=True, ax=ax, width=0.7, color=[plt.get_cmap("tab10")(palette.index(c) % 10) for c in comp.columns])
    ax.invert_yaxis()
    ax.set(xlabel="fraction of neighbourhood cells (excluded types left out)", ylabel="knockout",
           title=title if title is not None else "Microenvironment of each knockout's clones")
    ax.legend(fontsize=8, frameon=False, bbox_to_anchor=(1, 1), loc="upper left")
    return ax


@fill_doc
def clone_outlines(
    clones: pd.DataFrame,
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Circles and labels of clones over a tissue map (e.g. after :func:`perturbkit.pl.spatial_scatter`).

    Parameters
    ----------
    clones
        One row per clone with ``x``, ``y``, ``radius_um`` and ``perturbation``, e.g.
        ``uns["truth"]["clones"]`` of :func:`perturbkit.data.simulate_tissue`.
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        Columns missing.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(1200, seed=0)
    >>> ax = pk.pl.spatial_scatter(tissue, "cell_type")
    >>> ax = pk.pl.clone_outlines(tissue.uns["truth"]["clones"], ax=ax)
    """
    import matplotlib.pyplot as plt

    missing = [c for c in ("x", "y", "radius_um", "perturbation") if c not in clones.columns]
    if missing:
        raise KeyError(f"clones lacks columns {missing}: one row per clone with x, y, radius_um, perturbation")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
        ax.set(xlabel="x (µm)", ylabel="y (µm)")
        ax.set_aspect("equal")
    for c in clones.itertuples():
        ax.add_patch(plt.Circle((c.x, c.y), c.radius_um, fill=False, lw=1.5, color="black"))
        ax.text(c.x, c.y, c.perturbation, ha="center", va="center", fontsize=7, fontweight="bold")
    ax.autoscale_view()
    if title is not None:
        ax.set_title(title)
    elif not ax.get_title():
        ax.set_title("Knockout clones")
    return ax
