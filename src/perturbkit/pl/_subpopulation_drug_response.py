"""Heatmap of a scDrug-style call (twin of :func:`perturbkit.tl.subpopulation_drug_response`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from ._axes import new_axes, require_columns
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..tl._dose._subpopulation_drug_response import SubpopulationDrugResponse

__all__ = ["subpopulation_response"]


@fill_doc
def subpopulation_response(
    result: SubpopulationDrugResponse,
    *,
    cluster_labels: Mapping[str, str] | None = None,
    xlabel: str = "cluster (size)",
    title: str | None = "Predicted response per cluster; right: whole tumour (bulk call)",
    ax: Axes | None = None,
) -> Axes:
    """Predicted ln IC50 minus the panel median per cluster (columns) and drug (rows), the
    whole-tumour (bulk) profile as the last column; ``*`` marks a call of sensitivity.

    Blue (< 0) is predicted more sensitive than the typical cell line of the panel. Drugs of
    the greedy cover are labelled "(cover)".

    Parameters
    ----------
    result
        What :func:`perturbkit.tl.subpopulation_drug_response` returns.
    cluster_labels
        Cluster -> tick text (e.g. the planted majority subpopulation); the cell count is
        added below it. Default: the cluster id.
    xlabel
        x-axis label.
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(seed=0)
    >>> res = pk.tl.subpopulation_drug_response(sim["cells"], sim["ic50"], sim["expression"],
    ...                                         cluster_key="subpopulation")
    >>> ax = pk.pl.subpopulation_response(res)
    >>> ax.get_xticklabels()[-1].get_text().startswith("all cells")
    True
    """
    table = getattr(result, "table", None)
    if table is None:
        raise TypeError("pass the result of pk.tl.subpopulation_drug_response (it has a .table)")
    require_columns(table, ["level", "cluster", "drug", "delta", "sensitive", "n_cells"],
                    "pk.tl.subpopulation_drug_response(...).table")
    delta = table.pivot(index="drug", columns="cluster", values="delta")
    calls = table.pivot(index="drug", columns="cluster", values="sensitive")
    clusters = list(dict.fromkeys(table.loc[table["level"] == "cluster", "cluster"]))
    bulk = list(dict.fromkeys(table.loc[table["level"] == "bulk", "cluster"]))
    order = clusters + bulk
    delta, calls = delta.loc[:, order], calls.loc[:, order]
    n_cells = table.drop_duplicates("cluster").set_index("cluster")["n_cells"]
    lim = float(np.nanmax(np.abs(delta.to_numpy())))
    ax = new_axes(ax, (1.0 * len(order) + 3, 0.5 * len(delta) + 2))
    im = ax.imshow(delta.to_numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    for j, drug in enumerate(delta.index):
        for i, c in enumerate(order):
            v = delta.loc[drug, c]
            ax.text(i, j, f"{v:.1f}{'*' if calls.loc[drug, c] else ''}", ha="center", va="center", fontsize=9,
                    color="white" if abs(v) > 0.6 * lim else "black")
    if bulk:
        ax.axvline(len(clusters) - 0.5, color="white", lw=6)
    labels = dict(cluster_labels or {})
    ax.set_xticks(range(len(order)), [f"{labels.get(c, c)}\n{int(n_cells[c])} cells" if c not in bulk
                                      else f"all cells\n{int(n_cells[c])} cells" for c in order])
    ax.set_yticks(range(len(delta)), [f"{d} (cover)" if d in result.cover else str(d) for d in delta.index])
    ax.figure.colorbar(im, ax=ax, label="predicted ln IC50 - panel median\n(ln units; < 0 sensitive; * called)")
    ax.set(xlabel=xlabel, ylabel="drug", title=title)
    return ax
