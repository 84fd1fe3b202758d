"""Did the guide hit its target? Per-gene tests of perturbed vs control cells, naive and calibrated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse, stats

from ..._validate import check_adata, check_counts, check_group, check_obs

__all__ = ["knockdown", "perturbation_test"]


def _normalised(adata: AnnData, layer: str | None) -> np.ndarray:
    """Counts per 10,000 (size factor = total counts of the cell), dense float64."""
    x = adata.layers[layer] if layer is not None else adata.X
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    check_counts(x, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    x = x.toarray() if sparse.issparse(x) else np.asarray(x)
    x = np.asarray(x, dtype=float)
    total = x.sum(axis=1, keepdims=True)
    return x / np.maximum(total, 1.0) * 1e4


def _welch(s1, q1, n1, s0, q0, n0):
    """Welch t from sums and sums of squares (arrays broadcast over genes / permutations)."""
    m1, m0 = s1 / n1, s0 / n0
    v1 = np.maximum(q1 / n1 - m1**2, 0) * n1 / max(n1 - 1, 1)
    v0 = np.maximum(q0 / n0 - m0**2, 0) * n0 / max(n0 - 1, 1)
    se = np.sqrt(v1 / n1 + v0 / n0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, (m1 - m0) / se, 0.0)
        dof = np.where(se > 0, (v1 / n1 + v0 / n0) ** 2 / ((v1 / n1) ** 2 / max(n1 - 1, 1) + (v0 / n0) ** 2 / max(n0 - 1, 1)), 1.0)
    return t, dof


def _permute_within(strata: np.ndarray, is_group: np.ndarray, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """``n_perm`` x cells 0/1 matrix: group labels shuffled within each stratum."""
    out = np.zeros((n_perm, is_group.size), dtype=np.float64)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        k = int(is_group[idx].sum())
        if k == 0:
            continue
        keys = rng.random((n_perm, idx.size))
        chosen = np.argpartition(keys, k - 1, axis=1)[:, :k] if k < idx.size else np.tile(np.arange(idx.size), (n_perm, 1))
        rows = np.repeat(np.arange(n_perm), chosen.shape[1])
        out[rows, idx[chosen.ravel()]] = 1.0
    return out


def perturbation_test(
    adata: AnnData,
    *,
    group: str,
    groupby: str = "perturbation",
    reference: str = "control",
    genes: Sequence[str] | None = None,
    layer: str | None = "counts",
    strata: str | None = "replicate",
    n_permutations: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Test each gene for a shift between the cells of one group and reference cells.

    Expression is normalised to counts per 10,000 and log1p-transformed; the statistic
    is Welch's t. Two p-values: the naive one from the t distribution (cells assumed
    independent and the statistic assumed t-distributed), and, with
    ``n_permutations > 0``, a calibrated one from shuffling the group labels among the
    pooled cells *within each level of* ``strata`` (so a replicate that contributes more
    perturbed cells cannot create an effect), ``(1 + #{|t_perm| >= |t|}) / (1 + B)``.

    Parameters
    ----------
    adata
        Cells x genes with raw counts in ``layers[layer]`` (``X`` if ``layer=None``).
    group, groupby, reference
        Cells with ``obs[groupby] == group`` are compared with ``obs[groupby] == reference``.
    genes
        Genes to test (default all).
    strata
        ``obs`` column within which labels are permuted (``None``: one stratum).
    n_permutations
        Number of label permutations (0: naive test only).
    seed
        Seed of the permutations.

    Returns
    -------
    DataFrame
        One row per gene: ``gene``, ``group``, ``reference``, ``n_group``,
        ``n_reference``, ``mean_group``, ``mean_reference`` (mean counts per 10k),
        ``log2fc`` (log2 ratio of those means, pseudo-count 0.01), ``t`` (Welch t on
        log1p values, positive = higher in the group), ``pvalue_ttest`` and, with
        permutations, ``pvalue_permutation``. ``adata`` is not modified.

    Raises
    ------
    KeyError
        ``groupby``, ``strata`` or ``layer`` missing.
    ValueError
        ``group`` or ``reference`` absent from ``obs[groupby]``; an unknown gene.

    References
    ----------
    Barry et al. 2024 (calibration of single-cell CRISPR screen tests) :cite:`barry2024`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=400, n_genes=20, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> res = pk.tl.perturbation_test(adata, group="T0", genes=["T0"], n_permutations=99)
    >>> bool(res.loc[0, "log2fc"] < 0)
    True
    """
    check_adata(adata)
    check_group(adata, groupby, reference, role="reference (control) label")
    check_group(adata, groupby, group, role="group")
    if strata is not None:
        check_obs(adata, strata)
    labels = adata.obs[groupby].astype(str).to_numpy()
    keep = (labels == str(group)) | (labels == str(reference))
    sub = adata[keep]
    if genes is not None:
        genes = [str(g) for g in genes]
        unknown = [g for g in genes if g not in adata.var_names]
        if unknown:
            raise ValueError(f"genes not in adata.var_names: {unknown[:10]}")
    norm = _normalised(sub, layer)
    gene_idx = np.arange(adata.n_vars) if genes is None else adata.var_names.get_indexer(genes)
    norm = norm[:, gene_idx]
    y = np.log1p(norm)
    is_group = labels[keep] == str(group)
    n1, n0 = int(is_group.sum()), int((~is_group).sum())
    if n1 < 2 or n0 < 2:
        raise ValueError(f"need at least 2 cells in group {group!r} ({n1}) and reference {reference!r} ({n0})")
    ysq = y**2
    s_all, q_all = y.sum(0), ysq.sum(0)
    s1, q1 = y[is_group].sum(0), ysq[is_group].sum(0)
    t, dof = _welch(s1, q1, n1, s_all - s1, q_all - q1, n0)
    p_t = 2 * stats.t.sf(np.abs(t), dof)
    m1, m0 = norm[is_group].mean(0), norm[~is_group].mean(0)
    out = pd.DataFrame(
        {
            "gene": np.asarray(adata.var_names[gene_idx]),
            "group": str(group),
            "reference": str(reference),
            "n_group": n1,
            "n_reference": n0,
            "mean_group": m1,
            "mean_reference": m0,
            "log2fc": np.log2((m1 + 0.01) / (m0 + 0.01)),
            "t": t,
            "pvalue_ttest": p_t,
        }
    )
    if n_permutations > 0:
        rng = np.random.default_rng(seed)
        st = sub.obs[strata].astype(str).to_numpy() if strata is not None else np.zeros(sub.n_obs, dtype=int)
        exceed = np.zeros(y.shape[1])
        batch = 200
        for start in range(0, n_permutations, batch):
            b = min(batch, n_permutations - start)
            ind = _permute_within(st, is_group, b, rng)
            ps1, pq1 = ind @ y, ind @ ysq
            pt, _ = _welch(ps1, pq1, n1, s_all - ps1, q_all - pq1, n0)
            exceed += (np.abs(pt) >= np.abs(t)[None, :] - 1e-12).sum(0)
        out["pvalue_permutation"] = (1 + exceed) / (1 + n_permutations)
    return out


