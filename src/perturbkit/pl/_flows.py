"""Signal flows: the FlowSig graph drawn in its three layers (inflow -> module -> outflow),
and COMMOT's sender x receiver flow of one pair."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from anndata import AnnData

from .._keys import FLOWSIG, require_uns
from ._axes import new_axes, require_columns
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["flow_matrix", "flowsig"]

_STATUS_COLOUR = {"gained": "#d62728", "lost": "#1f77b4", "kept": "#7f7f7f", None: "#2ca02c"}
_LAYER = {"inflow": 0, "module": 1, "outflow": 2}


@fill_doc
def flowsig(
    adata: AnnData,
    *,
    condition: str | None = None,
    control: str | None = None,
    min_frequency: float = 0.7,
    key: str = FLOWSIG,
    n_genes: int = 3,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw the flow graph learnt by :func:`perturbkit.tl.flowsig`, or its change.

    Inflow variables (receptors) on the left, gene modules in the middle (labelled with
    their top ``n_genes`` genes), outflow variables (ligands) on the right; an arrow per edge
    whose bootstrap frequency reaches ``min_frequency``, its width the frequency. With
    ``control``, the edges of :func:`perturbkit.tl.flowsig_changes` for ``condition``:
    gained (red), lost (blue, drawn with the control's frequency) and kept (grey). Module ->
    module edges are drawn as faint arcs (in expression data they often reflect shared
    normalisation more than regulation).

    Parameters
    ----------
    condition
        Condition whose graph is drawn (default: the first one learnt).
    control
        Draw the change from this control condition to ``condition``.
    min_frequency
        Bootstrap frequency from which an edge is drawn.
    key
        The ``key_added`` of :func:`perturbkit.tl.flowsig`.
    n_genes
        Top genes named under each module.
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError, ValueError
        No FlowSig result under ``key``; ``condition`` not learnt.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk, scanpy as sc
    >>> sim = pk.data.simulate_flows(200, seed=0)
    >>> sc.pp.normalize_total(sim); sc.pp.log1p(sim)
    >>> lr = pd.DataFrame({"ligand": ["LIGA", "LIGB", "LIGC"], "receptor": ["RECA", "RECB", "RECC"]})
    >>> pk.tl.flowsig(sim, resource=lr, n_modules=5, n_bootstraps=5)
    >>> ax = pk.pl.flowsig(sim, condition="stimulated", control="control")
    >>> ax.get_title()
    'FlowSig: control → stimulated'
    """
    import matplotlib.pyplot as plt

    from .. import tl

    res = require_uns(adata, key, producer="pk.tl.flowsig(adata, resource=...)")
    edges, variables = res["edges"], res["variables"]
    learnt = list(pd.unique(edges["condition"]))
    condition = learnt[0] if condition is None else str(condition)
    if condition not in learnt:
        raise ValueError(f"condition {condition!r} has no learnt graph; conditions: {learnt}")
    if control is not None:
        shown = tl.flowsig_changes(adata, control=control, min_frequency=min_frequency, key=key)
        shown = shown[shown["condition"] == condition].copy()
        shown["width"] = np.where(shown["status"] == "lost", shown["frequency_control"], shown["frequency"])
    else:
        shown = edges[(edges["condition"] == condition) & (edges["frequency"] >= min_frequency)].copy()
        shown["status"], shown["width"] = None, shown["frequency"]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    nodes = pd.unique(pd.concat([shown["source"], shown["target"]]))
    pos = {}
    for kind, x in _LAYER.items():
        of_kind = [n for n in variables.index if n in set(nodes) and variables.loc[n, "type"] == kind]
        for i, n in enumerate(of_kind):
            pos[n] = (x, 1.0 - (i + 0.5) / max(len(of_kind), 1))
    for row in shown.itertuples():
        (x0, y0), (x1, y1) = pos[row.source], pos[row.target]
        within = row.source_type == row.target_type  # module -> module: a faint arc
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "lw": 0.5 + 3.0 * row.width, "shrinkA": 14, "shrinkB": 14,
                                "color": _STATUS_COLOUR[row.status], "alpha": 0.3 if within else 0.85,
                                "connectionstyle": f"arc3,rad={0.25 if within else 0.0}"})
    for n, (x, y) in pos.items():
        label = n
        if variables.loc[n, "type"] == "module":
            genes = [g.split("_ENSG")[0] for g in variables.loc[n, "genes"].split(", ")[:n_genes]]
            label = f"{n}\n({', '.join(genes)})"
        ax.text(x, y, label, ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "round", "fc": "white", "ec": "0.6"})
    for status in ("gained", "lost", "kept") if control is not None else ():
        ax.plot([], [], color=_STATUS_COLOUR[status], lw=2, label=status)
    if control is not None:
        ax.legend(frameon=False, fontsize=8, loc="lower center", ncol=3, bbox_to_anchor=(0.5, 1.0))
    ax.set_xlim(-0.4, 2.4)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks([0, 1, 2], ["inflow (receptor)", "gene module", "outflow (ligand)"])
    ax.set_yticks([])
    ax.set_xlabel("variable type (arrow width: bootstrap frequency, 0 to 1)")
    ax.set_ylabel(f"variables with an edge of frequency ≥ {min_frequency:g}")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    default = f"FlowSig: {control} → {condition}" if control is not None else f"FlowSig: {condition}"
    ax.set_title(title if title is not None else default, pad=20 if control is not None else 6)
    return ax


