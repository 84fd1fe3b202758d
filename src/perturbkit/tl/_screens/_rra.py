"""Robust rank aggregation (alpha-RRA) with the exact null distribution of its score.

MAGeCK (Li et al. 2014) ranks genes by the alpha-RRA score rho of Kolde et al. (2012) and
turns it into a p-value by permutation, so no p-value can fall below one over the number
of draws. The null distribution of rho is known exactly: rho <= x exactly when some order
statistic U_(k) of the gene's n uniform percentiles lies at or below
b_k = min(alpha, I^{-1}_x(k, n - k + 1)), a boundary-crossing probability of uniform order
statistics that a short recursion over the thresholds gives as a sum of positive terms
(accurate far below machine epsilon, so the top genes keep distinct p-values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from ..._validate import check_probability
from ...metrics import bh_adjust

__all__ = ["rra", "rra_null_pvalue"]


def _rho(percentiles: np.ndarray, alpha: float) -> np.ndarray:
    """alpha-RRA score of each row of sorted percentiles (NaN-padded rows allowed).

    For the k-th smallest of n uniform percentiles, P(r_(k) <= r) is the regularised
    incomplete beta I_r(k, n - k + 1); rho is its minimum over the k whose percentile is
    below ``alpha`` (1 when none is).
    """
    n = np.sum(~np.isnan(percentiles), axis=1, keepdims=True)
    k = np.arange(1, percentiles.shape[1] + 1)[None, :]
    r = np.where(np.isnan(percentiles), 1.0, percentiles)
    beta = special.betainc(k, np.maximum(n - k + 1, 1), r)
    beta = np.where((r <= alpha) & (k <= n), beta, 1.0)
    return beta.min(axis=1)


def rra_null_pvalue(rho: np.ndarray | float, n: int, alpha: float) -> np.ndarray:
    """Exact P(rho_null <= rho) for a gene with ``n`` guides at percentile cut-off ``alpha``.

    Under the null the gene's ``n`` percentiles are independent uniforms. With thresholds
    :math:`b_k = \\min(\\alpha, I^{-1}_{\\rho}(k, n-k+1))` (non-decreasing in k), the null score
    is at most ``rho`` exactly when :math:`N(b_k) \\ge k` for some k, N counting percentiles
    at or below a value. The recursion walks the thresholds keeping the distribution of
    N(b_k) over the paths that have not crossed yet; each step adds the binomial tail that
    crosses, so the p-value is a sum of positive terms {cite}`kolde2012`. Once a threshold
    reaches ``alpha`` the later ones add nothing, which bounds the work by about
    ``alpha * n`` steps.

    Parameters
    ----------
    rho
        Observed alpha-RRA scores (any shape).
    n
        Number of guides of the gene(s).
    alpha
        Percentile cut-off used for the scores, in (0, 1].

    Returns
    -------
    numpy.ndarray
        p-values (float64, shape of ``rho``); 1 where ``rho >= 1``.

    Examples
    --------
    >>> from perturbkit.tl._screens._rra import rra_null_pvalue
    >>> float(rra_null_pvalue(0.01, 1, 1.0)[0])  # one guide: rho is its percentile
    0.01
    >>> round(float(rra_null_pvalue(1e-3, 4, 0.2)[0]), 6)  # a little below Bonferroni, n * rho
    0.003693
    """
    if n < 1:
        raise ValueError(f"rra_null_pvalue: n must be >= 1 guide, got {n}")
    if not 0 < alpha <= 1:
        raise ValueError(f"rra_null_pvalue: alpha must be in (0, 1], got {alpha}")
    rho_arr = np.atleast_1d(np.asarray(rho, dtype=float))
    flat = rho_arr.ravel()
    out = np.ones(flat.shape)
    todo = np.flatnonzero(flat < 1)
    if todo.size:
        x = np.clip(flat[todo], 0.0, 1.0)
        k = np.arange(1, n + 1)
        t = special.betaincinv(k[None, :], (n - k + 1)[None, :], x[:, None])
        b = np.minimum(np.maximum.accumulate(t, axis=1), alpha)  # (G, n)
        g = len(todo)
        mass = np.zeros((g, n + 1))
        mass[:, 0] = 1.0  # N(b_0 = 0) = 0
        fail = np.zeros(g)
        prev = np.zeros(g)
        done = np.zeros(g, dtype=bool)
        for kk in range(1, n + 1):
            bk = b[:, kk - 1]
            # points still above prev are uniform on (prev, 1]: the share falling in (prev, bk]
            q = np.where(done, 0.0, np.clip((bk - prev) / np.maximum(1.0 - prev, 1e-300), 0.0, 1.0))
            m = np.arange(kk)  # alive states: N(b_{k-1}) <= k - 1
            trials = n - m  # (kk,)
            # crossing: N(b_k) >= k, i.e. at least k - m new points
            fail += np.sum(mass[:, :kk] * stats.binom.sf(kk - m[None, :] - 1, trials[None, :], q[:, None]), axis=1)
            # surviving: N(b_k) = m2 <= k - 1
            m2 = np.arange(kk)
            pmf = stats.binom.pmf(m2[None, None, :] - m[None, :, None], trials[None, :, None], q[:, None, None])
            new = np.einsum("gm,gmj->gj", mass[:, :kk], pmf)
            mass[:, :kk] = np.where(done[:, None], mass[:, :kk], new)
            prev = np.where(done, prev, bk)
            done |= bk >= alpha  # later thresholds equal alpha: N(alpha) cannot grow
            if done.all():
                break
        out[todo] = np.clip(fail, 0.0, 1.0)
    return out.reshape(rho_arr.shape)


def rra(
    sgrnas: pd.DataFrame,
    *,
    score: str = "pvalue_low",
    tiebreak: str | None = "lfc",
    ascending: bool = True,
    fdr_threshold: float = 0.25,
    n_perm: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Rank genes by robust rank aggregation of their sgRNAs (MAGeCK's alpha-RRA).

    All sgRNAs are ranked by ``score`` (then ``tiebreak``); each gets a percentile
    rank in (0, 1]. A gene whose guides sit unusually high in that list gets a small
    score rho (:func:`_rho`); only guides within the top ``alpha`` fraction count, where
    ``alpha`` is the fraction of sgRNAs with BH-FDR below ``fdr_threshold`` (MAGeCK's
    default 0.25). Gene p-values are exact tails of rho's null distribution for genes
    with the same number of guides (:func:`rra_null_pvalue`), so they are not floored at
    one over a number of permutations; with ``n_perm`` they come from that many random
    draws per guide count instead, as MAGeCK does. FDR by Benjamini-Hochberg
    {cite}`kolde2012,li2014mageck`.

    Parameters
    ----------
    sgrnas
        Table from :func:`sgrna_lfc` (columns ``gene``, ``score``, ``tiebreak``).
    score
        Column to rank by: ``"pvalue_low"`` for depletion, ``"pvalue_high"`` for enrichment.
    tiebreak
        Second sort key for tied scores (``"lfc"``; use ``ascending`` accordingly).
    ascending
        Sort direction of ``tiebreak`` (True for depletion, False for enrichment).
    fdr_threshold
        sgRNA-level FDR defining alpha.
    n_perm
        ``None`` (default): exact null. An integer: null draws per guide count (p-values
        then cannot fall below 1 / (n_perm + 1)).
    seed
        Random seed of the null draws (unused with the exact null).

    Returns
    -------
    pandas.DataFrame
        One row per gene, sorted by ``rho``: ``gene``, ``n_sgrna`` (int), ``good_sgrna``
        (guides below alpha, int), ``lfc`` (median sgRNA log2 fold change), ``rho``,
        ``pvalue``, ``padj`` (BH, float), ``rank`` (1 = strongest, int), ``alpha`` (the
        percentile cut-off used, the same on every row).

    Examples
    --------
    >>> import perturbkit as pk
    >>> screen = pk.data.simulate_pooled_screen(n_genes=50, seed=0)
    >>> pk.pp.normalize_screen(screen)
    >>> sg = pk.tl.sgrna_lfc(screen, treatment_samples=["final_1", "final_2"], control_samples=["initial_1", "initial_2"])
    >>> genes = pk.tl.rra(sg)
    >>> genes.columns.tolist()[:4]
    ['gene', 'n_sgrna', 'good_sgrna', 'lfc']
    >>> bool(genes["pvalue"].head(5).is_unique)  # exact null: the top genes do not tie
    True
    """
    fdr_threshold = check_probability(fdr_threshold, name="fdr_threshold")  # 25 used to make every guide a hit
    for col in ("gene", score) + ((tiebreak,) if tiebreak else ()):
        if col not in sgrnas.columns:
            raise KeyError(f"sgRNA table has no column {col!r}; columns: {list(sgrnas.columns)}")
    if sgrnas["gene"].isna().any():
        raise ValueError("sgRNA table: some guides have no gene (NaN in column 'gene')")
    if n_perm is not None and n_perm < 10:
        raise ValueError(f"n_perm must be None (exact null) or >= 10, got {n_perm}")
    pvals = sgrnas[score].to_numpy(dtype=float)
    if np.isnan(pvals).any():
        raise ValueError(f"sgRNA table: column {score!r} has NaN values")
    order_keys = [pvals] if tiebreak is None else [
        sgrnas[tiebreak].to_numpy(dtype=float) * (1 if ascending else -1), pvals]
    order = np.lexsort(order_keys)  # last key is primary
    n_total = len(sgrnas)
    pct = np.empty(n_total)
    pct[order] = np.arange(1, n_total + 1) / n_total
    fdr_sg = bh_adjust(np.clip(pvals, 0, 1))
    alpha = max(float(np.mean(fdr_sg < fdr_threshold)), 1.0 / n_total)

    frame = pd.DataFrame({"gene": sgrnas["gene"].astype(str).to_numpy(), "pct": pct})
    if "lfc" in sgrnas.columns:
        frame["lfc"] = sgrnas["lfc"].to_numpy(dtype=float)
    groups = frame.groupby("gene", sort=True)
    codes, uniq = pd.factorize(frame["gene"], sort=True)
    genes = list(uniq)
    sizes = np.bincount(codes, minlength=len(genes))
    # gene x guide matrix of sorted percentiles (NaN-padded), without a per-gene loop
    srt = np.lexsort((pct, codes))
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    within = np.arange(n_total) - np.repeat(starts, sizes)
    mat = np.full((len(genes), int(sizes.max())), np.nan)
    mat[codes[srt], within] = pct[srt]
    rho = _rho(mat, alpha)

    pval = np.empty(len(genes))
    rng = np.random.default_rng(seed)
    for n in np.unique(sizes):
        sel = sizes == n
        if n_perm is None:
            pval[sel] = rra_null_pvalue(rho[sel], int(n), alpha)
        else:
            null = np.sort(_rho(np.sort(rng.random((n_perm, n)), axis=1), alpha))
            pval[sel] = (np.searchsorted(null, rho[sel], side="right") + 1) / (n_perm + 1)
    out = pd.DataFrame(
        {
            "gene": genes,
            "n_sgrna": sizes.astype(np.int64),
            "good_sgrna": np.sum(mat <= alpha, axis=1).astype(np.int64),
            "lfc": groups["lfc"].median().reindex(genes).to_numpy() if "lfc" in frame else np.nan,
            "rho": rho,
            "pvalue": pval,
            "padj": bh_adjust(pval),
        }
    )
    out = out.sort_values(["rho", "lfc"], ascending=[True, ascending], kind="mergesort").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    # the cut-off is one number per run; a column keeps it with the table it produced
    out["alpha"] = alpha
    return out
