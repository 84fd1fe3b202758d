"""ASGARD's multi-cluster drug score (He et al. 2023): reversal of each disease cluster's
differential expression by reference compound signatures, combined across clusters
weighted by cluster proportion and significance; and the naive per-cluster CMap KS
ranking it improves on."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from ..._validate import as_dense, check_adata, check_finite, check_group, check_layer, check_obs
from ...metrics import bh_adjust
from ._connectivity import connectivity

__all__ = ["AsgardResult", "asgard", "cluster_connectivity"]


@dataclass(frozen=True)
class AsgardResult:
    """What :func:`asgard` returns.

    Attributes
    ----------
    drugs
        One row per compound, best first: ``drug``, ``score`` (ASGARD's drug therapeutic
        score, >= 0, larger = reverses more of the disease), ``pvalue`` (Fisher's
        combination of the per-cluster p-values), ``padj`` (BH), ``rank`` (int, 1 = best).
    clusters
        One row per cluster and compound: ``cell_type``, ``drug``, ``proportion`` (share of
        diseased cells in the cluster), ``pvalue`` (one-sided KS of the compound's
        reversal scores against all other signatures), ``padj`` (BH within the cluster),
        ``treated_ratio`` (share of the cluster's DEGs the compound's mean signature moves
        the opposite way), ``contribution`` (``proportion * -log10(padj) * treated_ratio``),
        ``rank_in_cluster`` (int).
    degs
        One row per cluster and gene: ``cell_type``, ``gene``, ``t`` (diseased minus
        healthy cells), ``pvalue``, ``padj``.
    """

    drugs: pd.DataFrame
    clusters: pd.DataFrame
    degs: pd.DataFrame


def _t_test(x: np.ndarray, case: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pooled-variance two-sample t per gene (limma's ordinary t for two groups of cells)."""
    a, b = x[case], x[~case]
    n1, n2 = len(a), len(b)
    diff = a.mean(axis=0) - b.mean(axis=0)
    pooled = ((n1 - 1) * a.var(axis=0, ddof=1) + (n2 - 1) * b.var(axis=0, ddof=1)) / (n1 + n2 - 2)
    se = np.sqrt(pooled * (1 / n1 + 1 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, diff / se, 0.0)
    p = 2 * stats.t.sf(np.abs(t), n1 + n2 - 2)
    return t, p


def _ceg_sums(t: np.ndarray, drug_ranks: np.ndarray, threshold: float) -> np.ndarray:
    """DrInsight's consistently-expressed-gene score of every signature against one query.

    The query genes are ranked from most down to most up in disease, each signature's
    from most up to most down by the compound, so a reversed gene has two small or two
    large ranks. ``p_max = (max rank / n)^2`` (both at the top) and ``p_min = (1 - (min
    rank - 1) / n)^2`` (both at the bottom) are the order-statistic tails of two uniform
    ranks; a gene's z is that of the smaller, and a signature's score is the sum of z over
    genes with p <= ``threshold``.
    """
    n = len(t)
    q = stats.rankdata(t, method="ordinal")[:, None]
    lo, hi = np.minimum(drug_ranks, q), np.maximum(drug_ranks, q)
    p = np.minimum((1.0 - (lo - 1.0) / n) ** 2, (hi / n) ** 2)
    z = stats.norm.isf(p)
    return np.where(p <= threshold, z, 0.0).sum(axis=0)


def _drug_labels(signatures: pd.DataFrame, drug_labels: Sequence[str] | None) -> np.ndarray:
    if drug_labels is None:
        return np.array([str(i).split("|")[0] for i in signatures.index])
    labels = np.asarray(list(drug_labels), dtype=object).astype(str)
    if len(labels) != len(signatures):
        raise ValueError(f"drug_labels has {len(labels)} entries for {len(signatures)} signatures")
    return labels


def _fisher(p: pd.Series) -> float:
    """Fisher's combination of one compound's per-cluster p-values (0 counts as the smallest float)."""
    p = np.clip(p.to_numpy(dtype=float), np.finfo(float).tiny, 1.0)
    if len(p) == 1:
        return float(p[0])
    return float(stats.chi2.sf(-2 * np.log(p).sum(), 2 * len(p)))


def _clusters(adata: AnnData, groupby: str, control: str, cell_type_key: str, min_cells: int):
    ct = adata.obs[cell_type_key].astype(str).to_numpy()
    case = (adata.obs[groupby].astype(str) != str(control)).to_numpy()
    if not case.any():
        raise ValueError(f"adata.obs[{groupby!r}] has only {control!r} cells; ASGARD needs diseased cells")
    kept, skipped = [], []
    for c in pd.unique(ct):
        n_case, n_ctrl = int((case & (ct == c)).sum()), int((~case & (ct == c)).sum())
        (kept if min(n_case, n_ctrl) >= min_cells else skipped).append(c)
        if min(n_case, n_ctrl) < min_cells:
            skipped[-1] = f"{c} ({n_case} diseased, {n_ctrl} healthy)"
    if skipped:
        warnings.warn(f"clusters with fewer than {min_cells} diseased or healthy cells are left out: {skipped}",
                      stacklevel=3)
    if not kept:
        raise ValueError(f"no cluster of {cell_type_key!r} has {min_cells} diseased and {min_cells} healthy cells")
    return ct, case, kept


def asgard(
    adata: AnnData,
    signatures: pd.DataFrame,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    cell_type_key: str = "cell_type",
    drug_labels: Sequence[str] | None = None,
    layer: str | None = None,
    min_cells: int = 3,
    deg_padj: float = 0.05,
    ceg_threshold: float = 0.05,
) -> AsgardResult:
    """ASGARD's drug score: reversal of every disease cluster, combined across clusters.

    As ASGARD's ``GetDrug`` and ``DrugScore`` compute it {cite}`he2023`: (1) per cluster
    (``cell_type_key``), a t-statistic per gene, diseased (every label of ``groupby`` but
    ``control``) against healthy cells; (2) per reference signature, DrInsight's sum of z
    over the genes that it and the cluster rank consistently in opposite directions
    (reversed genes); (3) per compound, a one-sided KS test of its signatures' sums against
    all other signatures (small = the compound reverses this cluster more than the rest of
    the reference), BH-adjusted within the cluster; (4) the drug score
    :math:`\\sum_c p_c \\cdot (-\\log_{10} \\mathrm{FDR}_{c}) \\cdot r_c`, with :math:`p_c`
    the cluster's share of diseased cells and :math:`r_c` the share of its DEGs (BH
    ``padj < deg_padj``) whose sign the compound's mean signature reverses; the
    per-cluster p-values are combined by Fisher's method (one that underflowed to 0 enters
    as the smallest float, with a warning, rather than being dropped). A compound that reverses the
    large clusters outranks one that reverses a tiny one perfectly.

    Parameters
    ----------
    adata
        Cells x genes, log-normalised expression; ``obs[groupby]`` healthy/diseased,
        ``obs[cell_type_key]`` the clusters.
    signatures
        Reference compound signatures, signatures x genes (e.g. L1000 z-scores from
        :func:`compound_signatures` with ``split_by="dose"``); several signatures per
        compound (doses, cell lines) are the KS test's sample.
    groupby, control, cell_type_key
        Disease column, its healthy label, the cluster column.
    drug_labels
        Compound of each signature row (default: the index up to the first ``"|"``).
    layer
        Expression layer (``None``: ``X``).
    min_cells
        Fewest diseased and healthy cells for a cluster to be scored (ASGARD: more than 3).
    deg_padj
        BH threshold for a cluster's DEGs in the treated ratio.
    ceg_threshold
        Gene-level p-value threshold of DrInsight's reversed genes.

    Returns
    -------
    AsgardResult
        ``drugs``, ``clusters`` and ``degs`` tables (see :class:`AsgardResult`).

    Raises
    ------
    ValueError
        No diseased cells, no scorable cluster, fewer than 10 genes shared with the
        signatures, a compound with every signature or non-finite values.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_cluster_reversal(seed=0)
    >>> res = pk.tl.asgard(sim, sim.uns["signatures"])
    >>> res.drugs["drug"].iloc[0]
    'broad_reverser'
    """
    check_adata(adata)
    check_obs(adata, groupby, cell_type_key)
    check_group(adata, groupby, control, role="control")
    if not isinstance(signatures, pd.DataFrame) or signatures.empty:
        raise TypeError("signatures must be a non-empty DataFrame (signatures x genes)")
    for name, v in (("deg_padj", deg_padj), ("ceg_threshold", ceg_threshold)):
        if not 0 < v < 1:
            raise ValueError(f"{name} must be in (0, 1), got {v}")
    labels = _drug_labels(signatures, drug_labels)
    if len(set(labels)) < 2:
        raise ValueError("signatures hold a single compound; the KS test compares each compound with the others")
    shared = [g for g in adata.var_names if g in set(signatures.columns)]
    if len(shared) < 10:
        raise ValueError(f"only {len(shared)} genes are shared by adata and signatures; need >= 10")
    sig = check_finite(signatures[shared].to_numpy(dtype=float), name="signatures")
    x = as_dense(check_layer(adata, layer, finite=True)[:, adata.var_names.get_indexer(shared)])
    ct, case, kept = _clusters(adata, groupby, control, cell_type_key, min_cells)
    # rank 1 = most up in the compound, as CMap's rank matrices (re-ranked over shared genes)
    drug_ranks = np.column_stack([stats.rankdata(-row) for row in sig])
    drugs = pd.unique(labels)
    members = {d: labels == d for d in drugs}
    mean_response = pd.DataFrame(sig, columns=shared).groupby(labels, sort=False).mean()
    n_case = int(case.sum())
    degs, rows = [], []
    for c in kept:
        in_c = ct == c
        t, p = _t_test(x[in_c], case[in_c])
        padj = bh_adjust(p)
        degs.append(pd.DataFrame({"cell_type": c, "gene": shared, "t": t, "pvalue": p, "padj": padj}))
        ceg = _ceg_sums(t, drug_ranks, ceg_threshold)
        pvals = np.array([stats.ks_2samp(ceg[members[d]], ceg[~members[d]], alternative="less").pvalue
                          for d in drugs])
        # ASGARD rounds the cluster percentage to two decimals
        prop = round(100 * int((case & in_c).sum()) / n_case, 2) / 100
        sig_deg = padj < deg_padj
        if sig_deg.any():
            reversed_ = (-t[sig_deg][None, :] * mean_response.loc[drugs].to_numpy()[:, sig_deg]) > 0
            ratio = reversed_.mean(axis=1)
        else:
            ratio = np.zeros(len(drugs))
        cl_padj = bh_adjust(pvals)
        rows.append(pd.DataFrame({"cell_type": c, "drug": drugs, "proportion": prop, "pvalue": pvals,
                                  "padj": cl_padj, "treated_ratio": ratio,
                                  "contribution": prop * -np.log10(cl_padj) * ratio + 0.0}))
    clusters = pd.concat(rows, ignore_index=True)
    clusters["rank_in_cluster"] = (clusters.groupby("cell_type", sort=False)["pvalue"]
                                   .rank(method="first").astype(np.int64))
    score = clusters.groupby("drug", sort=False)["contribution"].sum()
    underflow = clusters.loc[clusters["pvalue"] <= 0, ["cell_type", "drug"]]
    if len(underflow):
        # a KS p-value of 0 is an underflow, the strongest evidence there is: dropping it from
        # Fisher's sum (as an "invalid" p-value) would let the other clusters decide alone
        warnings.warn(f"{len(underflow)} per-cluster p-value(s) underflowed to 0 and enter Fisher's combination "
                      f"as {np.finfo(float).tiny:.1e}: {underflow.head(5).to_dict('records')}", stacklevel=2)
    pvalue = clusters.groupby("drug", sort=False)["pvalue"].agg(_fisher)
    out = pd.DataFrame({"drug": score.index, "score": score.to_numpy(), "pvalue": pvalue.loc[score.index].to_numpy()})
    out["padj"] = bh_adjust(out["pvalue"].to_numpy())
    out = out.sort_values(["score", "pvalue"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    return AsgardResult(drugs=out, clusters=clusters, degs=pd.concat(degs, ignore_index=True))


def cluster_connectivity(
    adata: AnnData,
    signatures: pd.DataFrame,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    cell_type_key: str = "cell_type",
    n_genes: int = 15,
    layer: str | None = None,
    min_cells: int = 3,
) -> pd.DataFrame:
    """The naive baseline of :func:`asgard`: CMap KS reversal per cluster, nothing combined.

    Per cluster, the ``n_genes`` genes with the largest and smallest mean difference
    (diseased minus healthy cells) are the query of :func:`connectivity` (``method="ks"``)
    against every signature; each cluster gets its own ranking, and nothing weighs a
    cluster of 20 cells against one of 2,000.

    Parameters
    ----------
    adata, signatures, groupby, control, cell_type_key, layer, min_cells
        As in :func:`asgard`.
    n_genes
        Query genes per direction.

    Returns
    -------
    pandas.DataFrame
        One row per cluster and signature: ``cell_type``, ``compound`` (the signature's
        index label), ``drug`` (up to the first ``"|"``), ``score`` (scaled KS, negative =
        reverses), ``rank`` (int, 1 = strongest reversal in the cluster).

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_cluster_reversal(seed=0)
    >>> naive = pk.tl.cluster_connectivity(sim, sim.uns["signatures"])
    >>> naive[naive["rank"] == 1].set_index("cell_type")["drug"].to_dict()["cluster_2"]
    'niche_reverser'
    """
    check_adata(adata)
    check_obs(adata, groupby, cell_type_key)
    check_group(adata, groupby, control, role="control")
    if not isinstance(signatures, pd.DataFrame) or signatures.empty:
        raise TypeError("signatures must be a non-empty DataFrame (signatures x genes)")
    if n_genes < 2:
        raise ValueError(f"n_genes must be >= 2, got {n_genes}")
    shared = [g for g in adata.var_names if g in set(signatures.columns)]
    if len(shared) < 2 * n_genes:
        raise ValueError(f"only {len(shared)} genes are shared by adata and signatures; need >= {2 * n_genes}")
    x = as_dense(check_layer(adata, layer, finite=True)[:, adata.var_names.get_indexer(shared)])
    ct, case, kept = _clusters(adata, groupby, control, cell_type_key, min_cells)
    frames = []
    for c in kept:
        in_c = ct == c
        diff = pd.Series(x[in_c & case].mean(axis=0) - x[in_c & ~case].mean(axis=0), index=shared)
        res = connectivity(signatures[shared], up=diff.nlargest(n_genes).index, down=diff.nsmallest(n_genes).index,
                           method="ks", n_perm=0)
        res.insert(0, "cell_type", c)
        res.insert(2, "drug", res["compound"].str.split("|").str[0])
        frames.append(res.drop(columns="p_reverse"))
    return pd.concat(frames, ignore_index=True)
