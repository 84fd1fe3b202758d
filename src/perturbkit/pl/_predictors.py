"""Predictors side by side: held-out scores of a model and its baselines, and which
subsystems a visible network uses (twins of :func:`perturbkit.tl.visible_network`)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
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
    labels: Mapping[str, str] | None = None,
    baselines: Sequence[str] = (),
    metric_label: str | None = None,
    ax: Axes | None = None,
    title: str = "Held-out scores: model against baselines",
) -> Axes:
    """A held-out score per model (or method), mean +- 1 SD, baselines in grey: the figure
    of every model-against-baselines table (``pk.tl.*_benchmark``, ``pk.tl.cadrres_holdout``,
    ``pk.tl.visible_network(...).scores``).

    Rows are first averaged within each (model, group, replicate); a bar is the mean over
    replicates and its error bar their standard deviation (ddof 1; none from a single one).
    With ``replicate_key=None`` every row is a replicate, e.g. the held-out items of a
    benchmark table (one row per item and method): the error bar is then the spread between
    items. With ``group_key=None`` the bars are horizontal, one per model, named on the axis;
    with a ``group_key`` they are vertical, grouped by its values, models in the legend.

    Parameters
    ----------
    scores
        Tidy table with ``model_key``, ``metric`` and optionally ``group_key`` (e.g. drug)
        and ``replicate_key`` (e.g. seed) columns. A (model, group) whose values are all NaN
        draws no bar and raises a warning naming it; a pair with no rows at all is simply left out.
    metric
        Column to plot (e.g. ``"pearson"`` or ``"rmse"``).
    model_key, group_key, replicate_key
        Columns naming the model, the group of bars (``None``: one bar per model, groups
        averaged within each replicate) and the replicate (``None``: each row is one).
    models
        Models to draw, in plotting order (default: every model, in order of appearance).
    labels
        Display names of models (models not in it keep their own name).
    baselines
        Models drawn in grey, the anchors the others must beat.
    metric_label
        Axis label of the score (default: the metric's name, with its meaning for
        ``pearson``/``rmse``).
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> scores = pd.DataFrame({"model": ["net", "mean"] * 4, "seed": [0, 0, 1, 1] * 2,
    ...                        "drug": ["a"] * 4 + ["b"] * 4, "pearson": [0.5, 0.0, 0.4, 0.0, 0.6, 0.0, 0.7, 0.0]})
    >>> ax = pk.pl.model_scores(scores, baselines=["mean"])
    >>> ax.get_ylabel()
    'held-out Pearson r (predicted vs observed)'
    >>> bench = pd.DataFrame({"method": ["a", "a", "b", "b"], "score": [0.1, 0.3, 0.5, 0.7]})
    >>> ax = pk.pl.model_scores(bench, metric="score", model_key="method", group_key=None, replicate_key=None)
    >>> [round(float(p.get_width()), 2) for p in ax.patches]
    [0.2, 0.6]
    """
    import matplotlib.pyplot as plt

    need = [model_key, metric] + [k for k in (group_key, replicate_key) if k is not None]
    for col in need:
        if col not in scores.columns:
            raise KeyError(f"scores has no column {col!r}; columns: {list(scores.columns)}")
    order = list(models) if models is not None else list(dict.fromkeys(scores[model_key]))
    missing = [m for m in order if m not in set(scores[model_key])]
    if missing:
        raise KeyError(f"models {missing} not in scores[{model_key!r}]; present: {list(dict.fromkeys(scores[model_key]))}")
    unknown = [b for b in baselines if b not in order]
    if unknown:
        raise KeyError(f"baselines {unknown} are not among the models drawn: {order}")
    names = {m: (labels or {}).get(m, str(m)) for m in order}
    data = scores[scores[model_key].isin(order)].copy()
    rep = replicate_key or "_row"
    if replicate_key is None:  # every row is its own replicate (e.g. a held-out item)
        data[rep] = np.arange(len(data))
    by = [model_key] + ([group_key] if group_key is not None else [])
    per_rep = data.groupby([*by, rep], sort=False, observed=True)[metric].mean().reset_index()
    stats = per_rep.groupby(by, sort=False, observed=True)[metric].agg(["mean", "std"])
    spread = bool(stats["std"].notna().any())  # some bar has >= 2 replicates: error bars mean something
    all_nan = [" / ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
               for key in stats.index[stats["mean"].isna()]]  # rows there, but no finite value: a vanished bar
    if all_nan:
        warnings.warn(f"model_scores: no bar for {metric!r} of {all_nan[:8]}{' ...' if len(all_nan) > 8 else ''} "
                      f"({model_key} / {group_key or 'all'}): every value there is NaN", UserWarning, stacklevel=2)
    stats["std"] = stats["std"].fillna(0.0)  # a single replicate: no error bar
    # grey shades for the baselines (told apart in the legend), the colour cycle for the models
    greys = iter(["#b0b0b0", "#7f7f7f", "#d9d9d9", "#5a5a5a"] * len(order))
    palette = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"] * len(order))
    colors = {m: next(greys) if m in baselines else next(palette) for m in order}
    what = f"model_scores ({metric!r} per {model_key} and {group_key or 'model'})"
    score_label = metric_label or _METRIC_LABELS.get(metric, metric)
    if group_key is None:
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.45 * len(order) + 1.2))
        means = stats.loc[order, ["mean"]].set_axis([names[m] for m in order]).rename(columns={"mean": metric})
        errors = stats.loc[order, ["std"]].set_axis(means.index).rename(columns={"std": metric})
        draw_bars(ax, means, errors=errors if spread else None, row_colors=[colors[m] for m in order], horizontal=True,
                  warn_nan=False, what=what)
        ax.set(xlabel=score_label, ylabel=model_key, title=title)
        return ax
    groups = list(dict.fromkeys(data[group_key]))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(groups) * len(order) / 2 + 3), 3.8))
    wide = stats.unstack(model_key)  # a (model, group) pair without rows stays NaN: left out on purpose
    means = wide["mean"].reindex(index=groups, columns=order).set_axis([str(g) for g in groups])
    errors = wide["std"].reindex(index=groups, columns=order).set_axis(means.index)
    draw_bars(ax, means.set_axis([names[m] for m in order], axis=1),
              errors=errors.set_axis([names[m] for m in order], axis=1) if spread else None,
              colors=[colors[m] for m in order], warn_nan=False, what=what)
    ax.set_xlabel(group_key)
    ax.set_ylabel(score_label)
    ax.set_title(title)
    ax.legend(fontsize=8, frameon=False, ncol=min(len(order), 4))
    return ax


_METRIC_LABELS = {"pearson": "held-out Pearson r (predicted vs observed)", "rmse": "held-out RMSE"}


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
