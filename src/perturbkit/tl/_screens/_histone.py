"""Differential histone-mark domains from single-cell CUT&Tag: bin counts pooled over broad domains."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse, stats

from ..._validate import check_adata, check_counts, check_finite, check_group, check_obs
from ...metrics import bh_adjust

__all__ = ["differential_domains"]


def differential_domains(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    domain_key: str = "domain",
    mark_key: str = "mark",
    background: str = "background",
    spike_in: Mapping[str, str] | None = None,
    binarize: bool = False,
) -> pd.DataFrame:
    """Test every target against the controls on every domain of every histone mark.

    CUT&Tag counts are sparse per bin, but a mark such as H3K27me3 covers *broad domains* of
    tens of bins. The bin counts of each domain are summed per cell, and the domain's rate in a
    group is its fragments over the group's depth: the cells' spike-in fragments of that mark's
    library (``spike_in``, CUT&Tag's E. coli carry-over normalisation) or, without spike-ins,
    their total fragments of that mark. The total is compositional: a knockout that removes the
    mark from many domains lowers it, and every other domain then looks gained. The log2 rate ratio target / control is the maximum-likelihood
    coefficient of a Poisson GLM with a log-depth offset; its standard error is inflated by the
    Pearson dispersion over cells (quasi-Poisson Wald test), so cell-to-cell variation beyond
    Poisson does not make p-values too small. ``binarize=True`` clips every bin to 0/1 first,
    as one does for scATAC-seq peaks: the baseline the chapter compares with.

    Sign convention: ``log2_fold > 0`` means more of the mark in the target's cells. For an
    activating mark (H3K27ac) that reads as "more active"; for a repressive one (H3K27me3) as
    "more repressed": the same biological change (a locus switched on) gives opposite signs.

    Run first: nothing; ``X`` holds fragment counts (cells x bins), ``var[domain_key]`` the
    domain of each bin (``background`` bins count towards the depth only) and
    ``var[mark_key]`` its mark.

    Parameters
    ----------
    adata
        Cells x bins of fragment counts.
    groupby, control
        Perturbation labels and the control label.
    domain_key, mark_key
        ``var`` columns with each bin's domain and mark (a domain belongs to one mark).
    background
        Domain label of bins outside any domain.
    spike_in
        Mark -> ``obs`` column of spike-in fragments per cell (``None``: total fragments of
        the mark, compositional).
    binarize
        Clip bin counts at 1 before summing (the scATAC-seq habit).

    Returns
    -------
    DataFrame
        One row per (target, mark, domain): ``target``, ``mark``, ``domain``, ``n_bins``,
        ``n_cells``, ``rate_target``, ``rate_control`` (fragments per depth fragment),
        ``log2_fold``, ``se``, ``dispersion``, ``pvalue``, ``padj`` (BH within target and mark).
        ``log2_fold``, ``se``, ``pvalue`` and ``padj`` are NaN where the target's or the control
        cells have no fragment in the domain (the rate ratio is 0 or infinite and the Wald test
        has no finite estimate; ``rate_target``/``rate_control`` still show which side is empty):
        common for single bins, rare for broad domains. ``adata`` is not modified.

    Raises
    ------
    KeyError
        ``obs[groupby]``, ``var[domain_key]``, ``var[mark_key]`` or a spike-in column missing.
    ValueError
        No control cells; negative or non-finite counts; a domain spanning two marks.

    References
    ----------
    Kaya-Okur et al. 2019 :cite:`kayaokur2019`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> ct = pk.data.simulate_cuttag_screen(n_cells=400, seed=0)
    >>> spikes = {m: f"spike_in_{m}" for m in ("H3K27ac", "H3K27me3")}
    >>> res = pk.tl.differential_domains(ct, spike_in=spikes)
    >>> row = res.query("target == 'EZH2' and domain == 'H3K27me3_d0'")
    >>> bool(row["log2_fold"].item() < 0)
    True
    """
    check_adata(adata)
    check_group(adata, groupby, control, role="control label")
    for key in (domain_key, mark_key):
        if key not in adata.var.columns:
            raise KeyError(f"adata.var has no {key!r} column; available: {list(adata.var.columns)}")
    check_counts(adata.X, name="adata.X")
    x = sparse.csr_matrix(adata.X, dtype=float)
    if binarize:
        x.data = np.minimum(x.data, 1.0)
    domains = adata.var[domain_key].astype(str).to_numpy()
    marks = adata.var[mark_key].astype(str).to_numpy()
    per_domain = pd.DataFrame({"domain": domains, "mark": marks})
    spans = per_domain[per_domain["domain"] != background].groupby("domain")["mark"].nunique()
    if (spans > 1).any():
        raise ValueError(f"domains spanning two marks: {list(spans.index[spans > 1])[:5]}")
    labels = adata.obs[groupby].astype(str).to_numpy()
    ctrl = labels == str(control)
    targets = sorted(set(labels) - {str(control)})
    rows = []
    for mark in sorted(set(marks)):
        in_mark = marks == mark
        if spike_in is not None:
            if mark not in spike_in:
                raise KeyError(f"spike_in names no obs column for mark {mark!r}; marks: {sorted(set(marks))}")
            check_obs(adata, spike_in[mark])
            depth = check_finite(adata.obs[spike_in[mark]].to_numpy(dtype=float), name=f"adata.obs[{spike_in[mark]!r}]")
        else:
            depth = np.asarray(x[:, in_mark].sum(1)).ravel()
        names = sorted(set(domains[in_mark]) - {background})
        # cells x domains of this mark: one sparse indicator product
        col = {d: i for i, d in enumerate(names)}
        member = np.array([col.get(d, -1) for d in domains[in_mark]])
        keep = member >= 0
        ind = sparse.csr_matrix((np.ones(keep.sum()), (np.flatnonzero(keep), member[keep])),
                                shape=(in_mark.sum(), len(names)))
        counts = np.asarray((x[:, in_mark] @ ind).todense())
        n_bins = np.asarray(ind.sum(0)).ravel().astype(int)
        for t in targets:
            cells = labels == t
            both = cells | ctrl
            c, d, g = counts[both], depth[both], cells[both]
            sum_t, sum_c = c[g].sum(0), c[~g].sum(0)
            rate_t, rate_c = sum_t / max(d[g].sum(), 1e-12), sum_c / max(d[~g].sum(), 1e-12)
            mu = np.where(g[:, None], rate_t[None, :], rate_c[None, :]) * d[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                pearson = np.where(mu > 0, (c - mu) ** 2 / mu, 0.0).sum(0) / max(both.sum() - 2, 1)
                phi = np.maximum(pearson, 1.0)
                beta = np.log(rate_t) - np.log(rate_c)
                se = np.sqrt(phi * (1 / sum_t + 1 / sum_c))
            ok = (sum_t > 0) & (sum_c > 0)
            pval = np.where(ok, 2 * stats.norm.sf(np.abs(beta) / np.where(ok, se, 1.0)), np.nan)
            frame = pd.DataFrame({"target": t, "mark": mark, "domain": names, "n_bins": n_bins,
                                  "n_cells": int(cells.sum()), "rate_target": rate_t, "rate_control": rate_c,
                                  "log2_fold": np.where(ok, beta / np.log(2), np.nan),
                                  "se": np.where(ok, se / np.log(2), np.nan), "dispersion": phi, "pvalue": pval})
            frame["padj"] = bh_adjust(frame["pvalue"].to_numpy())
            rows.append(frame)
    return pd.concat(rows, ignore_index=True)
