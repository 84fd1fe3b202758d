"""Pseudobulk differential expression per cell type with pydeseq2 (DESeq2's model)."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import check_obs
from ...get._pseudobulk import pseudobulk
from ._contrasts import contrasts

__all__ = ["pseudobulk_de"]

_COLUMNS = ["gene", "base_mean", "log2fc", "lfc_se", "stat", "pvalue", "padj", "n_samples"]


def pseudobulk_de(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    split_by: str | None = "cell_type",
    sample_key: str = "sample",
    covariates: Sequence[str] = ("donor",),
    layer: str | None = "counts",
    min_cells: int = 10,
    min_counts: int = 10,
    perturbations: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Differential expression of perturbed vs control samples, per cell type, on pseudobulk.

    Counts are summed per sample and cell type (:func:`perturbkit.get.pseudobulk`), so the
    unit of replication is the sample, not the cell. Each cell type gets its own DESeq2
    model (pydeseq2) with design ``~ covariates + condition``; with ``covariates=("donor",)``
    and a paired design, each donor is its own control.

    Parameters
    ----------
    adata
        Cells with raw counts in ``layers[layer]`` and the ``obs`` columns named below.
    groupby, control
        Perturbation column and its control label.
    split_by
        One model per group of this column (``None``: all cells together).
    sample_key
        Column naming the biological sample (each sample must have a single ``groupby``
        value).
    covariates
        Sample-level columns added to the design (blocking factors).
    layer
        Raw counts (``None``: ``X``).
    min_cells
        Pseudobulk samples from fewer cells are dropped.
    min_counts
        Genes with fewer total counts in a cell type are not tested.
    perturbations
        Labels to test (default: all but ``control``).

    Returns
    -------
    DataFrame
        Tidy, one row per (``split_by`` group, perturbation, gene): ``gene``, ``base_mean``,
        ``log2fc`` (log2 perturbed / control, so positive = up under the perturbation),
        ``lfc_se``, ``stat`` (Wald), ``pvalue``, ``padj`` (BH within the cell type, NaN for
        genes DESeq2 filters out), ``n_samples``; sorted by cell type then p-value.
        ``adata`` is not modified.

    Raises
    ------
    KeyError
        A column is missing. ``ValueError``: no control, NaN labels, a cell type lacking
        control or perturbed samples, non-integer counts, or too few samples for the design.

    References
    ----------
    Squair JW et al. (2021) Confronting false discoveries in single-cell differential
    expression. Nat Commun 12:5692. Love MI, Huber W, Anders S (2014) DESeq2. Genome Biol.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cell_types=2, n_donors=3, seed=0)
    >>> de = pk.tl.pseudobulk_de(adata, split_by="cell_type")
    >>> hits = set(de.query("cell_type == 'type0' and padj < 0.05")["gene"])
    >>> len(hits & set(adata.uns["truth"]["de_genes"]["type0"])) >= 8
    True
    """
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference
    from pydeseq2.ds import DeseqStats
    from threadpoolctl import threadpool_limits

    covariates = list(covariates)
    check_obs(adata, sample_key, *covariates)
    # validates groupby/control/split_by and that every split has both conditions
    design_checks = list(
        contrasts(adata, groupby=groupby, control=control, split_by=split_by,
                  perturbations=perturbations, min_cells=1)
    )
    mixed = adata.obs.groupby(sample_key, observed=True)[groupby].nunique()
    if (mixed > 1).any():
        raise ValueError(
            f"samples {list(mixed.index[mixed > 1][:5])} mix several {groupby!r} values; "
            f"{sample_key!r} must name one biological sample of one condition"
        )
    pb = pseudobulk(adata, sample_key=sample_key, cell_type_key=split_by, layer=layer, min_cells=min_cells)
    inference = DefaultInference(n_cpus=1)
    results = []
    for c in design_checks:
        keep = pb.obs[groupby].isin([control, c.perturbation]).to_numpy()
        if split_by:
            keep &= (pb.obs[split_by] == c.split).to_numpy()
        sub = pb[keep]
        where = f" for {split_by}={c.split!r}" if split_by else ""
        n_ctrl = int((sub.obs[groupby] == control).sum())
        n_pert = int((sub.obs[groupby] == c.perturbation).sum())
        if n_ctrl < 1 or n_pert < 1:
            raise ValueError(
                f"{n_ctrl} control and {n_pert} {c.perturbation!r} pseudobulk samples{where} "
                f"with >= {min_cells} cells; need at least one of each"
            )
        counts = pd.DataFrame(
            np.round(sub.X).astype(int), index=sub.obs_names, columns=sub.var_names
        )
        counts = counts.loc[:, counts.sum(0) >= min_counts]
        meta = pd.DataFrame(index=sub.obs_names)
        for i, cov in enumerate(covariates):
            meta[f"cov{i}"] = ("c_" + sub.obs[cov].astype(str)).to_numpy()
        meta["condition"] = np.where(sub.obs[groupby] == control, "control", "perturbed")
        usable = [f"cov{i}" for i in range(len(covariates)) if meta[f"cov{i}"].nunique() > 1]
        n_params = 1 + 1 + sum(meta[u].nunique() - 1 for u in usable)
        if len(meta) <= n_params:
            raise ValueError(
                f"{len(meta)} pseudobulk samples{where} cannot fit design ~{' + '.join(covariates)} "
                f"+ {groupby} ({n_params} parameters); need more samples or fewer covariates"
            )
        design = "~" + " + ".join([*usable, "condition"])
        # one BLAS thread: pydeseq2 solves thousands of tiny systems, where threading only
        # adds overhead (halves CPU time on 2 cores)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), threadpool_limits(1):
            warnings.simplefilter("ignore")
            dds = DeseqDataSet(counts=counts, metadata=meta, design=design, refit_cooks=True,
                               inference=inference, quiet=True)
            dds.deseq2()
            stats = DeseqStats(dds, contrast=["condition", "perturbed", "control"],
                               inference=inference, quiet=True)
            stats.summary()
        res = stats.results_df.rename(
            columns={"baseMean": "base_mean", "log2FoldChange": "log2fc", "lfcSE": "lfc_se"}
        )
        res = res.rename_axis("gene").reset_index()
        res["n_samples"] = len(meta)
        res = res[_COLUMNS].sort_values("pvalue", na_position="last")
        res.insert(0, "perturbation", c.perturbation)
        if split_by:
            res.insert(0, split_by, c.split)
        results.append(res)
    return pd.concat(results, ignore_index=True)
