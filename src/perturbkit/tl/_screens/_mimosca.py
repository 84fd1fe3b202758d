"""MIMOSCA: a regularised linear model of expression on the guide design, with covariates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ..._validate import check_adata, check_counts, check_group, check_obs

__all__ = ["mimosca"]

_EXCLUDED = ("multiple", "unassigned")


def _design(adata: AnnData, groupby: str, control: str, covariates: Sequence[str]) -> tuple:
    labels = adata.obs[groupby].astype(str).to_numpy()
    keep = ~np.isin(labels, _EXCLUDED)
    labels = labels[keep]
    targets = sorted(t for t in set(labels) if t != control)
    if not targets:
        raise ValueError(f"adata.obs[{groupby!r}] has no perturbed cells besides the control {control!r}")
    x = (labels[:, None] == np.asarray(targets)[None, :]).astype(float)
    cov = []
    for c in covariates:
        lev = adata.obs[c].astype(str).to_numpy()[keep]
        levels = sorted(set(lev))
        cov.append((lev[:, None] == np.asarray(levels[1:])[None, :]).astype(float))  # first level = reference
    return keep, labels, targets, x, np.hstack(cov) if cov else np.zeros((x.shape[0], 0))


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float, n_effects: int) -> np.ndarray:
    """Ridge coefficients; only the first ``n_effects`` columns (perturbations) are penalised."""
    pen = np.zeros(x.shape[1])
    pen[:n_effects] = alpha
    return np.linalg.solve(x.T @ x + np.diag(pen), x.T @ y)


def mimosca(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    covariates: Sequence[str] = ("replicate",),
    layer: str | None = "counts",
    genes: Sequence[str] | None = None,
    alphas: Sequence[float] = (0.1, 1.0, 10.0, 100.0, 1000.0),
    n_folds: int = 5,
    n_permutations: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Effect of every perturbation on every gene from one regularised linear model.

    Each cell's log-normalised expression (counts per 10k, ``log1p``) is modelled as
    ``y = X b + C g + log-library * h + e`` with ``X`` the perturbation design (one
    indicator per target, controls all zero, so ``b`` is the shift against controls), ``C``
    one-hot covariates (replicate) and the cell's log library size. The perturbation
    coefficients are ridge-penalised (covariates are not); the penalty is chosen by
    ``n_folds``-fold cross-validation over ``alphas``. Cells labelled ``"multiple"`` or
    ``"unassigned"`` are left out. With ``n_permutations``, the perturbation labels are
    shuffled within covariate strata and refitted to give an empirical p-value per
    coefficient.

    Run first: :func:`perturbkit.tl.assign_guides`.

    Parameters
    ----------
    adata
        Screen with raw counts and ``obs[groupby]``.
    groupby, control
        Perturbation labels and the control label.
    covariates
        Categorical ``obs`` columns adjusted for.
    layer
        Raw counts (``None``: ``X``).
    genes
        Genes modelled (default all).
    alphas
        Candidate ridge penalties.
    n_folds
        Cross-validation folds for the penalty.
    n_permutations
        Label permutations for p-values (0: none).
    seed
        Seed of the folds and permutations.

    Returns
    -------
    DataFrame
        Tidy, one row per (target, gene): ``target``, ``gene``, ``coef`` (shift of log1p
        expression against controls, positive = up in the target's cells), ``n_cells``,
        ``rank`` (by ``|coef|`` within target, 1 = largest) and with permutations
        ``pvalue``; ``alpha`` (the chosen penalty) and ``cv_r2_gain`` (its cross-validated
        R^2 gain over a covariates-only baseline; positive = the perturbation design
        predicts held-out cells better than covariates alone), the same on every row.
        ``adata`` is not modified.

    Raises
    ------
    KeyError
        ``groupby`` or a covariate missing.
    ValueError
        No control cells, or no perturbed cells.

    References
    ----------
    Dixit et al. 2016 :cite:`dixit2016`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=600, n_genes=30, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> eff = pk.tl.mimosca(adata)
    >>> eff.query("target == 'T0' and gene == 'T0'")["coef"].item() < 0
    True
    """
    check_adata(adata)
    check_group(adata, groupby, control, role="control label")
    if covariates:
        check_obs(adata, *covariates)
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    raw = adata.layers[layer] if layer is not None else adata.X
    check_counts(raw, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    keep, labels, targets, x, cov = _design(adata, groupby, control, list(covariates))
    counts = raw[keep] if sparse.issparse(raw) else np.asarray(raw)[keep]
    counts = np.asarray(counts.toarray() if sparse.issparse(counts) else counts, dtype=float)
    lib = counts.sum(1)
    y = np.log1p(counts / np.maximum(lib, 1)[:, None] * 1e4)
    gene_names = np.asarray(adata.var_names)
    if genes is not None:
        idx = adata.var_names.get_indexer(list(genes))
        if (idx < 0).any():
            raise ValueError(f"genes not in adata.var_names: {[g for g, i in zip(genes, idx, strict=True) if i < 0][:10]}")
        y, gene_names = y[:, idx], gene_names[idx]
    loglib = np.log(np.maximum(lib, 1))
    nuis = np.column_stack([np.ones(len(y)), cov, loglib - loglib.mean()])
    design = np.hstack([x, nuis])
    n_eff = x.shape[1]

    rng = np.random.default_rng(seed)
    folds = rng.integers(0, n_folds, len(y))
    # sufficient statistics per fold: every fit and held-out error works on p x p and p x genes
    stats_f = []
    for f in range(n_folds):
        d, yy = design[folds == f], y[folds == f]
        stats_f.append((d.T @ d, d.T @ yy, float((yy**2).sum())))
    g_all = sum(s[0] for s in stats_f)
    b_all = sum(s[1] for s in stats_f)
    nb = slice(n_eff, design.shape[1])  # the covariate block

    def _err(coef: np.ndarray, gram: np.ndarray, cross: np.ndarray, yy: float) -> float:
        return yy - 2 * float((coef * cross).sum()) + float((coef * (gram @ coef)).sum())

    base_err, err = 0.0, dict.fromkeys(alphas, 0.0)
    for g_te, b_te, yy_te in stats_f:
        g_tr, b_tr = g_all - g_te, b_all - b_te
        base = np.linalg.lstsq(g_tr[nb, nb], b_tr[nb], rcond=None)[0]
        base_err += _err(base, g_te[nb, nb], b_te[nb], yy_te)
        for a in alphas:
            pen = np.r_[np.full(n_eff, a), np.zeros(design.shape[1] - n_eff)]
            coef_f = np.linalg.solve(g_tr + np.diag(pen), b_tr)
            err[a] += _err(coef_f, g_te, b_te, yy_te)
    cv = {a: 1 - err[a] / base_err for a in alphas}  # R^2 gain over covariates only
    alpha = max(cv, key=cv.get)
    coef = _ridge(design, y, alpha, n_eff)[:n_eff]
    out = pd.DataFrame(coef, index=pd.Index(targets, name="target"), columns=gene_names)
    tidy = out.stack().rename("coef").reset_index().rename(columns={"level_1": "gene"})
    tidy.columns = ["target", "gene", "coef"]
    sizes = pd.Series(labels).value_counts()
    tidy["n_cells"] = tidy["target"].map(sizes).astype(int)
    tidy["rank"] = tidy.groupby("target")["coef"].transform(lambda c: c.abs().rank(ascending=False, method="first")).astype(int)
    if n_permutations > 0:
        strata = pd.Series(map(tuple, cov)).astype(str).to_numpy() if cov.shape[1] else np.zeros(len(y), dtype=str)
        exceed = np.zeros_like(coef)
        # the design is an indicator matrix: keep it sparse so each refit costs O(cells x genes)
        ny, nn = nuis.T @ y, nuis.T @ nuis
        pen = np.diag(np.r_[np.full(n_eff, alpha), np.zeros(nuis.shape[1])])
        for _ in range(n_permutations):
            perm = np.arange(len(y))
            for s in np.unique(strata):
                idx = np.flatnonzero(strata == s)
                perm[idx] = rng.permutation(idx)
            xp = sparse.csr_matrix(x[perm])
            xx = (xp.T @ xp).toarray()
            xn = np.asarray(xp.T @ nuis)
            gram = np.block([[xx, xn], [xn.T, nn]]) + pen
            cp = np.linalg.solve(gram, np.vstack([np.asarray(xp.T @ y), ny]))[:n_eff]
            exceed += np.abs(cp) >= np.abs(coef) - 1e-12
        pv = pd.DataFrame((1 + exceed) / (1 + n_permutations), index=targets, columns=gene_names)
        tidy["pvalue"] = pv.to_numpy().ravel()
    # one penalty and one held-out score per fit: columns, so they stay with the table
    tidy["alpha"] = float(alpha)
    tidy["cv_r2_gain"] = float(cv[alpha])
    return tidy