@fill_doc
def flow_matrix(
    flows: pd.DataFrame,
    pair: str,
    *,
    unit: str = "sum of plan, log-expression units",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Signal of one ligand-receptor pair sent from each group (rows) to each group
    (columns), from :func:`perturbkit.tl.flow_summary` (COMMOT's transport plan summed).

    Parameters
    ----------
    flows
        Table of :func:`perturbkit.tl.flow_summary` (``pair``, ``source``, ``target``, ``flow``).
    pair
        The pair to draw, e.g. ``"CXCL12-CXCR4"``.
    unit
        Unit of the flow, for the colour-bar label.
    title
        Plot title (default "<ligand> → <receptor>: transported signal").
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> flows = pd.DataFrame({"pair": ["L-R"] * 2, "source": ["a", "b"], "target": ["b", "b"], "flow": [2.0, 0.5]})
    >>> ax = pk.pl.flow_matrix(flows, "L-R")
    >>> ax.images[0].get_array().tolist()
    [[0.0, 2.0], [0.0, 0.5]]
    """
    import matplotlib.pyplot as plt

    require_columns(flows, ["pair", "source", "target", "flow"], "pk.tl.flow_summary(adata, ...)")
    rows = flows[flows["pair"] == pair]
    if rows.empty:
        raise ValueError(f"pair {pair!r} not in column 'pair'; pairs: {sorted(flows['pair'].unique())}")
    groups = sorted(set(rows["source"]) | set(rows["target"]), key=str)
    m = rows.pivot_table(index="source", columns="target", values="flow", aggfunc="sum").reindex(
        index=groups, columns=groups).fillna(0.0)
    ax = new_axes(ax, (0.5 * len(groups) + 3, 0.45 * len(groups) + 2))
    im = ax.imshow(m.to_numpy(), cmap="Reds")
    ax.set_xticks(range(len(groups)), [str(g) for g in groups], rotation=45, ha="right")
    ax.set_yticks(range(len(groups)), [str(g) for g in groups])
    plt.colorbar(im, ax=ax, label=f"signal ({unit})", shrink=0.8)
    ligand, _, receptor = pair.partition("-")
    ax.set(xlabel="receiver", ylabel="sender",
           title=title if title is not None else f"{ligand} → {receptor or '?'}: transported signal")
    return ax
