"""scDR (Lei et al. 2023): a rank-based drug-response score per cell from drug-response
genes, and sensitive versus resistant cell types."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy.stats import mannwhitneyu, rankdata

from ..._validate import as_dense, check_adata, check_finite, check_obs
from ...metrics import bh_adjust
from ._drug_signature_scoring import _check_signatures

__all__ = ["scdr_cell_types", "scdr_scores"]

SCDR = "scdr"


def scdr_scores(
    adata: AnnData,
    signatures: pd.DataFrame,
    *,
    layer: str | None = None,
    min_genes: int = 3,
    key_added: str = SCDR,
    copy: bool = False,
) -> AnnData | None:
    """scDR's drug-response score (DRS) of every cell for every drug.

    Drug-response genes (DRGs) come from a cell-line screen: genes whose expression
    correlates with sensitivity (``weight`` > 0) or resistance (``weight`` < 0) to the drug
    across cell lines (:func:`drug_response_signatures`). Within each cell, all genes are
    ranked by expression (ties averaged) and the ranks scaled to [0, 1]; the DRS is the
    mean scaled rank of the sensitivity DRGs minus that of the resistance DRGs. It lies in
    [-1, 1], **positive = predicted sensitive**, and depends only on the order of genes
    within the cell: no scaling across cells, so it does not shift when other cells are
    added, and any monotone normalisation of a cell leaves it unchanged.

    Parameters
    ----------
    adata
        Cells x genes, log expression in ``X`` or ``layers[layer]``.
    signatures
        Tidy table ``source`` (drug), ``target`` (gene), ``weight`` (sign: sensitivity > 0,
        resistance < 0).
    layer
        Layer to score instead of ``X``.
    min_genes
        Fewest DRGs present in the data for a drug to be scored.
    key_added
        Key for the results.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``obsm[key_added]`` (DataFrame cells x drugs, float64, DRS in [-1, 1]) and
        ``uns[key_added]`` with ``"n_genes"`` (dict drug -> DRGs used) and ``"params"``;
        returns the copy if ``copy=True``.

    References
    ----------
    Lei et al. (2023) scDR: predicting drug response at single-cell resolution, Genes 14:268.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(seed=0)
    >>> cells = sim["cells"]
    >>> pk.tl.scdr_scores(cells, pk.tl.drug_response_signatures(sim["ic50"], sim["expression"]))
    >>> drs = cells.obsm["scdr"]["drug1"]
    >>> bool(drs[cells.obs["clone"] == "B"].mean() > drs[cells.obs["clone"] == "A"].mean())
    True
    """
    check_adata(adata)
    if min_genes < 1:
        raise ValueError(f"min_genes must be >= 1, got {min_genes}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    net = _check_signatures(signatures)
    x = as_dense(adata.X if layer is None else adata.layers[layer]).astype(float)
    check_finite(x, name="adata.X" if layer is None else f"adata.layers[{layer!r}]")
    genes = pd.Index(adata.var_names.astype(str))
    net["target"] = net["target"].astype(str)
    net = net[net["target"].isin(genes)]
    sizes = net.groupby("source").size()
    keep = sizes.index[sizes >= min_genes]
    if len(keep) == 0:
        raise ValueError(f"no drug has >= {min_genes} DRGs among adata.var_names; check gene names "
                         "(symbols vs ids) or lower min_genes")
    q = (rankdata(x, axis=1) - 1) / max(x.shape[1] - 1, 1)
    out, used = {}, {}
    for drug, grp in net[net["source"].isin(keep)].groupby("source", sort=True):
        up = genes.get_indexer(grp.loc[grp["weight"] > 0, "target"])
        down = genes.get_indexer(grp.loc[grp["weight"] < 0, "target"])
        s = q[:, up].mean(axis=1) if len(up) else np.full(x.shape[0], 0.5)
        out[str(drug)] = s - (q[:, down].mean(axis=1) if len(down) else 0.5)
        used[str(drug)] = int(len(up) + len(down))
    adata = adata.copy() if copy else adata
    adata.obsm[key_added] = pd.DataFrame(out, index=adata.obs_names)
    adata.uns[key_added] = {"n_genes": used, "params": {"layer": layer, "min_genes": min_genes}}
    return adata if copy else None


def scdr_cell_types(
    adata: AnnData,
    *,
    cell_type_key: str = "cell_type",
    key: str = SCDR,
    fdr: float = 0.05,
    min_cells: int = 10,
) -> pd.DataFrame:
    """Sensitive and resistant cell types: each cell type's DRS against all other cells.

    For every drug and cell type, a two-sided Wilcoxon rank-sum test compares the DRS of
    the type's cells with the rest; ``padj`` is Benjamini-Hochberg over all tests. A cell
    type is called ``"sensitive"`` (``"resistant"``) when ``padj < fdr`` and its median DRS
    is above (below) the others'. The call is relative to the other cells of the sample.

    Run :func:`scdr_scores` first.

    Parameters
    ----------
    adata
        AnnData scored by :func:`scdr_scores`.
    cell_type_key
        ``obs`` column of cell types (or clusters).
    key
        The ``key_added`` of :func:`scdr_scores`.
    fdr
        False discovery rate of the calls.
    min_cells
        Cell types with fewer cells are left out (named in a ValueError if none is left).

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per cell type x drug: ``cell_type`` (str), ``drug``, ``n_cells``
        (int), ``median_drs``, ``median_drs_rest``, ``delta`` (difference of medians),
        ``auroc`` (probability that a cell of the type scores above a cell of the rest),
        ``pvalue``, ``padj`` (float) and ``call`` (``"sensitive"``, ``"resistant"`` or
        ``""``). ``adata`` is not modified.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(seed=0)
    >>> cells = sim["cells"]
    >>> pk.tl.scdr_scores(cells, pk.tl.drug_response_signatures(sim["ic50"], sim["expression"]))
    >>> tab = pk.tl.scdr_cell_types(cells, cell_type_key="subpopulation")
    >>> tab.query("cell_type == 'B' and drug == 'drug1'")["call"].item()
    'sensitive'
    """
    check_adata(adata)
    check_obs(adata, cell_type_key)
    if key not in adata.obsm:
        raise KeyError(f"adata.obsm has no {key!r}; run pk.tl.scdr_scores(adata, signatures, key_added={key!r}) first")
    if not 0 < fdr < 1:
        raise ValueError(f"fdr must be in (0, 1), got {fdr}")
    drs = pd.DataFrame(adata.obsm[key])
    types = adata.obs[cell_type_key].astype(str).to_numpy()
    counts = pd.Series(types).value_counts()
    kept = sorted(counts.index[counts >= min_cells])
    if not kept:
        raise ValueError(f"no {cell_type_key!r} group has >= {min_cells} cells (largest: {counts.max()})")
    rows = []
    for ct in kept:
        inside = types == ct
        if inside.all():
            raise ValueError(f"every cell is {ct!r} in {cell_type_key!r}; scDR compares a type with the rest")
        for drug in drs.columns:
            a, b = drs[drug].to_numpy()[inside], drs[drug].to_numpy()[~inside]
            test = mannwhitneyu(a, b, alternative="two-sided")
            rows.append({"cell_type": ct, "drug": str(drug), "n_cells": int(inside.sum()),
                         "median_drs": float(np.median(a)), "median_drs_rest": float(np.median(b)),
                         "auroc": float(test.statistic / (len(a) * len(b))), "pvalue": float(test.pvalue)})
    out = pd.DataFrame(rows)
    out["delta"] = out["median_drs"] - out["median_drs_rest"]
    out["padj"] = bh_adjust(out["pvalue"].to_numpy())
    out["call"] = np.select([(out["padj"] < fdr) & (out["delta"] > 0), (out["padj"] < fdr) & (out["delta"] < 0)],
                            ["sensitive", "resistant"], default="")
    return out[["cell_type", "drug", "n_cells", "median_drs", "median_drs_rest", "delta", "auroc", "pvalue",
                "padj", "call"]]
