"""Bar chart of a benchmark's scores per method (twin of the ``pk.tl.*_benchmark`` tables)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.axes import Axes

from ._docs import fill_doc

__all__ = ["benchmark_scores"]


@fill_doc
def benchmark_scores(
    table: pd.DataFrame,
    metric: str,
    *,
    method_col: str = "method",
    labels: Mapping[str, str] | None = None,
    baselines: tuple[str, ...] = (),
    xlabel: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Mean and standard deviation of one score per method, as horizontal bars.

    Parameters
    ----------
    table
        Tidy benchmark table, one row per (item, method), e.g. from
        :func:`perturbkit.tl.perturbnet_benchmark` or :func:`perturbkit.tl.cpa_dose_benchmark`.
    metric
        The score column to draw.
    method_col
        Column naming the method.
    labels
        Method -> display name; also fixes the order (methods not in it are dropped). Default:
        every method, in order of appearance.
    baselines
        Methods drawn in grey (the anchors a model must beat).
    xlabel, title
        Axis label (default the metric's name) and title.
    {ax}

    Returns
    -------
    Axes
        One bar per method (top to bottom in ``labels`` order), error bars = SD over items.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> t = pd.DataFrame({"method": ["a", "a", "b", "b"], "score": [0.1, 0.3, 0.5, 0.7]})
    >>> ax = pk.pl.benchmark_scores(t, "score", baselines=("a",))
    >>> [round(float(p.get_width()), 2) for p in ax.patches]
    [0.2, 0.6]
    """
    import matplotlib.pyplot as plt

    for col in (metric, method_col):
        if col not in table.columns:
            raise KeyError(f"column {col!r} not in the table; columns: {list(table.columns)}")
    stats = table.groupby(method_col, sort=False)[metric].agg(["mean", "std"])
    order = list(labels) if labels is not None else list(stats.index)
    missing = [m for m in order if m not in stats.index]
    if missing:
        raise KeyError(f"methods {missing} not in column {method_col!r}; present: {list(stats.index)}")
    stats = stats.loc[order]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.45 * len(order) + 1.2))
    colors = ["#b0b0b0" if m in baselines else "#1f77b4" for m in order]
    ax.barh(range(len(order)), stats["mean"], xerr=stats["std"].fillna(0.0), color=colors, capsize=3)
    ax.set_yticks(range(len(order)), [labels[m] if labels is not None else m for m in order])
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set(xlabel=xlabel or metric, ylabel="method", title=title or f"{metric} by method")
    return ax
