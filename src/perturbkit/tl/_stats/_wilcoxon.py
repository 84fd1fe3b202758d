"""Naive per-cell differential expression: a Wilcoxon rank-sum test on each gene."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from ..._validate import as_dense, check_counts
from ...metrics import bh_adjust
from ._contrasts import contrasts

__all__ = ["wilcoxon_de"]


def wilcoxon_de(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    split_by: str | None = "cell_type",
    layer: str | None = "counts",
    target_sum: float = 1e4,
    perturbations: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per-cell Wilcoxon rank-sum test of perturbed vs control cells, gene by gene.

    Treats every cell as an independent replicate, which is what makes it anti-conservative
    when samples (donors) differ: shown next to :func:`pseudobulk_de` for that reason.

    Parameters
    ----------
    adata
        Cells with raw counts in ``layers[layer]`` (``None``: ``X``).
    groupby, control, split_by, perturbations
        As in :func:`pseudobulk_de`.
    layer
        Raw counts, normalised here to ``log1p(counts / total * target_sum)``.
    target_sum
        Counts per cell after normalisation.

    Returns
    -------
    DataFrame
        One row per (split, perturbation, gene): ``gene``, ``log2fc`` (log2 ratio of mean
        normalised expression, pseudocount 0.1 / 10^4 counts), ``stat`` (U statistic of the
        perturbed cells), ``pvalue`` (two-sided, normal approximation with tie correction),
        ``padj`` (BH within the split), ``n_cells``. ``adata`` is not modified.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cell_types=1, response=[1.0], seed=0)
    >>> de = pk.tl.wilcoxon_de(adata, split_by=None)
    >>> set(de.head(10)["gene"]) <= set(adata.uns["truth"]["de_genes"]["type0"])
    True
    """
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r} (raw counts); available: {list(adata.layers)}")
    x = as_dense(adata.X if layer is None else adata.layers[layer])
    check_counts(x, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    lib = x.sum(1, keepdims=True)
    lib[lib == 0] = 1.0
    norm = x / lib * target_sum
    logx = np.log1p(norm)
    rows = []
    for c in contrasts(adata, groupby=groupby, control=control, split_by=split_by, perturbations=perturbations):
        a, b = logx[c.perturbed_idx], logx[c.control_idx]
        u, p = stats.mannwhitneyu(a, b, alternative="two-sided", axis=0, method="asymptotic")
        p = np.where(np.isnan(p), 1.0, p)  # constant gene in both groups: no evidence
        lfc = np.log2((norm[c.perturbed_idx].mean(0) + 0.1) / (norm[c.control_idx].mean(0) + 0.1))
        res = pd.DataFrame({"gene": adata.var_names, "log2fc": lfc, "stat": u, "pvalue": p})
        res["padj"] = bh_adjust(p)
        res["n_cells"] = len(a) + len(b)
        res = res.sort_values("pvalue", kind="stable")
        res.insert(0, "perturbation", c.perturbation)
        if split_by:
            res.insert(0, split_by, c.split)
        rows.append(res)
    return pd.concat(rows, ignore_index=True)
