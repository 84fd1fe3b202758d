"""Predictors side by side: held-out scores of a model and its baselines, and which
subsystems a visible network uses (twins of :func:`perturbkit.tl.visible_network`)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._docs import fill_doc
from ._tables import draw_bars

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@fill_doc
def model_scores(
    scores: pd.DataFrame,
    *,
    metric: str = "pearson",
    model_key: str = "model",
    group_key: str | None = "drug",
    replicate_key: str | None = "seed",
    models: Sequence[str] | None = None,
    metric_label: str | None = None,
    ax: Axes | None = None,
    title: str = "Held-out scores: model against baselines",
) -> Axes:
    """Bars of a score per model (and per group), mean over replicates with +- 1 SD.

    Parameters
    ----------
    scores
        Tidy table with ``model_key``, ``metric`` and optionally ``group_key`` (e.g. drug)
        and ``replicate_key`` (e.g. seed) columns, such as ``pk.tl.visible_network(...).scores``.
        A (model, group) whose values are all NaN draws no bar and raises a warning naming
        it; a pair with no rows at all is simply left out.
    metric
        Column to plot (e.g. ``"pearson"`` or ``"rmse"``).
    model_key, group_key, replicate_key
        Columns naming the model, the group of bars (``None``: one bar per model, the mean
        over groups per replicate) and the replicate (``None``: no error bars).
    models
        Models in plotting order (default: order of appearance).
    metric_label
        Y-axis label (default: the metric's name with its meaning for ``pearson``/``rmse``).
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> scores = pd.DataFrame({"model": ["net", "mean"] * 4, "seed": [0, 0, 1, 1] * 2,
    ...                        "drug": ["a"] * 4 + ["b"] * 4, "pearson": [0.5, 0.0, 0.4, 0.0, 0.6, 0.0, 0.7, 0.0]})
    >>> ax = pk.pl.model_scores(scores)
    >>> ax.get_ylabel()
    'held-out Pearson r (predicted vs observed)'
    """
    import matplotlib.pyplot as plt

    need = [model_key, metric] + [k for k in (group_key, replicate_key) if k is not None]
    for col in need:
        if col not in scores.columns:
            raise KeyError(f"scores has no column {col!r}; columns: {list(scores.columns)}")
    order = list(models) if models is not None else list(dict.fromkeys(scores[model_key]))
    missing = [m for m in order if m not in set(scores[model_key])]
    if missing:
        raise KeyError(f"models {missing} not in scores[{model_key!r}]")
    data = scores[scores[model_key].isin(order)]
    if group_key is None and replicate_key is not None:  # one value per model and replicate
        data = data.groupby([model_key, replicate_key], as_index=False)[metric].mean()
    groups = list(dict.fromkeys(data[group_key])) if group_key is not None else [None]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(groups) * len(order) / 2 + 3), 3.8))
    means = pd.DataFrame(index=range(len(groups)), columns=[str(m) for m in order], dtype=float)
    sds = means.copy()
    all_nan = []  # (model, group) pairs with rows but no finite value: a bar that silently vanished
    for m in order:
        sub = data[data[model_key] == m]
        for i, g in enumerate(groups):
            v = (sub if g is None else sub[sub[group_key] == g])[metric].to_numpy(float)
            if v.size and not np.isfinite(v).any():
                all_nan.append(f"{m} / {g}" if g is not None else str(m))
            means.loc[i, str(m)] = np.nanmean(v) if np.isfinite(v).any() else np.nan
            sds.loc[i, str(m)] = np.nanstd(v, ddof=1) if np.isfinite(v).sum() > 1 and replicate_key is not None else 0.0
    if all_nan:
        warnings.warn(f"model_scores: no bar for {metric!r} of {all_nan[:8]}{' ...' if len(all_nan) > 8 else ''} "
                      f"({model_key} / {group_key or 'all'}): every value there is NaN", UserWarning, stacklevel=2)
    means.index = sds.index = [str(g) for g in groups] if group_key is not None else [""]
    # a (model, group) pair without rows is left out on purpose (e.g. a baseline defined for one group only)
    draw_bars(ax, means, errors=sds if replicate_key is not None else None, warn_nan=False,
              what=f"model_scores ({metric!r} per {model_key} and {group_key or 'model'})")
    if group_key is not None:
        ax.set_xlabel(group_key)
    else:
        ax.set_xlabel("model")
    labels = {"pearson": "held-out Pearson r (predicted vs observed)", "rmse": "held-out RMSE"}
    ax.set_ylabel(metric_label or labels.get(metric, metric))
    ax.set_title(title)
    ax.legend(fontsize=8, frameon=False, ncol=min(len(order), 4))
    return ax


@fill_doc
def subsystem_importance(
    terms: pd.DataFrame,
    *,
    drug: object,
    min_rho: float = 0.2,
    n_top: int = 10,
    highlight: str | None = None,
    labels: dict[str, str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """The subsystems a visible network uses for one drug: RLIPP of the terms whose neurons
    predict the drug (Spearman r >= ``min_rho``), largest first, mean over seeds.

    Parameters
    ----------
    terms
        ``pk.tl.visible_network(...).terms`` (``term``, ``drug``, ``rlipp``, ``rho_term``;
        optional ``seed`` and ``has_<gene>`` columns).
    drug
        Which drug's RLIPP to show.
    min_rho, n_top
        Terms shown: predictive ones (mean ``rho_term`` >= ``min_rho``), the ``n_top`` largest RLIPPs.
    highlight
        A ``has_<gene>`` column: terms whose subtree holds the gene are drawn in colour.
    labels
        Display names for terms (e.g. GO term names).
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> terms = pd.DataFrame({"term": ["A", "B", "C"], "drug": "d", "rlipp": [0.5, 0.1, 2.0],
    ...                       "rho_term": [0.4, 0.3, 0.05], "has_X": [True, False, False]})
    >>> ax = pk.pl.subsystem_importance(terms, drug="d", highlight="has_X")
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['B', 'A']
    """
    import matplotlib.pyplot as plt

    for col in ("term", "drug", "rlipp", "rho_term"):
        if col not in terms.columns:
            raise KeyError(f"terms has no column {col!r}; pass pk.tl.visible_network(...).terms")
    if highlight is not None and highlight not in terms.columns:
        raise KeyError(f"terms has no column {highlight!r} (run visible_network with mark_genes)")
    sub = terms[terms["drug"] == drug]
    if sub.empty:
        raise KeyError(f"drug {drug!r} not in terms (RLIPP computed for {sorted(set(terms['drug']), key=str)[:10]})")
    agg = {"rlipp": ("rlipp", "mean"), "rho_term": ("rho_term", "mean")}
    if highlight is not None:
        agg["mark"] = (highlight, "first")
    t = sub.groupby("term").agg(**agg)
    t = t[t["rho_term"] >= min_rho].sort_values("rlipp", ascending=False).head(n_top).iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.35 * max(len(t), 3) + 1.2))
    colours = (np.where(t["mark"].astype(bool), "tab:red", "0.6") if highlight is not None else "tab:blue")
    names = [labels.get(x, x) if labels else x for x in t.index]
    ax.barh(names, t["rlipp"], color=colours)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("RLIPP (relative gain of the term's neurons over its inputs)")
    ax.set_ylabel("subsystem (term)")
    suffix = f"; red: {highlight[4:]} in subtree" if highlight and highlight.startswith("has_") else ""
    ax.set_title(title or f"Subsystems predicting drug {drug} (Spearman >= {min_rho}{suffix})")
    return ax
