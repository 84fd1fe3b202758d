"""Genetic interaction from an isogenic pair of pooled knockout screens: the same library
screened in a parental line and in a mutant line, scored DrugZ-style (Colic et al. 2019)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from ..._validate import as_dense, check_adata, check_counts, check_layer
from ...metrics import bh_adjust

__all__ = ["isogenic_interaction"]


def _line_lfc(norm: np.ndarray, treat: list[int], ctrl: list[int], pseudocount: float) -> np.ndarray:
    """Guide log2 fold changes, final over initial, replicate screens paired by position."""
    if len(treat) == len(ctrl):
        lfc = np.log2((norm[:, treat] + pseudocount) / (norm[:, ctrl] + pseudocount))
        return lfc.mean(axis=1)
    return np.log2((norm[:, treat].mean(axis=1) + pseudocount) / (norm[:, ctrl].mean(axis=1) + pseudocount))


def isogenic_interaction(
    adata: AnnData,
    *,
    treatment_samples: Sequence[str] | str,
    control_samples: Sequence[str] | str,
    split_by: str = "cell_line",
    reference: str = "parental",
    essential_genes: Sequence[str] | None = None,
    gene_key: str = "gene",
    layer: str | None = None,
    window: int = 400,
    pseudocount: float = 0.5,
) -> pd.DataFrame:
    """Genetic interaction of every gene with the mutation that separates two isogenic lines.

    The same knockout library screened in a ``reference`` (parental) line and a mutant
    line: a gene whose loss hurts the mutant line only is a candidate **synthetic-lethal**
    partner of the mutation. Per line, counts are scaled to equal depth and each guide's
    log2 fold change (``treatment_samples`` over ``control_samples``, replicates paired in
    the order given) is averaged over replicates. The two screens are put on one scale:
    centred on their median guide, and, with ``essential_genes`` (a reference set such as
    Hart's core essentials), divided by the median fold change of those genes so that
    essential genes sit at -1 in both lines (a line that divided fewer times has a smaller
    dynamic range; without this step every essential gene looks synthetic lethal in it).
    The guide difference ``mutant - reference`` is turned into a z-score with the standard
    deviation of guides of similar abundance (a sliding window of ``window`` guides sorted
    by initial counts), and a gene's z is the sum of its guides' z over the square root of
    their number, DrugZ's normZ {cite}`colic2019drugz`. One-sided normal p-values, BH.

    Parameters
    ----------
    adata
        sgRNAs x samples of raw counts (``X`` or ``layer``), ``var[split_by]`` naming the line of
        each sample, ``obs[gene_key]`` the target gene (e.g. ``pk.data.simulate_isogenic_screen``).
    treatment_samples, control_samples
        End-point and initial samples of both lines (``var_names``).
    split_by
        ``var`` column with the two cell lines.
    reference
        The parental line's label; the other label is the mutant.
    essential_genes
        Reference essential genes for the scaling (``None``: centring only).
    gene_key
        ``obs`` column of target genes.
    layer
        Count layer (``None``: ``X``).
    window
        Guides in the abundance window of the empirical standard deviation.
    pseudocount
        Added to normalised counts before the log.

    Returns
    -------
    pandas.DataFrame
        One row per gene, most synthetic-lethal first: ``gene``, ``n_sgrna`` (int),
        ``lfc_reference``, ``lfc_mutant`` (mean scaled guide log2 fold changes), ``diff``
        (mutant - reference; < 0: the mutant needs the gene more), ``z`` (normZ),
        ``neg_pvalue``/``neg_padj`` (synthetic lethal), ``pos_pvalue``/``pos_padj``
        (suppression: the mutant needs the gene less), ``rank`` (int, 1 = most negative z).

    Examples
    --------
    >>> import perturbkit as pk
    >>> screen = pk.data.simulate_isogenic_screen(seed=0)
    >>> truth = screen.uns["truth"]
    >>> gi = pk.tl.isogenic_interaction(
    ...     screen, treatment_samples=[v for v in screen.var_names if "final" in v],
    ...     control_samples=[v for v in screen.var_names if "initial" in v],
    ...     essential_genes=truth.index[truth["essential"]])
    >>> hits = set(gi.loc[gi["neg_padj"] < 0.1, "gene"])
    >>> len(hits & set(truth.index[truth["lethal"]])) >= 13
    True
    """
    check_adata(adata)
    if split_by not in adata.var.columns:
        raise KeyError(f"adata.var has no column {split_by!r}; available columns: {list(adata.var.columns)}")
    if gene_key not in adata.obs.columns:
        raise KeyError(f"adata.obs has no column {gene_key!r}; available columns: {list(adata.obs.columns)}")
    lines = pd.unique(adata.var[split_by].astype(str))
    if reference not in set(lines) or len(lines) != 2:
        raise ValueError(f"adata.var[{split_by!r}] must hold {reference!r} and one mutant line; found {list(lines)}")
    mutant = next(v for v in lines if v != reference)
    if window < 20:
        raise ValueError(f"window must be >= 20 guides, got {window}")
    if pseudocount <= 0:
        raise ValueError(f"pseudocount must be > 0, got {pseudocount}")
    counts = as_dense(check_layer(adata, layer)).astype(float)
    check_counts(counts, name="counts" if layer is None else f"adata.layers[{layer!r}]")
    names = {"treatment": [treatment_samples] if isinstance(treatment_samples, str) else list(treatment_samples),
             "control": [control_samples] if isinstance(control_samples, str) else list(control_samples)}
    for role, ns in names.items():
        missing = [n for n in ns if n not in adata.var_names]
        if missing or not ns:
            raise ValueError(f"{role} sample(s) {missing or '(none)'} not in adata.var_names: {list(adata.var_names)}")
    line_of = adata.var[split_by].astype(str)
    idx = {}
    for line in (reference, mutant):
        for role, ns in names.items():
            idx[line, role] = [adata.var_names.get_loc(n) for n in ns if line_of[n] == line]
            if not idx[line, role]:
                raise ValueError(f"no {role} sample of line {line!r} among {ns}")
    totals = counts.sum(axis=0)
    if (totals == 0).any():
        raise ValueError(f"sample(s) with no reads: {list(adata.var_names[totals == 0])}")
    norm = counts / totals * totals.mean()
    genes = adata.obs[gene_key].astype(str).to_numpy()
    ess = None if essential_genes is None else np.isin(genes, [str(g) for g in essential_genes])
    if ess is not None and ess.sum() < 3:
        raise ValueError(f"only {int(ess.sum())} guides target the essential_genes; need >= 3 to scale the screens")
    scaled = {}
    for line in (reference, mutant):
        lfc = _line_lfc(norm, idx[line, "treatment"], idx[line, "control"], pseudocount)
        lfc = lfc - np.median(lfc)
        if ess is not None:
            anchor = np.median(lfc[ess])
            if anchor >= 0:
                raise ValueError(f"essential_genes are not depleted in line {line!r} (median log2 FC {anchor:.2f})")
            lfc = lfc / -anchor
        scaled[line] = lfc
    diff = scaled[mutant] - scaled[reference]
    abundance = np.log2(norm[:, idx[reference, "control"] + idx[mutant, "control"]].mean(axis=1) + 1)
    order = np.argsort(abundance, kind="mergesort")
    w = min(window, len(diff))
    # rolling sd over guides of similar abundance (DrugZ's empirical-Bayes sd)
    sd_sorted = pd.Series(diff[order]).rolling(w, center=True, min_periods=w // 2).std().bfill().ffill().to_numpy()
    sd = np.empty_like(sd_sorted)
    sd[order] = sd_sorted
    sd = np.maximum(sd, 1e-6)
    frame = pd.DataFrame({"gene": genes, "z": diff / sd, "ref": scaled[reference], "mut": scaled[mutant], "diff": diff})
    agg = frame.groupby("gene", sort=False).agg(
        n_sgrna=("z", "size"), lfc_reference=("ref", "mean"), lfc_mutant=("mut", "mean"), diff=("diff", "mean"),
        sumz=("z", "sum"))
    z = agg["sumz"] / np.sqrt(agg["n_sgrna"])
    out = pd.DataFrame({
        "gene": agg.index, "n_sgrna": agg["n_sgrna"].astype(np.int64).to_numpy(),
        "lfc_reference": agg["lfc_reference"].to_numpy(), "lfc_mutant": agg["lfc_mutant"].to_numpy(),
        "diff": agg["diff"].to_numpy(), "z": z.to_numpy(),
        "neg_pvalue": stats.norm.cdf(z.to_numpy()), "pos_pvalue": stats.norm.sf(z.to_numpy()),
    })
    out["neg_padj"] = bh_adjust(out["neg_pvalue"].to_numpy())
    out["pos_padj"] = bh_adjust(out["pos_pvalue"].to_numpy())
    out = out.sort_values("z", kind="mergesort").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    return out[["gene", "n_sgrna", "lfc_reference", "lfc_mutant", "diff", "z", "neg_pvalue", "neg_padj",
                "pos_pvalue", "pos_padj", "rank"]]