def knockdown(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    targets: Sequence[str] | None = None,
    target_genes: Mapping[str, str] | None = None,
    layer: str | None = "counts",
    strata: str | None = "replicate",
    n_permutations: int = 999,
    seed: int = 0,
) -> pd.DataFrame:
    """Knockdown of each target's own mRNA in its cells against control cells.

    For every target whose gene is measured, the target's cells are compared with the
    control cells on that one gene (:func:`perturbation_test`). CRISPR knockouts often
    lower their own mRNA through nonsense-mediated decay, so this is a first check that
    the guides worked, and a weak one: an edit can destroy the protein and leave the
    mRNA intact.

    Run first: :func:`perturbkit.tl.assign_guides` (or any ``obs[groupby]`` labelling).

    Parameters
    ----------
    adata
        Cells x genes with raw counts.
    groupby, control
        Column with perturbation labels and its control label.
    targets
        Targets to test (default: every label of ``obs[groupby]`` that is a gene in
        ``var_names`` after ``target_genes`` mapping).
    target_genes
        Map target label -> gene symbol when they differ (e.g. ``{"PDL1": "CD274"}``).
    layer, strata, n_permutations, seed
        As in :func:`perturbation_test`.

    Returns
    -------
    DataFrame
        One row per target: ``target``, ``gene``, ``n_cells``, ``n_control``,
        ``mean_target``, ``mean_control`` (counts per 10k), ``remaining`` (ratio of the
        means: 0.3 = 70 % knockdown), ``log2fc``, ``t``, ``pvalue_ttest``,
        ``pvalue_permutation`` (with permutations), sorted by ``remaining``.
        ``adata`` is not modified.

    Raises
    ------
    ValueError
        No control cells; a requested target has no cells or its gene is not measured;
        no target gene is measured at all.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=600, n_genes=30, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> kd = pk.tl.knockdown(adata, n_permutations=99)
    >>> bool((kd["remaining"] < 1).all())
    True
    """
    check_adata(adata)
    check_group(adata, groupby, control, role="control label")
    target_genes = dict(target_genes or {})
    labels = adata.obs[groupby].astype(str)
    present = set(labels)
    if targets is None:
        targets = [t for t in sorted(present) if t != control and target_genes.get(t, t) in adata.var_names]
        if not targets:
            raise ValueError(f"no label of adata.obs[{groupby!r}] is a measured gene; pass target_genes")
    rows = []
    for i, t in enumerate(targets):
        gene = target_genes.get(t, t)
        if t not in present or (labels == t).sum() == 0:
            raise ValueError(f"target {t!r} has no cells in adata.obs[{groupby!r}]")
        if gene not in adata.var_names:
            raise ValueError(f"gene {gene!r} of target {t!r} is not in adata.var_names")
        res = perturbation_test(
            adata, group=t, groupby=groupby, reference=control, genes=[gene], layer=layer,
            strata=strata, n_permutations=n_permutations, seed=seed + i,
        ).iloc[0]
        row = {
            "target": t,
            "gene": gene,
            "n_cells": int(res["n_group"]),
            "n_control": int(res["n_reference"]),
            "mean_target": float(res["mean_group"]),
            "mean_control": float(res["mean_reference"]),
            "remaining": float(res["mean_group"] / res["mean_reference"]) if res["mean_reference"] > 0 else np.nan,
            "log2fc": float(res["log2fc"]),
            "t": float(res["t"]),
            "pvalue_ttest": float(res["pvalue_ttest"]),
        }
        if n_permutations > 0:
            row["pvalue_permutation"] = float(res["pvalue_permutation"])
        rows.append(row)
    return pd.DataFrame(rows).sort_values("remaining").reset_index(drop=True)
