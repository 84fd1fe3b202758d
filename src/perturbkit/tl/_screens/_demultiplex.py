"""Demultiplex pooled cell lines (MIX-seq) or donors by the SNP alleles read in each cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ..._validate import check_adata, check_counts

__all__ = ["demultiplex_snps"]


def demultiplex_snps(
    adata: AnnData,
    genotypes: pd.DataFrame,
    *,
    alt_key: str = "alt",
    ref_key: str = "ref",
    error: float = 0.01,
    doublet_llr: float = 5.0,
    min_llr: float = 5.0,
    key_added: str = "cell_line",
    copy: bool = False,
) -> AnnData | None:
    """Assign every droplet to the cell line (or pair of lines) whose SNPs explain its reads.

    The likelihood model of demuxlet and MIX-seq's line assignment: with ``g`` a line's
    alternative-allele fraction at a SNP (0, 0.5, 1) and per-read error ``e``, a read is
    alternative with probability ``p = g (1 - e) + (1 - g) e``; a droplet's log-likelihood
    for a line sums ``alt log p + ref log(1 - p)`` over SNPs. A doublet of lines *a* and *b*
    has ``g = (g_a + g_b) / 2``. The droplet goes to the best line when it beats the second
    best by ``min_llr`` (natural log units) and the best pair does not beat it by
    ``doublet_llr``; it is ``"doublet"`` when the best pair wins by that margin, else
    ``"ambiguous"`` (too few informative reads).

    Run first: nothing; ``obsm[alt_key]`` and ``obsm[ref_key]`` hold allele read counts
    (cells x SNPs, in the column order of ``genotypes``).

    Parameters
    ----------
    adata
        Droplets with allele counts in ``obsm``.
    genotypes
        Lines x SNPs alternative-allele fractions in [0, 1] (NaN: not genotyped, ignored).
    alt_key, ref_key
        ``obsm`` keys of alternative and reference read counts.
    error
        Per-read allele error (0 < error < 0.5).
    doublet_llr, min_llr
        Log-likelihood margins for a doublet call and for a confident singlet.
    key_added
        ``obs`` column of the call.
    copy
        Return a modified copy.

    Returns
    -------
    ``None`` or the copy; writes ``obs[key_added]`` (line, ``"doublet"`` or ``"ambiguous"``,
    categorical), ``obs[f"{key_added}_llr"]`` (best minus second-best line log-likelihood),
    ``obs[f"{key_added}_doublet_llr"]`` (best pair minus best line), ``obs[f"{key_added}_pair"]``
    (the best pair, ``"a+b"``) and ``uns[key_added]["params"]``.

    Raises
    ------
    KeyError
        ``obsm[alt_key]`` or ``obsm[ref_key]`` missing.
    ValueError
        Shapes that do not match ``genotypes``; genotype fractions outside [0, 1]; negative counts;
        ``error`` out of range; fewer than two lines.

    References
    ----------
    McFarland et al. 2020 :cite:`mcfarland2020`; Kang et al. 2018 (demuxlet).

    Examples
    --------
    >>> import perturbkit as pk
    >>> mix = pk.data.simulate_mixseq(n_cells=300, seed=0)
    >>> pk.tl.demultiplex_snps(mix, mix.uns["genotypes"])
    >>> truth = mix.uns["truth"]["cells"]
    >>> single = ~truth["doublet"]
    >>> bool((mix.obs["cell_line"][single] == truth["line"][single]).mean() > 0.95)
    True
    """
    check_adata(adata)
    if not 0 < error < 0.5:
        raise ValueError(f"error must be in (0, 0.5), got {error}")
    for key in (alt_key, ref_key):
        if key not in adata.obsm:
            raise KeyError(f"adata.obsm has no {key!r} (allele read counts, cells x SNPs); available: {list(adata.obsm)}")
    if not isinstance(genotypes, pd.DataFrame) or genotypes.shape[0] < 2:
        raise ValueError("genotypes must be a DataFrame of at least two lines x SNPs")
    g = genotypes.to_numpy(dtype=float)
    if np.any((g[~np.isnan(g)] < 0) | (g[~np.isnan(g)] > 1)):
        raise ValueError("genotypes must be alternative-allele fractions in [0, 1]")
    alt, ref = (sparse.csr_matrix(adata.obsm[k], dtype=float) for k in (alt_key, ref_key))
    for k, m in ((alt_key, alt), (ref_key, ref)):
        check_counts(m, name=f"adata.obsm[{k!r}]")
        if m.shape != (adata.n_obs, g.shape[1]):
            raise ValueError(f"adata.obsm[{k!r}] is {m.shape}, expected cells x SNPs = ({adata.n_obs}, {g.shape[1]})")
    lines = np.asarray(genotypes.index.astype(str))
    a_idx, b_idx = np.triu_indices(len(lines), k=1)
    g_all = np.vstack([g, (g[a_idx] + g[b_idx]) / 2])
    p = g_all * (1 - error) + (1 - g_all) * error
    known = ~np.isnan(p)
    log_p, log_q = np.where(known, np.log(np.where(known, p, 0.5)), 0.0), np.where(known, np.log1p(-np.where(known, p, 0.5)), 0.0)
    ll = np.asarray(alt @ log_p.T + ref @ log_q.T)  # droplets x (lines + pairs)
    single, pair = ll[:, : len(lines)], ll[:, len(lines):]
    order = np.argsort(-single, axis=1)
    best = single[np.arange(len(ll)), order[:, 0]]
    llr = best - single[np.arange(len(ll)), order[:, 1]]
    best_pair = pair.argmax(1)
    dbl = pair[np.arange(len(ll)), best_pair] - best
    call = np.where(dbl > doublet_llr, "doublet", np.where(llr >= min_llr, lines[order[:, 0]], "ambiguous"))
    out = adata.copy() if copy else adata
    out.obs[key_added] = pd.Categorical(call)
    out.obs[f"{key_added}_llr"] = llr
    out.obs[f"{key_added}_doublet_llr"] = dbl
    out.obs[f"{key_added}_pair"] = [f"{lines[a_idx[k]]}+{lines[b_idx[k]]}" for k in best_pair]
    out.uns[key_added] = {"params": {"alt_key": alt_key, "ref_key": ref_key, "error": error,
                                     "doublet_llr": doublet_llr, "min_llr": min_llr}}
    return out if copy else None
