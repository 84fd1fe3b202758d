"""MAGeCK-MLE: a negative-binomial GLM per gene with the experiment's design matrix, and
the copy-number covariate of MAGeCK's ``--cnv-norm``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from ...metrics import bh_adjust
from ...pp._normalize_screen import size_factors
from ._pooled_screen import _check_gene, _layer, _mean_variance

__all__ = ["cnv_correct", "mageck_mle"]


def _design(adata: AnnData, design: pd.DataFrame | None) -> pd.DataFrame:
    if design is None:
        if "design" not in adata.uns:
            raise KeyError("no design given and adata.uns has no 'design' (samples x conditions)")
        design = adata.uns["design"]
    if not isinstance(design, pd.DataFrame):
        raise TypeError(f"design must be a DataFrame (samples x conditions), got {type(design).__name__}")
    missing = [s for s in design.index if s not in adata.var_names]
    if missing:
        raise ValueError(f"design rows {missing} are not samples of adata: {list(adata.var_names)}")
    d = design.astype(float)
    if d.shape[1] < 2:
        raise ValueError("design needs a baseline column and at least one condition column")
    if not np.allclose(d.iloc[:, 0], 1):
        raise ValueError(f"the first design column ({d.columns[0]!r}) must be the all-ones baseline")
    cond = d.iloc[:, 1:]
    if np.linalg.matrix_rank(d.to_numpy()) < d.shape[1]:
        raise ValueError("design matrix is rank deficient: a condition cannot be told apart")
    return cond


def mageck_mle(
    adata: AnnData,
    *,
    design: pd.DataFrame | None = None,
    layer: str = "counts",
    gene_key: str = "gene",
    max_iter: int = 50,
) -> pd.DataFrame:
    """Gene effects for every condition of a design matrix, by maximum likelihood (MAGeCK-MLE).

    Each guide *i* of a gene has its own baseline abundance; every condition *k* of the
    design shifts the log mean of all the gene's guides by the same :math:`\\beta_k`:
    :math:`\\log \\mu_{ij} = \\log s_j + \\alpha_i + \\sum_k D_{jk}\\beta_k`, counts negative
    binomial with the dispersion of MAGeCK's mean-variance model. Fitted by iteratively
    reweighted least squares, all genes with the same number of guides at once; Wald tests
    give p-values {cite}`li2015mageckvispr`, with standard errors inflated by the Pearson
    chi-square per degree of freedom when the counts vary more than the model allows
    (quasi-likelihood; column ``dispersion_scale``). This leaves out MAGeCK-MLE's EM step
    that down-weights inefficient guides.

    Parameters
    ----------
    adata
        sgRNA x sample AnnData with raw counts (size factors are recomputed by median
        ratio unless ``var["size_factor"]`` exists).
    design
        Samples x columns, first column the all-ones baseline, the rest 0/1 conditions
        (default: ``adata.uns["design"]``, as the MAGeCK leukemia loader provides).
    layer
        Raw counts.
    gene_key
        ``obs`` column with each guide's gene.
    max_iter
        IRLS iterations.

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per gene and condition: ``gene``, ``condition``, ``n_sgrna`` (int),
        ``beta`` (log fold change, natural log as in MAGeCK; < 0 = depleted), ``se``, ``z``,
        ``pvalue`` (two-sided Wald), ``padj`` (BH within the condition), ``dispersion_scale``
        (Pearson chi2 / df of the fit, the same on every row).

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> s = pk.data.simulate_pooled_screen(n_genes=60, n_essential=6, seed=0)
    >>> d = pd.DataFrame({"baseline": 1, "selected": [0, 0, 1, 1]}, index=s.var_names)
    >>> res = pk.tl.mageck_mle(s, design=d)
    >>> int(res.sort_values("beta").head(6)["gene"].isin(s.uns["truth"].index[:6]).sum())
    6
    """
    cond = _design(adata, design)
    genes = _check_gene(adata, gene_key)
    samples = list(cond.index)
    cols = [adata.var_names.get_loc(s) for s in samples]
    counts = _layer(adata, layer, counts=True)[:, cols]
    sf = (adata.var["size_factor"].to_numpy()[cols] if "size_factor" in adata.var
          else size_factors(counts, "median"))
    norm = counts / sf
    base = cond.to_numpy().sum(axis=1) == 0
    ref = norm[:, base] if base.sum() >= 2 else norm
    k, b = _mean_variance(ref.mean(axis=1), ref.var(axis=1, ddof=1))
    mu0 = np.maximum(ref.mean(axis=1), 1.0)
    disp = k * mu0 ** (b - 2.0)  # NB: var = mu + disp * mu^2 at the guide's abundance

    d = cond.to_numpy()
    n_s, n_c = d.shape
    codes, uniq = pd.factorize(genes, sort=True)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    rows, chi2, dof = [], [], []
    for m in np.unique(sizes):
        gidx = np.flatnonzero(sizes == m)
        guide_rows = np.stack([order[starts[g] : starts[g] + m] for g in gidx])  # (G, m)
        y = counts[guide_rows].reshape(len(gidx), m * n_s)  # guide-major, then sample
        phi = np.repeat(disp[guide_rows], n_s, axis=1)
        x = np.hstack([np.kron(np.eye(m), np.ones((n_s, 1))), np.tile(d, (m, 1))])  # (m*n_s, m+n_c)
        offset = np.tile(np.log(sf), m)
        theta = np.zeros((len(gidx), m + n_c))
        theta[:, :m] = np.log(norm[guide_rows].mean(axis=2) + 0.5)
        for _ in range(max_iter):
            eta = theta @ x.T + offset
            mu = np.exp(np.clip(eta, -30, 30))
            w = mu / (1.0 + phi * mu)
            z = eta - offset + (y - mu) / mu
            xtwx = np.einsum("np,gn,nq->gpq", x, w, x) + 1e-8 * np.eye(m + n_c)
            xtwz = np.einsum("np,gn->gp", x, w * z)
            new = np.linalg.solve(xtwx, xtwz[..., None])[..., 0]
            done = np.max(np.abs(new - theta)) < 1e-7
            theta = new
            if done:
                break
        eta = theta @ x.T + offset
        mu = np.exp(np.clip(eta, -30, 30))
        w = mu / (1.0 + phi * mu)
        cov = np.linalg.inv(np.einsum("np,gn,nq->gpq", x, w, x) + 1e-8 * np.eye(m + n_c))
        beta = theta[:, m:]
        se = np.sqrt(np.einsum("gkk->gk", cov[:, m:, m:]))
        pearson = (y - mu) ** 2 / (mu + phi * mu**2)
        chi2.append(float(pearson.sum()))
        dof.append(len(gidx) * (m * n_s - m - n_c))
        for j, c in enumerate(cond.columns):
            rows.append(pd.DataFrame({"gene": np.asarray(uniq)[gidx], "condition": c, "n_sgrna": m,
                                      "beta": beta[:, j], "se": se[:, j]}))
    out = pd.concat(rows, ignore_index=True)
    out["n_sgrna"] = out["n_sgrna"].astype(np.int64)
    # quasi-likelihood: counts vary more around the fit than the dispersion model says
    # (guide efficiency, biology), so standard errors are scaled by the Pearson chi2 / df
    scale = max(1.0, sum(chi2) / max(sum(dof), 1))
    out["se"] = out["se"] * np.sqrt(scale)
    out["z"] = out["beta"] / out["se"]
    out["pvalue"] = 2 * stats.norm.sf(np.abs(out["z"]))
    out["padj"] = out.groupby("condition")["pvalue"].transform(bh_adjust)
    order_c = {c: i for i, c in enumerate(cond.columns)}
    out = out.sort_values(["condition", "beta"], key=lambda s: s.map(order_c) if s.name == "condition" else s)
    out = out.reset_index(drop=True)
    # one number per fit, kept as a column so it travels with the table
    out["dispersion_scale"] = scale
    return out


def cnv_correct(
    effects: pd.DataFrame,
    cnv: pd.Series,
    *,
    value: str = "beta",
    condition: str | None = None,
) -> pd.DataFrame:
    """Remove the copy-number trend from gene effects (the covariate idea of MAGeCK ``--cnv-norm``).

    Cas9 cuts every copy of its target, and many cuts kill a cell whatever the gene does,
    so amplified genes look essential {cite}`meyers2017ceres`. Across genes, the effect is
    regressed on copy number with a robust (Huber) line and the fitted trend is subtracted.

    Parameters
    ----------
    effects
        Gene table with ``gene`` and ``value`` (e.g. :func:`mageck_mle` output, one condition,
        or :func:`perturbkit.tl.mageck_test` with ``value="lfc"``).
    cnv
        Copy number (or log2 copy ratio) per gene, indexed by gene.
    value
        Column to correct.
    condition
        Only rows of this ``condition`` (when the table has that column).

    Returns
    -------
    pandas.DataFrame
        The rows that have a copy number, with ``cnv`` and ``<value>_corrected`` added;
        ``cnv_slope`` (the fitted effect per unit copy number, the same on every row).

    Examples
    --------
    >>> import numpy as np, pandas as pd, perturbkit as pk
    >>> rng = np.random.default_rng(0)
    >>> cn = pd.Series(rng.normal(0, 1, 300), index=[f"g{i}" for i in range(300)])
    >>> eff = pd.DataFrame({"gene": cn.index, "beta": -0.5 * cn.to_numpy() + rng.normal(0, 0.1, 300)})
    >>> round(float(pk.tl.cnv_correct(eff, cn)["cnv_slope"].iloc[0]), 1)
    -0.5
    """
    import statsmodels.api as sm

    if value not in effects.columns or "gene" not in effects.columns:
        raise KeyError(f"effects needs columns 'gene' and {value!r}; has {list(effects.columns)}")
    tab = effects
    if condition is not None:
        if "condition" not in tab.columns or condition not in set(tab["condition"]):
            raise ValueError(f"condition {condition!r} not in effects['condition']")
        tab = tab[tab["condition"] == condition]
    cn = pd.Series(cnv, dtype=float)
    tab = tab[tab["gene"].isin(cn.index)].copy()
    if len(tab) < 10:
        raise ValueError(f"only {len(tab)} genes have a copy number; need at least 10")
    tab["cnv"] = cn.reindex(tab["gene"]).to_numpy()
    tab = tab[np.isfinite(tab["cnv"])]
    fit = sm.RLM(tab[value].to_numpy(), sm.add_constant(tab["cnv"].to_numpy()), M=sm.robust.norms.HuberT()).fit()
    slope = float(fit.params[1])
    tab[f"{value}_corrected"] = tab[value] - slope * (tab["cnv"] - tab["cnv"].median())
    tab["cnv_slope"] = slope
    return tab.reset_index(drop=True)
