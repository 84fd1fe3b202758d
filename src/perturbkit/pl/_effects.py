"""Figures of the effect-size tables: energy distances per group, volcano plots, and
predictor benchmarks (twins of pk.tl.edistance, pk.tl.pseudobulk_de, pk.tl.response_benchmark)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ._axes import new_axes as _axes
from ._axes import require_columns as _need
from ._docs import fill_doc
from ._tables import draw_bars, table_heatmap

__all__ = ["benchmark", "edistance", "intervals", "lfc_heatmap", "volcano"]


@fill_doc
def edistance(
    ed: pd.DataFrame,
    *,
    group_key: str = "cell_type",
    units: str = "PCA units",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Energy distance per group as horizontal bars, largest at the top, each annotated with
    its E-test p-value.

    Parameters
    ----------
    ed
        Table of :func:`perturbkit.tl.edistance` (``edistance``, ``pvalue``, ``group_key``).
    group_key
        Column naming the groups (the ``split_by`` of the call).
    units
        Units of the representation the distance was computed in, for the axis label.
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cells=30, n_genes=50, seed=0)
    >>> sc.pp.normalize_total(adata); sc.pp.log1p(adata); sc.pp.pca(adata, n_comps=10)
    >>> ax = pk.pl.edistance(pk.tl.edistance(adata, split_by="cell_type", n_perms=50))
    """
    _need(ed, [group_key, "edistance", "pvalue"], "pk.tl.edistance")
    ax = _axes(ax, (6, 0.6 + 0.5 * len(ed)))
    order = ed.sort_values("edistance")
    ax.barh(order[group_key].astype(str), order["edistance"], color="#d62728")
    for y, (e, p) in enumerate(zip(order["edistance"], order["pvalue"], strict=True)):
        ax.text(max(e, 0), y, f"  p = {p:.3g}", va="center", fontsize=8)
    ax.set_xlim(min(0.0, float(order["edistance"].min())), float(order["edistance"].max()) * 1.35 or 1.0)
    ax.set(xlabel=f"energy distance, perturbed vs control ({units})", ylabel=group_key.replace("_", " "),
           title=title or "Energy distance per group (E-test p-value)")
    return ax


