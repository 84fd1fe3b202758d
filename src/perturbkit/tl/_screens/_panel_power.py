"""TAP-seq's trade: a targeted gene panel spends the same reads on fewer genes. What does that buy?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse, stats

from ..._validate import check_adata, check_counts, check_group, check_obs
from ...metrics import bh_adjust

__all__ = ["panel_power"]


def _welch_padj(y: np.ndarray, is_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = y[is_group], y[~is_group]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = stats.ttest_ind(a, b, equal_var=False, axis=0).pvalue
    p = np.where(np.isfinite(p), p, 1.0)
    return bh_adjust(p), a.mean(0) - b.mean(0)


def _lognorm(counts: np.ndarray) -> np.ndarray:
    return np.log1p(counts / np.maximum(counts.sum(1, keepdims=True), 1.0) * 1e4)


def panel_power(
    adata: AnnData,
    panel: Sequence[str],
    *,
    group: str,
    groupby: str = "perturbation",
    control: str = "control",
    reads_per_cell: Sequence[float] = (250, 500, 1000),
    n_cells: int = 200,
    layer: str | None = "counts",
    truth_padj: float = 0.01,
    truth_lfc: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """Detection power of a targeted panel against the whole transcriptome at equal sequencing.

    TAP-seq amplifies only a panel of genes, so the reads a cell gets all land on them
    {cite}`schraivogel2020`. Starting from whole-transcriptome UMI counts:

    1. *Truth*: panel genes that differ between ``group`` and ``control`` on all cells at full
       depth (Welch t on log-normalised expression, BH ``padj < truth_padj``, ``|log1p
       difference| >= truth_lfc``).
    2. ``n_cells`` cells of each condition are drawn (seeded).
    3. *Transcriptome* at a budget of ``B`` reads per cell: each cell's counts are thinned
       binomially to about ``B`` over all genes; the panel genes keep their share.
    4. *Panel* at the same budget: only the panel genes are kept and thinned to about ``B``
       over them (never above the cell's measured counts, so a small budget is needed for the
       panel to concentrate reads; capped cells keep every panel read).
    5. Both readouts are log-normalised over the genes they measure and tested as in step 1
       (``padj < 0.05``); power is the share of truly changed panel genes found.

    Run first: nothing; raw counts in ``layers[layer]`` and conditions in ``obs[groupby]``.

    Parameters
    ----------
    adata
        Whole-transcriptome UMI counts.
    panel
        Genes of the targeted panel (``var_names``).
    group, groupby, control
        The condition compared with the control, and the label column.
    reads_per_cell
        Sequencing budgets ``B`` (UMIs per cell).
    n_cells
        Cells per condition in each readout (fewer if fewer exist).
    layer
        Raw counts (``None``: ``X``).
    truth_padj, truth_lfc
        What counts as a true change at full depth.
    seed
        Seed of the cell draw and the thinning.

    Returns
    -------
    DataFrame
        One row per (readout, budget): ``readout`` (``"transcriptome"``/``"panel"``),
        ``reads_per_cell``, ``panel_reads_per_cell`` (mean UMIs on panel genes), ``n_cells``,
        ``n_true`` (truly changed panel genes), ``detected`` (of those, found with the right
        sign), ``power`` (``detected / n_true``), ``n_unchanged`` (panel genes with full-depth
        ``padj >= 0.05``) and ``false_positives`` (of those, called). ``adata`` is not modified.

    Raises
    ------
    KeyError
        ``obs[groupby]`` or ``layers[layer]`` missing.
    ValueError
        Panel genes not in ``var_names``; ``group`` or ``control`` without cells; a budget not
        positive; negative or non-finite counts.

    References
    ----------
    Schraivogel et al. 2020 :cite:`schraivogel2020`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_screen(n_cells=1200, n_genes=200, n_targets=2, seed=0)
    >>> pk.tl.assign_guides(sim, method="mixture")
    >>> res = pk.tl.panel_power(sim, list(sim.var_names[:40]), group="T0", reads_per_cell=[300], n_cells=100)
    >>> sorted(res["readout"])
    ['panel', 'transcriptome']
    """
    check_adata(adata)
    check_obs(adata, groupby)
    check_group(adata, groupby, control, role="control label")
    check_group(adata, groupby, group, role="group")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    missing = [g for g in panel if g not in adata.var_names]
    if missing:
        raise ValueError(f"panel genes not in adata.var_names: {missing[:10]}")
    if any(b <= 0 for b in reads_per_cell):
        raise ValueError(f"reads_per_cell must be positive, got {list(reads_per_cell)}")
    raw = adata.layers[layer] if layer is not None else adata.X
    check_counts(raw, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    labels = adata.obs[groupby].astype(str).to_numpy()
    keep = np.flatnonzero(np.isin(labels, [str(group), str(control)]))
    counts = raw[keep]
    counts = np.asarray(counts.toarray() if sparse.issparse(counts) else counts, dtype=float)
    is_group = labels[keep] == str(group)
    pidx = adata.var_names.get_indexer(list(panel))
    padj, diff = _welch_padj(_lognorm(counts)[:, pidx], is_group)
    true = (padj < truth_padj) & (np.abs(diff) >= truth_lfc)
    unchanged = padj >= 0.05  # not even a small change on all cells at full depth
    rng = np.random.default_rng(seed)
    cells = np.r_[rng.permutation(np.flatnonzero(is_group))[:n_cells], rng.permutation(np.flatnonzero(~is_group))[:n_cells]]
    sub, sub_group = counts[cells], is_group[cells]
    rows = []
    for budget in reads_per_cell:
        for readout in ("transcriptome", "panel"):
            x = sub if readout == "transcriptome" else sub[:, pidx]
            rate = np.minimum(1.0, budget / np.maximum(x.sum(1, keepdims=True), 1.0))
            thinned = rng.binomial(x.astype(np.int64), np.broadcast_to(rate, x.shape)).astype(float)
            y = _lognorm(thinned)
            y_panel = y[:, pidx] if readout == "transcriptome" else y
            p, d = _welch_padj(y_panel, sub_group)
            hit = p < 0.05
            rows.append({"readout": readout, "reads_per_cell": float(budget),
                         "panel_reads_per_cell": float((thinned[:, pidx] if readout == "transcriptome" else thinned)
                                                       .sum(1).mean()),
                         "n_cells": int(len(cells)), "n_true": int(true.sum()),
                         "detected": int((hit & true & (np.sign(d) == np.sign(diff))).sum()),
                         "n_unchanged": int(unchanged.sum()), "false_positives": int((hit & unchanged).sum())})
    out = pd.DataFrame(rows)
    out["power"] = out["detected"] / out["n_true"].where(out["n_true"] > 0)
    return out
