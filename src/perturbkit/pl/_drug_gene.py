"""Volcano plot of drug-gene associations: the twin of :func:`perturbkit.tl.drug_gene_anova`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._validate import check_probability
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@fill_doc
def drug_gene_volcano(
    table: pd.DataFrame,
    *,
    highlight: dict[tuple[object, str], str] | None = None,
    fdr: float = 0.05,
    ax: Axes | None = None,
    title: str = "Drug-gene associations",
) -> Axes:
    """Effect (difference of mean ln IC50, feature present - absent) against -log10 p.

    Parameters
    ----------
    table
        Output of :func:`perturbkit.tl.drug_gene_anova`.
    highlight
        ``{(drug, feature): label}`` pairs to mark and label.
    fdr
        Pairs below this FDR are coloured.
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_drug_response(seed=0)
    >>> ax = pk.pl.drug_gene_volcano(pk.tl.drug_gene_anova(sim["ic50"], sim["features"]))
    """
    fdr = check_probability(fdr, name="fdr")
    import matplotlib.pyplot as plt

    for col in ("drug", "feature", "delta", "pvalue", "padj"):
        if col not in table.columns:
            raise KeyError(f"table has no column {col!r}; run pk.tl.drug_gene_anova first")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    y = -np.log10(np.maximum(table["pvalue"].to_numpy(), 1e-300))
    sig = table["padj"].to_numpy() < fdr
    ax.scatter(table["delta"][~sig], y[~sig], s=3, c="0.7", rasterized=True, label=f"FDR >= {fdr}")
    colours = np.where(table["delta"][sig] < 0, "tab:blue", "tab:orange")
    ax.scatter(table["delta"][sig], y[sig], s=6, c=colours, rasterized=True,
               label=f"FDR < {fdr} (blue: sensitising, orange: resistance)")
    for (drug, feature), label in (highlight or {}).items():
        hit = table[(table["drug"] == drug) & (table["feature"] == feature)]
        if hit.empty:
            continue
        yy = -np.log10(max(float(hit["pvalue"].iloc[0]), 1e-300))
        ax.scatter(hit["delta"], [yy], s=40, facecolors="none", edgecolors="k")
        ax.annotate(label, (float(hit["delta"].iloc[0]), yy), fontsize=8, xytext=(5, 2), textcoords="offset points")
    ax.axvline(0, c="k", lw=0.5)
    ax.set_xlabel("difference in mean ln IC50 (uM), feature present - absent")
    ax.set_ylabel("-log10 p (ANOVA F test)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, loc="upper right")
    return ax
