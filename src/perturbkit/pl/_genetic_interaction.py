"""Plot of an isogenic-pair screen: the twin of :func:`perturbkit.tl.isogenic_interaction`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._validate import check_probability
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@fill_doc
def isogenic_scatter(
    table: pd.DataFrame,
    *,
    fdr: float = 0.1,
    highlight: Iterable[str] = (),
    ax: Axes | None = None,
    title: str = "Isogenic pair: gene effects in both lines",
) -> Axes:
    """Gene log2 fold change in the reference line against the mutant line; synthetic-lethal
    hits (``neg_padj < fdr``) in red, suppressions (``pos_padj < fdr``) in blue.

    Parameters
    ----------
    table
        Output of :func:`perturbkit.tl.isogenic_interaction`.
    fdr
        FDR threshold of the coloured hits.
    highlight
        Genes to ring (e.g. planted truth).
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> s = pk.data.simulate_isogenic_screen(seed=0)
    >>> gi = pk.tl.isogenic_interaction(s, treatment_samples=[v for v in s.var_names if "final" in v],
    ...                                 control_samples=[v for v in s.var_names if "initial" in v])
    >>> ax = pk.pl.isogenic_scatter(gi)
    """
    fdr = check_probability(fdr, name="fdr")
    import matplotlib.pyplot as plt

    for col in ("gene", "lfc_reference", "lfc_mutant", "neg_padj", "pos_padj"):
        if col not in table.columns:
            raise KeyError(f"table has no column {col!r}; run pk.tl.isogenic_interaction first")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    neg, pos = table["neg_padj"].to_numpy() < fdr, table["pos_padj"].to_numpy() < fdr
    rest = ~(neg | pos)
    ax.scatter(table["lfc_reference"][rest], table["lfc_mutant"][rest], s=4, c="0.7", rasterized=True, label="no interaction")
    ax.scatter(table["lfc_reference"][neg], table["lfc_mutant"][neg], s=10, c="tab:red",
               label=f"synthetic lethal (FDR < {fdr:g})")
    ax.scatter(table["lfc_reference"][pos], table["lfc_mutant"][pos], s=10, c="tab:blue",
               label=f"suppressed (FDR < {fdr:g})")
    ring = table["gene"].isin(set(highlight)).to_numpy()
    if ring.any():
        ax.scatter(table["lfc_reference"][ring], table["lfc_mutant"][ring], s=40, facecolors="none",
                   edgecolors="k", label="highlighted")
    lo = float(np.nanmin(table[["lfc_reference", "lfc_mutant"]].to_numpy())) - 0.2
    ax.plot([lo, 0.8], [lo, 0.8], "k--", lw=0.5)
    ax.set_xlabel("gene log2 fold change, reference line (scaled)")
    ax.set_ylabel("gene log2 fold change, mutant line (scaled)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    return ax
