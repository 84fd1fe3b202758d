"""Plots of ligand-receptor results (twins of :func:`perturbkit.tl.differential_lr` and
:func:`perturbkit.tl.lr_scores`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["differential_lr", "lr_score_agreement"]


def _require(table: pd.DataFrame, columns: tuple[str, ...], producer: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise KeyError(f"table lacks columns {missing}: pass the table {producer} returns")


@fill_doc
def differential_lr(
    table: pd.DataFrame,
    *,
    n: int = 12,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The top interactions changed by a perturbation: the change (bar) and each sample's (dots).

    Bars are dark for interactions ``gained`` (absent in the control), light otherwise;
    one black dot per sample column ``delta_<sample>``, so the replication is visible.

    Parameters
    ----------
    table
        The table :func:`perturbkit.tl.differential_lr` returns (ranked; its first ``n`` rows).
    n
        Interactions shown.
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        Columns of :func:`perturbkit.tl.differential_lr` missing.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> tab = pd.DataFrame({"source": ["B", "T"], "target": ["T", "B"], "ligand": ["L1", "L2"],
    ...                     "receptor": ["R1", "R2"], "delta": [0.5, 0.2], "status": ["gained", "up"],
    ...                     "delta_d1": [0.4, 0.1], "delta_d2": [0.6, 0.3]})
    >>> ax = pk.pl.differential_lr(tab)
    """
    import matplotlib.pyplot as plt

    _require(table, ("source", "target", "ligand", "receptor", "delta", "status"), "pk.tl.differential_lr")
    top = table.head(n).iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.35 * len(top) + 1.5))
    y = np.arange(len(top))
    ax.barh(y, top["delta"], color=["#d62728" if s == "gained" else "#ff9896" for s in top["status"]])
    for i, col in enumerate(c for c in table.columns if c.startswith("delta_")):
        ax.scatter(top[col], y, s=14, color="black", zorder=3, label="per sample" if i == 0 else None)
    ax.set_yticks(y, [f"{r.source} → {r.target}: {r.ligand}–{r.receptor}" for r in top.itertuples()], fontsize=8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(xlabel="Δ interaction score, perturbed − control (log-normalised expression)", ylabel="sender → receiver: pair",
           title=title if title is not None else "Interactions changed by the perturbation (dark: gained)")
    if any(c.startswith("delta_") for c in table.columns):
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    return ax


@fill_doc
def lr_score_agreement(
    table: pd.DataFrame,
    *,
    groupby: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """CellPhoneDB's mean score against CellChat's probability for the same interactions.

    Parameters
    ----------
    table
        The table :func:`perturbkit.tl.lr_scores` returns (``lr_means``, ``lr_probs``).
    groupby
        Column to colour by (e.g. the condition with ``split_by``), or ``None``.
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        ``lr_means``/``lr_probs`` or ``groupby`` missing.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> tab = pd.DataFrame({"lr_means": [0.1, 0.5, 1.0], "lr_probs": [1e-3, 1e-2, 5e-2]})
    >>> ax = pk.pl.lr_score_agreement(tab)
    """
    import matplotlib.pyplot as plt

    _require(table, ("lr_means", "lr_probs") + ((groupby,) if groupby else ()), "pk.tl.lr_scores")
    both = table.dropna(subset=["lr_probs"])
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5))
    groups = [(None, both)] if groupby is None else list(both.groupby(groupby, observed=True, sort=False))
    colours = ["#7f7f7f", "#d62728", "#1f77b4", "#2ca02c"]
    for i, (name, d) in enumerate(groups):
        ax.scatter(d["lr_means"], d["lr_probs"], s=8, alpha=0.6, color=colours[i % len(colours)],
                   label=str(name) if name is not None else None)
    ax.set(xlabel="CellPhoneDB score: mean of ligand and receptor (log-normalised)",
           ylabel="CellChat communication probability", yscale="log",
           title=title if title is not None else "Two scores of the same interactions")
    if groupby is not None:
        ax.legend(frameon=False, fontsize=8)
    return ax
