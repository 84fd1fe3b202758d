"""Plots of MISTy's results (twins of :func:`perturbkit.tl.misty`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["misty_gain", "misty_importances"]


def _require(table: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise KeyError(f"table lacks columns {missing}: pass uns['misty'] tables written by pk.tl.misty")


@fill_doc
def misty_gain(
    metrics: pd.DataFrame,
    *,
    targets: Sequence[str | tuple[str, str]] | None = None,
    n: int = 8,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Cross-validated R² of each target from its own cell (grey) and what space adds (green).

    Parameters
    ----------
    metrics
        ``uns["misty"]["target_metrics"]`` written by :func:`perturbkit.tl.misty`.
    targets
        Targets to draw, top to bottom: gene names, or ``(gene, group)`` pairs when the
        model was fitted per ``intra_group``. Default the ``n`` largest ``gain_R2``.
    n
        Targets when ``targets`` is ``None``.
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        Columns missing, or a requested target (or group) not in ``metrics``.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> m = pd.DataFrame({"target": ["A", "B"], "intra_R2": [0.5, 0.2], "gain_R2": [0.1, 0.3]})
    >>> ax = pk.pl.misty_gain(m)
    """
    import matplotlib.pyplot as plt

    _require(metrics, ("target", "intra_R2", "gain_R2"))
    grouped = "intra_group" in metrics.columns
    if targets is None:
        rows = metrics.sort_values("gain_R2", ascending=False).head(n)
    else:
        picked = []
        for t in targets:
            gene, group = (t if isinstance(t, tuple) else (t, None))
            sel = metrics["target"] == gene
            if group is not None:
                if not grouped:
                    raise KeyError(f"metrics has no intra_group column; pass gene names, not {t!r}")
                sel &= metrics["intra_group"].astype(str) == group
            if not sel.any():
                raise KeyError(f"target {t!r} not in metrics")
            picked.append(metrics[sel].iloc[0])
        rows = pd.DataFrame(picked)
    rows = rows.iloc[::-1]
    names = [f"{r.target} ({r.intra_group})" if grouped else str(r.target) for r in rows.itertuples()]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 0.35 * len(rows) + 1.5))
    y = np.arange(len(rows))
    ax.barh(y, rows["intra_R2"], color="#7f7f7f", label="intra view only")
    ax.barh(y, rows["gain_R2"], left=rows["intra_R2"], color="#2ca02c", label="gain from space")
    ax.set_yticks(y, names, fontsize=8)
    ax.set(xlabel="cross-validated R²", ylabel="target", title=title if title is not None else "What the neighbourhood adds")
    ax.legend(frameon=False, fontsize=8)
    return ax


@fill_doc
def misty_importances(
    importances: pd.DataFrame,
    target: str,
    *,
    group: str | None = None,
    spatial_only: bool = True,
    n: int = 6,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The strongest predictors of one target, labelled with the view they come from.

    Parameters
    ----------
    importances
        ``uns["misty"]["importances"]`` written by :func:`perturbkit.tl.misty`.
    target
        The target gene.
    group
        Its ``intra_group`` when the model was fitted per group.
    spatial_only
        Leave out the intra view (the cell's own genes).
    n
        Predictors shown.
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        Columns missing, or no row for ``target`` (and ``group``).

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> imp = pd.DataFrame({"target": ["A", "A"], "predictor": ["B", "C"], "view": ["juxta", "para"],
    ...                     "importances": [0.4, 0.1]})
    >>> ax = pk.pl.misty_importances(imp, "A")
    """
    import matplotlib.pyplot as plt

    _require(importances, ("target", "predictor", "view", "importances"))
    sel = importances["target"] == target
    if group is not None:
        if "intra_group" not in importances.columns:
            raise KeyError("importances has no intra_group column: the model was not fitted per group")
        sel &= importances["intra_group"].astype(str) == group
    if spatial_only:
        sel &= importances["view"] != "intra"
    rows = importances[sel].sort_values("importances").tail(n)
    if rows.empty:
        raise KeyError(f"no importances for target {target!r}" + (f" in group {group!r}" if group else ""))
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 0.35 * len(rows) + 1.5))
    ax.barh([f"{p} ({v})" for p, v in zip(rows["predictor"], rows["view"], strict=True)], rows["importances"], color="#2ca02c")
    where = f" in {group}" if group else ""
    ax.set(xlabel="importance (standardised coefficient)", ylabel="predictor (view)",
           title=title if title is not None else f"{target}{where}: {'spatial ' if spatial_only else ''}predictors")
    return ax
