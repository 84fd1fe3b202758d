"""Differential DNA methylation per region from single-cell bisulfite data (scBS-seq, scTrio-seq)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import optimize, stats
from scipy.special import betaln, digamma, expit, logit
from threadpoolctl import threadpool_limits

from ..._validate import as_dense, check_adata, check_counts, check_group, check_obs
from ...metrics import bh_adjust

__all__ = ["differential_methylation"]


def _nll(
    theta: np.ndarray, k: np.ndarray, n: np.ndarray, g: np.ndarray, w: np.ndarray, free_d: bool
) -> tuple[float, np.ndarray]:
    """Beta-binomial negative log-likelihood (up to the binomial coefficient) and its gradient.

    ``theta = (a, d, r)``: mean ``expit(a + d * g)``, intra-cell correlation ``expit(r)``;
    ``w`` counts the cells sharing each (k, n, g) row.
    """
    a, d, r = theta if free_d else (theta[0], 0.0, theta[1])
    mu = expit(a + d * g)
    s = np.exp(-r)  # (1 - rho) / rho: the beta's precision
    al, be = mu * s, (1 - mu) * s
    ll = w * (betaln(k + al, n - k + be) - betaln(al, be))
    common = digamma(al + be) - digamma(n + al + be)
    dal = digamma(k + al) - digamma(al) + common
    dbe = digamma(n - k + be) - digamma(be) + common
    deta = w * (dal - dbe) * s * mu * (1 - mu)
    dr = -w * (dal * mu + dbe * (1 - mu)) * s
    grad = [deta.sum(), (deta * g).sum(), dr.sum()] if free_d else [deta.sum(), dr.sum()]
    return -float(ll.sum()), -np.asarray(grad)


def _fit(k: np.ndarray, n: np.ndarray, g: np.ndarray, w: np.ndarray, free_d: bool) -> tuple[np.ndarray, float]:
    p0 = np.clip(((w * k)[g == 0].sum() + 0.5) / ((w * n)[g == 0].sum() + 1), 1e-3, 1 - 1e-3)
    p1 = np.clip(((w * k)[g == 1].sum() + 0.5) / ((w * n)[g == 1].sum() + 1), 1e-3, 1 - 1e-3)
    start = [logit(p0), logit(p1) - logit(p0), logit(0.1)] if free_d else [logit((p0 + p1) / 2), logit(0.1)]
    bounds = [(-12, 12), (-12, 12), (-12, 8)] if free_d else [(-12, 12), (-12, 8)]
    res = optimize.minimize(_nll, start, args=(k, n, g, w, free_d), jac=True, method="L-BFGS-B", bounds=bounds)
    return res.x, float(res.fun)


def _fit_regions(
    adata: AnnData, labels: np.ndarray, is_ctrl: np.ndarray, targets: Sequence[str],
    meth: np.ndarray, tot: np.ndarray, min_cells: int,
) -> list[dict]:
    rows = []
    for t in targets:
        cells = is_ctrl | (labels == t)
        g_all = (labels[cells] == t).astype(float)
        k_all, n_all = meth[cells], tot[cells]
        for j, region in enumerate(adata.var_names):
            cov = n_all[:, j] > 0
            k, n, g = k_all[cov, j], n_all[cov, j], g_all[cov]
            n1, n0 = int(g.sum()), int((1 - g).sum())
            m1, t1 = k[g == 1].sum(), n[g == 1].sum()
            m0, t0 = k[g == 0].sum(), n[g == 0].sum()
            row = {"target": t, "region": region, "n_target": n1, "n_control": n0,
                   "pooled_target": m1 / t1 if t1 else np.nan, "pooled_control": m0 / t0 if t0 else np.nan}
            if min(n1, n0) < min_cells:
                rows.append(row | {"level_target": np.nan, "level_control": np.nan, "delta": np.nan,
                                   "rho": np.nan, "pvalue": np.nan, "pvalue_naive": np.nan})
                continue
            # cells with the same (methylated, total, group) share a likelihood term
            uniq, w = np.unique(np.column_stack([k, n, g]), axis=0, return_counts=True)
            args = (uniq[:, 0], uniq[:, 1], uniq[:, 2], w.astype(float))
            theta1, nll1 = _fit(*args, True)
            _, nll0 = _fit(*args, False)
            pooled = (m1 + m0) / (t1 + t0)
            se = np.sqrt(pooled * (1 - pooled) * (1 / t1 + 1 / t0))
            z = (m1 / t1 - m0 / t0) / se if se > 0 else 0.0
            lc, lt = expit(theta1[0]), expit(theta1[0] + theta1[1])
            rows.append(row | {"level_target": lt, "level_control": lc, "delta": lt - lc,
                               "rho": float(expit(theta1[2])),
                               "pvalue": float(stats.chi2.sf(max(2 * (nll0 - nll1), 0.0), 1)),
                               "pvalue_naive": float(2 * stats.norm.sf(abs(z)))})
    return rows


def differential_methylation(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    targets: Sequence[str] | None = None,
    methylated: str = "methylated",
    total: str = "total",
    min_cells: int = 5,
) -> pd.DataFrame:
    """Test every region for a change in DNA methylation between each target's cells and controls.

    The unit of replication is the cell: CpGs of one region in one cell share that
    cell's methylation state, so they are not independent draws. The **model** is a
    beta-binomial per region: a cell's methylated calls out of its total follow a
    binomial whose rate varies between cells as a beta distribution with mean
    ``expit(a + d * is_target)`` and intra-cell correlation ``rho`` (overdispersion).
    ``d`` is tested by a likelihood-ratio test (chi-squared, 1 df). The **naive
    baseline** pools all CpG calls of a group and compares the two proportions by a
    binomial z-test, as if every CpG were an independent observation.

    Parameters
    ----------
    adata
        Cells x regions, with methylated and total CpG calls in ``layers``.
    groupby, control, targets
        Perturbation labels, the non-targeting label, targets to test (default all).
    methylated, total
        Layers with methylated and total CpG calls (integers, ``methylated <= total``).
    min_cells
        Regions covered (>= 1 call) in fewer cells of either group get NaN p-values.

    Returns
    -------
    DataFrame
        One row per (target, region): ``target``, ``region``, ``n_target``,
        ``n_control`` (covered cells), ``level_target``, ``level_control`` (fitted
        mean methylation, 0-1), ``delta`` (their difference; negative = loss of
        methylation), ``rho`` (fitted intra-cell correlation), ``pvalue``, ``padj`` (BH
        within target), ``pooled_target``, ``pooled_control`` (pooled CpG proportions),
        ``pvalue_naive``, ``padj_naive``. ``adata`` is not modified.

    Raises
    ------
    KeyError
        ``groupby`` or a layer missing.
    ValueError
        No ``control`` cells; an unknown target; negative or non-integer counts; more
        methylated than total calls.

    References
    ----------
    Smallwood et al. 2014 (scBS-seq) :cite:`smallwood2014`; Feng et al. 2014
    (beta-binomial tests of methylation) :cite:`feng2014`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> me = pk.data.simulate_methylation_screen(n_cells=300, n_regions=100, n_promoters=20, n_dmr=10, seed=0)
    >>> dm = pk.tl.differential_methylation(me, targets=["DNMT3A"])
    >>> planted = me.uns["truth"]["shifts"].loc["DNMT3A"] < 0
    >>> hits = dm.loc[dm["padj"] < 0.05, "region"]
    >>> bool(planted[hits].all() and len(hits) >= 5)
    True
    """
    check_adata(adata)
    for key in (methylated, total):
        if key not in adata.layers:
            raise KeyError(f"adata.layers has no {key!r}; available: {list(adata.layers)}")
    meth, tot = as_dense(adata.layers[methylated]), as_dense(adata.layers[total])
    check_counts(meth, name=f"adata.layers[{methylated!r}]")
    check_counts(tot, name=f"adata.layers[{total!r}]")
    over = meth > tot
    if over.any():
        i, j = map(int, np.argwhere(over)[0])
        raise ValueError(
            f"{int(over.sum())} entries have more methylated than total calls, first: cell "
            f"{adata.obs_names[i]!r}, region {adata.var_names[j]!r} ({meth[i, j]:g} > {tot[i, j]:g})")
    check_obs(adata, groupby)
    check_group(adata, groupby, control, role="control (non-targeting) group")
    labels = adata.obs[groupby].astype(str).to_numpy()
    if targets is None:
        cats = adata.obs[groupby].cat.categories if hasattr(adata.obs[groupby], "cat") else sorted(set(labels))
        targets = [str(t) for t in cats if str(t) != str(control) and str(t) in set(labels)]
    for t in targets:
        check_group(adata, groupby, t, role="target")

    is_ctrl = labels == str(control)
    # thousands of tiny L-BFGS-B fits: multithreaded BLAS only adds overhead (10x on a busy machine)
    with threadpool_limits(limits=1, user_api="blas"):
        rows = _fit_regions(adata, labels, is_ctrl, targets, meth, tot, min_cells)
    out = pd.DataFrame(rows)
    for col in ("pvalue", "pvalue_naive"):
        adj = col.replace("pvalue", "padj")
        out[adj] = np.nan
        for _, idx in out.groupby("target").groups.items():
            ok = out.loc[idx, col].notna()
            if ok.any():
                out.loc[idx[ok.to_numpy()], adj] = bh_adjust(out.loc[idx[ok.to_numpy()], col])
    cols = ["target", "region", "n_target", "n_control", "level_target", "level_control", "delta", "rho",
            "pvalue", "padj", "pooled_target", "pooled_control", "pvalue_naive", "padj_naive"]
    return out[cols]