@fill_doc
def volcano(
    de: pd.DataFrame,
    *,
    alpha: float = 0.05,
    n_labels: int = 8,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Volcano plot of one differential-expression table: log2 fold change against
    -log10 p-value, genes at ``padj < alpha`` in red, the ``n_labels`` smallest p-values named.

    Parameters
    ----------
    de
        One contrast of :func:`perturbkit.tl.pseudobulk_de` or :func:`perturbkit.tl.wilcoxon_de`
        (``gene``, ``log2fc``, ``pvalue``, ``padj``).
    alpha
        FDR threshold for colouring.
    n_labels
        How many genes to name.
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> de = pd.DataFrame({"gene": ["a", "b", "c"], "log2fc": [3.0, -0.1, 0.2],
    ...                    "pvalue": [1e-8, 0.5, 0.2], "padj": [3e-8, 0.5, 0.3]})
    >>> ax = pk.pl.volcano(de)
    """
    _need(de, ["gene", "log2fc", "pvalue", "padj"], "pk.tl.pseudobulk_de (one contrast)")
    d = de.dropna(subset=["pvalue", "log2fc"])
    ax = _axes(ax, (5.5, 4))
    y = -np.log10(np.clip(d["pvalue"].to_numpy(float), 1e-300, 1))
    sig = (d["padj"] < alpha).to_numpy()
    ax.scatter(d["log2fc"], y, s=6, c=np.where(sig, "#d62728", "#9e9e9e"))
    for i in np.argsort(d["pvalue"].to_numpy())[:n_labels]:
        ax.annotate(str(d["gene"].iloc[i]), (d["log2fc"].iloc[i], y[i]), fontsize=7)
    ax.set(xlabel="log2 fold change (perturbed / control)", ylabel="-log10 p-value",
           title=title or f"Differential expression (red: FDR < {alpha:g})")
    return ax


@fill_doc
def benchmark(
    results: pd.DataFrame,
    metric: str,
    *,
    labels: Mapping[str, str] | None = None,
    colors: Sequence[str] | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    show_labels: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """One metric of a predictor benchmark: mean over seeds (or splits) per method as
    horizontal bars with the standard deviation as error bars, in the order of ``labels``.

    Parameters
    ----------
    results
        Tidy table with ``method`` and ``metric`` columns, one row per (seed, method), e.g.
        :func:`perturbkit.tl.response_benchmark` or :func:`perturbkit.tl.unseen_response_benchmark`.
    metric
        Column to draw.
    labels
        Method -> label, also the order (top to bottom) and selection; default every method.
    colors
        One bar colour per method drawn.
    xlabel
        Axis label (default the metric's name).
    {title}
    show_labels
        Write the method labels on the y axis (off for panels beside a labelled one).
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> res = pd.DataFrame({"seed": [0, 0, 1, 1], "method": ["a", "b", "a", "b"], "r": [0.1, 0.5, 0.2, 0.7]})
    >>> ax = pk.pl.benchmark(res, "r", labels={"a": "baseline", "b": "model"})
    """
    _need(results, ["method", metric], "a benchmark (one row per seed and method)")
    stats = results.groupby("method")[metric].agg(["mean", "std"])
    labels = dict(labels) if labels is not None else {m: m for m in stats.index}
    missing = [m for m in labels if m not in stats.index]
    if missing:
        raise ValueError(f"methods {missing} not in the results; methods: {list(stats.index)}")
    stats = stats.loc[list(labels)]
    if colors is not None and len(colors) != len(stats):
        raise ValueError(f"{len(colors)} colours for {len(stats)} methods")
    ax = _axes(ax, (6, 0.6 + 0.4 * len(stats)))
    names = [labels[m] for m in stats.index]
    # the bar core of pk.pl.table_bars; an SD of NaN (one repetition) draws no error bar
    draw_bars(ax, stats[["mean"]].set_axis(names).set_axis([metric], axis=1),
              errors=stats[["std"]].set_axis(names).set_axis([metric], axis=1),
              row_colors=list(colors) if colors is not None else ["#1f77b4"] * len(stats), horizontal=True,
              what=f"benchmark ({metric!r} per method)")
    if not show_labels:
        ax.set_yticks(range(len(stats)), [])
    ax.set(xlabel=xlabel or metric, ylabel="predictor" if show_labels else "",
           title=title or f"{metric}: mean and SD over repetitions")
    return ax


@fill_doc
def intervals(
    table: pd.DataFrame,
    estimate: str,
    low: str,
    high: str,
    *,
    group_key: str,
    xlabel: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Point estimates with their intervals per group, sorted by the estimate, e.g. scDist's
    distances with their bootstrap intervals (:func:`perturbkit.tl.scdist`).

    Parameters
    ----------
    table
        One row per group.
    estimate, low, high
        Columns of the estimate and the interval's ends.
    group_key
        Column naming the groups.
    xlabel
        Axis label (default ``estimate``).
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> t = pd.DataFrame({"cell_type": ["a", "b"], "distance": [2.0, 1.0], "ci_low": [1.5, 0.2], "ci_high": [2.6, 1.9]})
    >>> ax = pk.pl.intervals(t, "distance", "ci_low", "ci_high", group_key="cell_type")
    """
    _need(table, [group_key, estimate, low, high], "a table with one row per group")
    ax = _axes(ax, (6, 0.6 + 0.5 * len(table)))
    order = table.sort_values(estimate)
    y = np.arange(len(order))
    # segments, not error bars: a bias-corrected estimate may lie outside its bootstrap interval
    ax.hlines(y, order[low], order[high], color="#9467bd", lw=2)
    ax.plot(order[estimate], y, "o", c="#9467bd")
    ax.set_yticks(y, order[group_key].astype(str))
    ax.set(xlabel=xlabel or estimate, ylabel=group_key.replace("_", " "),
           title=title or f"{estimate} with its interval, per {group_key}")
    return ax


@fill_doc
def lfc_heatmap(
    de: pd.DataFrame,
    *,
    genes: Sequence[str],
    group_key: str = "cell_type",
    limit: float = 8.0,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Log2 fold changes of chosen genes (rows) in every group (columns), on a symmetric
    red-blue scale; grey where a gene was not tested in a group.

    Parameters
    ----------
    de
        Tidy DE table with ``gene``, ``log2fc`` and ``group_key`` (e.g.
        :func:`perturbkit.tl.pseudobulk_de` with ``split_by``).
    genes
        Genes to show, in this order.
    group_key
        Column of the groups (the ``split_by`` of the call).
    limit
        Colour scale from ``-limit`` to ``+limit``.
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> de = pd.DataFrame({"gene": ["a", "b", "a"], "cell_type": ["x", "x", "y"], "log2fc": [2.0, -1.0, 3.0]})
    >>> ax = pk.pl.lfc_heatmap(de, genes=["a", "b"])
    """
    _need(de, ["gene", "log2fc", group_key], "pk.tl.pseudobulk_de with split_by")
    genes = list(genes)
    absent = [g for g in genes if g not in set(de["gene"])]
    if absent:
        raise ValueError(f"genes {absent[:5]} are not in the table")
    lfc = de.pivot_table(index="gene", columns=group_key, values="log2fc").reindex(genes)
    ax = _axes(ax, (1.5 + 0.9 * lfc.shape[1], 1 + 0.25 * len(genes)))
    # grey where a gene was not tested in a group (NaN after the pivot)
    return table_heatmap(lfc, colorbar_label="log2 fold change", title=title or "log2 fold change",
                         x_label=group_key.replace("_", " "), y_label="gene", limit=limit, rotation=40, ax=ax)
