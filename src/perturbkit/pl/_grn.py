"""Precision-recall curves of inferred regulatory networks against planted edges (twin of
:func:`perturbkit.tl.grn` and :func:`perturbkit.tl.grn_aupr`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["grn_precision_recall"]


@fill_doc
def grn_precision_recall(
    edges: Mapping[str, pd.DataFrame],
    truth: pd.DataFrame,
    *,
    scores: Mapping[str, str] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Precision against recall of ranked edges, one line per edge table and score column.

    Parameters
    ----------
    edges
        Name -> edge table (``regulator``, ``target`` and score columns, e.g. from
        :func:`perturbkit.tl.grn`); each name gets its own line style.
    truth
        Planted edges, columns ``tf`` and ``target`` (e.g. ``uns["truth"]["grn"]``).
    scores
        Score column -> legend name (default ``{"score": "boosting + MI", "r": "|r|"}``);
        edges are ranked by the absolute score.
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        Columns missing from an edge table or from ``truth``.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> e = pd.DataFrame({"regulator": ["T1", "T1", "T2"], "target": ["A", "B", "A"], "score": [0.9, 0.1, 0.5]})
    >>> ax = pk.pl.grn_precision_recall({"toy": e}, pd.DataFrame({"tf": ["T1"], "target": ["A"]}), scores={"score": "toy score"})
    """
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    scores = dict(scores) if scores is not None else {"score": "boosting + MI", "r": "|r|"}
    if not {"tf", "target"} <= set(truth.columns):
        raise KeyError(f"truth needs columns 'tf' and 'target', has {list(truth.columns)}")
    planted = set(zip(truth["tf"], truth["target"], strict=True))
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.2))
    styles = ["-", "--", ":", "-."]
    colours = ["#1f77b4", "#7f7f7f", "#2ca02c", "#d62728"]
    for i, (name, e) in enumerate(edges.items()):
        missing = [c for c in ("regulator", "target", *scores) if c not in e.columns]
        if missing:
            raise KeyError(f"edge table {name!r} lacks columns {missing}")
        is_planted = [(r, t) in planted for r, t in zip(e["regulator"], e["target"], strict=True)]
        for j, (col, label) in enumerate(scores.items()):
            prec, rec, _ = precision_recall_curve(is_planted, e[col].abs())
            ax.plot(rec, prec, ls=styles[i % len(styles)], color=colours[j % len(colours)], label=f"{label}, {name}")
    ax.set(xlabel="recall (planted edges found)", ylabel="precision (found edges that are planted)",
           title=title if title is not None else "Recovering the planted regulatory network", ylim=(0, 1.05))
    ax.legend(fontsize=8, frameon=False)
    return ax
