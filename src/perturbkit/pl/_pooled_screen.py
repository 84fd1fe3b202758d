"""Plots of pooled CRISPR screens: the twins of :func:`perturbkit.tl.mageck_test`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from anndata import AnnData

from .._keys import NORMALIZED, require_layer
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
    adata: AnnData, *, layer: str = NORMALIZED, ax: Axes | None = None, title: str = "sgRNA read counts"
) -> Axes:
    """Distribution of log2(count + 1) per sample (box plot), before or after normalisation.

    Parameters
    ----------
    adata
        sgRNA x sample AnnData.
    layer
        Layer to draw (``"normalized"`` after :func:`perturbkit.pp.normalize_screen`,
        ``"counts"`` before).
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> s = pk.data.simulate_pooled_screen(n_genes=50, seed=0); pk.pp.normalize_screen(s)
    >>> ax = pk.pl.screen_counts(s)
    """
    import matplotlib.pyplot as plt

    x = np.asarray(require_layer(adata, layer, producer=f"pk.pp.normalize_screen(adata, key_added={layer!r})"),
                   dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    ax.boxplot([np.log2(col + 1) for col in x.T], showfliers=False)
    ax.set_xticks(range(1, adata.n_vars + 1), list(adata.var_names), rotation=30)
    ax.set_ylabel(f"log2({layer} count + 1)")
    ax.set_xlabel("sample")
    ax.set_title(title)
    return ax
