"""Plots of pooled CRISPR screens: the twins of :func:`perturbkit.tl.mageck_test`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from anndata import AnnData

from .._keys import NORMALIZED, require_layer
from ._axes import new_axes
from ._distributions import boxplot
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@fill_doc
def screen_rank(
    genes: pd.DataFrame,
    *,
    highlight: Iterable[str] = (),
    highlight_label: str = "reference essential genes",
    score: str = "lfc",
    n_label: int = 8,
    ax: Axes | None = None,
    title: str = "Gene ranking",
) -> Axes:
    """Gene log2 fold change against rank, as in MAGeCK's rank plots.

    Parameters
    ----------
    genes
        Gene table from :func:`perturbkit.tl.mageck_test` (or :func:`perturbkit.tl.rra`).
    highlight
        Genes to mark (e.g. core-essential genes).
    score
        Column on the y axis (``"lfc"``).
    highlight_label
        Legend entry of the highlighted genes.
    n_label
        Label this many top-ranked genes.
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> s = pk.data.simulate_pooled_screen(n_genes=50, seed=0); pk.pp.normalize_screen(s)
    >>> res = pk.tl.mageck_test(s, treatment_samples=["final_1", "final_2"],
    ...                         control_samples=["initial_1", "initial_2"])
    >>> ax = pk.pl.screen_rank(res)
    """
    import matplotlib.pyplot as plt

    if score not in genes.columns or "gene" not in genes.columns:
        raise KeyError(f"gene table needs 'gene' and {score!r}; run pk.tl.mageck_test first")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    ordered = genes.sort_values(score).reset_index(drop=True)
    rank = np.arange(1, len(ordered) + 1)
    ax.scatter(rank, ordered[score], s=4, c="0.6", label="all genes", rasterized=True)
    mark = ordered["gene"].isin(set(highlight))
    if mark.any():
        ax.scatter(rank[mark], ordered.loc[mark, score], s=14, c="tab:red", label=highlight_label)
    top = genes.head(n_label)["gene"] if n_label else []
    for g in top:
        i = int(np.flatnonzero(ordered["gene"].to_numpy() == g)[0])
        ax.annotate(g, (rank[i], ordered.loc[i, score]), fontsize=7, xytext=(4, 0), textcoords="offset points")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("gene rank by median sgRNA log2 fold change")
    ax.set_ylabel("median sgRNA log2 fold change (final / initial)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return ax


@fill_doc
def screen_counts(
    adata: AnnData,
    *,
    layer: str = NORMALIZED,
    xlabel: str = "sample",
    ylabel: str | None = None,
    ax: Axes | None = None,
    title: str = "sgRNA read counts",
) -> Axes:
    """Distribution of log2(count + 1) per sample (box plot), before or after normalisation.

    Parameters
    ----------
    adata
        sgRNA x sample AnnData.
    layer
        Layer to draw (``"normalized"`` after :func:`perturbkit.pp.normalize_screen`,
        ``"counts"`` before).
    xlabel, ylabel
        Axis labels (default "sample" and ``log2(<layer> count + 1)``).
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> s = pk.data.simulate_pooled_screen(n_genes=50, seed=0); pk.pp.normalize_screen(s)
    >>> ax = pk.pl.screen_counts(s)
    """
    x = np.asarray(require_layer(adata, layer, producer=f"pk.pp.normalize_screen(adata, key_added={layer!r})"),
                   dtype=float)
    samples = [str(v) for v in adata.var_names]
    long = pd.DataFrame({"sample": np.tile(samples, adata.n_obs), "log2_count": np.log2(x + 1).ravel()})
    return boxplot(long, "log2_count", group_key="sample", order=samples, showfliers=False, rotation=30,
                   xlabel=xlabel, ylabel=ylabel or f"log2({layer} count + 1)", title=title,
                   ax=new_axes(ax, (5.5, 3.5)))


@fill_doc
def sgrna_lfc(
    table: pd.DataFrame,
    *,
    pvalue: float = 1e-3,
    ax: Axes | None = None,
    title: str = "sgRNA fold changes against abundance",
) -> Axes:
    """Guide log2 fold change against its starting abundance (MA plot); guides with
    ``pvalue_low < pvalue`` (depleted beyond the mean-variance model) in red.

    Parameters
    ----------
    table
        Output of :func:`perturbkit.tl.sgrna_lfc`.
    pvalue
        Threshold of the highlighted guides.
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> s = pk.data.simulate_pooled_screen(n_genes=40, seed=0)
    >>> pk.pp.normalize_screen(s)
    >>> ax = pk.pl.sgrna_lfc(pk.tl.sgrna_lfc(s, treatment_samples=["final_1", "final_2"],
    ...                                      control_samples=["initial_1", "initial_2"]))
    """
    import matplotlib.pyplot as plt

    for col in ("control_mean", "lfc", "pvalue_low"):
        if col not in table.columns:
            raise KeyError(f"table has no column {col!r}; run pk.tl.sgrna_lfc first")
    if not 0 < pvalue < 1:
        raise ValueError(f"pvalue must be in (0, 1), got {pvalue}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    x = np.log10(table["control_mean"].to_numpy() + 1)
    strong = table["pvalue_low"].to_numpy() < pvalue
    ax.scatter(x, table["lfc"], s=3, c="0.5", alpha=0.5, label="all sgRNAs", rasterized=True)
    ax.scatter(x[strong], table["lfc"][strong], s=5, c="tab:red", label=f"pvalue_low < {pvalue:g}")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("mean normalised count at start (log10 reads)")
    ax.set_ylabel("log2 fold change (end / start)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return ax


@fill_doc
def mle_betas(
    betas: pd.DataFrame,
    *,
    x: str,
    y: str,
    highlight: Iterable[str] = (),
    ax: Axes | None = None,
    title: str = "MAGeCK-MLE: gene effects per condition",
) -> Axes:
    """Gene effects (``beta``, natural-log fold change) of two conditions against each other.

    Parameters
    ----------
    betas
        Genes x conditions, e.g. ``mle.pivot(index="gene", columns="condition", values="beta")``
        from :func:`perturbkit.tl.mageck_mle`.
    x, y
        The two condition columns.
    highlight
        Genes to mark and label (absent ones are skipped).
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> betas = pd.DataFrame({"A": [-1.0, 0.1, -0.2], "B": [-1.2, 0.0, -2.0]}, index=["g1", "g2", "g3"])
    >>> ax = pk.pl.mle_betas(betas, x="A", y="B", highlight=["g3"])
    """
    import matplotlib.pyplot as plt

    for col in (x, y):
        if col not in betas.columns:
            raise KeyError(f"betas has no condition {col!r}; columns: {list(betas.columns)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    ax.scatter(betas[x], betas[y], s=4, c="0.6", rasterized=True, label="genes")
    shown = [g for g in highlight if g in betas.index]
    ax.scatter(betas.loc[shown, x], betas.loc[shown, y], s=20, c="tab:red")
    for g in shown:
        ax.annotate(g, (betas.loc[g, x], betas.loc[g, y]), fontsize=8, xytext=(4, 2), textcoords="offset points")
    lim = [float(betas[[x, y]].min().min()) - 0.2, 1.0]
    ax.plot(lim, lim, "k--", lw=0.5, label="equal effect")
    ax.set_xlabel(f"beta, {x} (natural log fold change)")
    ax.set_ylabel(f"beta, {y} (natural log fold change)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return ax


@fill_doc
def essential_lfc(
    lfc: pd.Series,
    essential: Iterable[str],
    *,
    bins: int = 60,
    ax: Axes | None = None,
    title: str = "Essential genes drop out",
) -> Axes:
    """Histograms of gene log2 fold changes: reference essential genes against all others.

    Parameters
    ----------
    lfc
        Gene log2 fold changes indexed by gene (e.g. the ``lfc`` of
        :func:`perturbkit.tl.mageck_test` indexed by ``gene``).
    essential
        Reference essential genes (e.g. the index of :func:`perturbkit.tl.core_essential_genes`).
    bins
        Histogram bins over the common range.
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> lfc = pd.Series([-3.0, -2.5, 0.1, 0.0, -0.2], index=list("abcde"))
    >>> ax = pk.pl.essential_lfc(lfc, ["a", "b"])
    """
    import matplotlib.pyplot as plt

    is_ess = lfc.index.isin(list(essential))
    if not is_ess.any() or is_ess.all():
        raise ValueError("essential must name some, but not all, genes of lfc")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    edges = np.linspace(float(lfc.min()), float(lfc.max()), bins + 1)
    ax.hist(lfc[~is_ess], bins=edges, density=True, alpha=0.6, label=f"other genes (n={int((~is_ess).sum()):,})")
    ax.hist(lfc[is_ess], bins=edges, density=True, alpha=0.6, label=f"reference essential (n={int(is_ess.sum())})")
    ax.set_xlabel("gene log2 fold change (end / start)")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return ax


@fill_doc
def genome_track(
    table: pd.DataFrame,
    *,
    value: str = "lfc",
    segment_value: str = "segment_median",
    mark_genes: Iterable[str] = (),
    clip: tuple[float, float] = (-3.0, 2.0),
    ax: Axes | None = None,
    title: str = "Guides in genome order",
) -> Axes:
    """Guide values in genome order with their segment medians, as CRISPRcleanR shows a screen.

    Parameters
    ----------
    table
        Output of :func:`perturbkit.tl.crisprcleanr` (rows in genome order).
    value
        Column plotted per guide (``"lfc"`` or ``"lfc_corrected"``).
    segment_value
        Column of per-guide segment medians drawn as a line; ``None`` recomputes the
        median of ``value`` per ``segment``.
    mark_genes
        Genes marked by dotted vertical lines.
    clip
        Limits the values are clipped to.
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import numpy as np, pandas as pd, perturbkit as pk
    >>> t = pd.DataFrame({"lfc": np.r_[np.zeros(50), -np.ones(50)], "segment": np.repeat([0, 1], 50),
    ...                   "segment_median": np.r_[np.zeros(50), -np.ones(50)], "gene": [f"g{i}" for i in range(100)]})
    >>> ax = pk.pl.genome_track(t, mark_genes=["g60"])
    """
    import matplotlib.pyplot as plt

    for col in (value, "segment", "gene"):
        if col not in table.columns:
            raise KeyError(f"table has no column {col!r}; run pk.tl.crisprcleanr first")
    if segment_value is not None and segment_value not in table.columns:
        raise KeyError(f"table has no column {segment_value!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 3))
    order = np.arange(len(table))
    seg = (table[segment_value] if segment_value is not None
           else table.groupby("segment")[value].transform("median"))
    ax.scatter(order, table[value].clip(*clip), s=0.3, c="0.6", rasterized=True)
    ax.plot(order, seg.clip(*clip), c="tab:red", lw=1, label="segment median")
    marks = np.flatnonzero(table["gene"].isin(set(mark_genes)).to_numpy())
    for i in marks:
        ax.axvline(i, c="tab:blue", lw=0.6, ls=":")
    ax.set_xlabel("guide index along the genome" + (" (dotted: " + ", ".join(mark_genes) + ")" if len(marks) else ""))
    ax.set_ylabel(f"sgRNA log2 FC ({value}, clipped)")
    ax.set_title(title)
    ax.legend(loc="lower left", frameon=False, fontsize=8)
    return ax
