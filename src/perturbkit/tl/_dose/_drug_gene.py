"""Drug-gene associations across cell lines, as GDSC's ANOVA (Iorio et al. 2016; gdsctools):
for each drug and genomic feature, does the feature explain IC50 beyond tissue and MSI?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ...metrics import bh_adjust

__all__ = ["drug_gene_anova"]


def _basis(covariates: pd.DataFrame) -> np.ndarray:
    """Orthonormal basis of the intercept plus dummy-coded covariates."""
    parts = [np.ones((len(covariates), 1))]
    for col in covariates.columns:
        v = covariates[col]
        if v.dtype.kind in "biuf" and v.nunique() <= 2:
            parts.append(v.to_numpy(dtype=float)[:, None])
        else:
            parts.append(pd.get_dummies(v.astype(str), drop_first=True).to_numpy(dtype=float))
    z = np.hstack(parts)
    q, r = np.linalg.qr(z)
    keep = np.abs(np.diag(r)) > 1e-8 * np.abs(r).max()
    return q[:, keep]


def drug_gene_anova(
    ic50: pd.DataFrame,
    features: pd.DataFrame,
    *,
    covariates: Sequence[str] = ("TISSUE_FACTOR", "MSI_FACTOR"),
    feature_columns: Sequence[str] | None = None,
    min_mutants: int = 3,
    min_cells: int = 10,
) -> pd.DataFrame:
    """Test every drug x binary feature pair with a linear model, as GDSC's ANOVA does.

    Model per drug: ``IC50 ~ covariates + feature`` over the cell lines with an IC50; the
    feature's F test compares it with ``IC50 ~ covariates`` (feature entered last, type I)
    {cite}`iorio2016landscape`. Effect: difference of mean IC50 (feature present - absent;
    negative = cell lines with the feature are more **sensitive**) and Cohen's d.

    Parameters
    ----------
    ic50
        Cell lines x drugs (e.g. natural-log IC50 in uM; NaN = not screened), indexed by a
        cell-line id shared with ``features``.
    features
        Cell lines x columns: the ``covariates`` and 0/1 genomic features.
    covariates
        Columns of ``features`` adjusted for (tissue as a factor, MSI status); missing ones
        are skipped.
    feature_columns
        Binary features to test (default: every 0/1 column that is not a covariate).
    min_mutants
        Minimum cell lines with (and without) the feature among those screened.
    min_cells
        Minimum screened cell lines per drug.

    Returns
    -------
    pandas.DataFrame
        One row per tested pair, most significant first: ``drug``, ``feature``, ``n_pos``,
        ``n_neg`` (int), ``mean_pos``, ``mean_neg``, ``delta`` (mean_pos - mean_neg),
        ``cohens_d``, ``f_stat``, ``pvalue``, ``padj`` (BH over all pairs).

    Raises
    ------
    ValueError
        No shared cell lines, a non-binary feature column requested, too few cells.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_drug_response(seed=0)
    >>> res = pk.tl.drug_gene_anova(sim["ic50"], sim["features"])
    >>> top = res.iloc[0]
    >>> (top["drug"], top["feature"]) in set(zip(sim["truth"]["drug"], sim["truth"]["feature"]))
    True
    """
    if not isinstance(ic50, pd.DataFrame) or not isinstance(features, pd.DataFrame):
        raise TypeError("ic50 and features must be DataFrames indexed by cell line")
    shared = ic50.index.intersection(features.index)
    if len(shared) < min_cells:
        raise ValueError(f"only {len(shared)} cell lines are in both ic50 and features (need {min_cells})")
    feats = features.loc[shared]
    y_all = ic50.loc[shared].apply(pd.to_numeric, errors="coerce")
    covs = [c for c in covariates if c in feats.columns]
    if feature_columns is None:
        cand = [c for c in feats.columns if c not in covs]
        feature_columns = [c for c in cand if set(pd.unique(feats[c].dropna())) <= {0, 1}]
    else:
        missing = [c for c in feature_columns if c not in feats.columns]
        if missing:
            raise KeyError(f"feature column(s) {missing[:5]} not in features")
        bad = [c for c in feature_columns if not set(pd.unique(feats[c].dropna())) <= {0, 1}]
        if bad:
            raise ValueError(f"feature column(s) {bad[:5]} are not 0/1")
    if not feature_columns:
        raise ValueError("no binary feature columns to test")
    x_all = feats[list(feature_columns)].to_numpy(dtype=float)
    if np.isnan(x_all).any():
        raise ValueError("binary features contain NaN; fill or drop them first")
    from threadpoolctl import threadpool_limits

    rows = []
    # many small matrix products: BLAS threads cost more than they gain on a shared machine
    with threadpool_limits(limits=1):
        rows = _anova_rows(y_all, feats, covs, list(feature_columns), x_all, min_mutants, min_cells)
    if not rows:
        raise ValueError("no drug-feature pair has enough screened cell lines with and without the feature")
    out = pd.concat(rows, ignore_index=True).dropna(subset=["pvalue"])
    out["padj"] = bh_adjust(out["pvalue"].to_numpy())
    return out.sort_values(["pvalue", "delta"], kind="mergesort").reset_index(drop=True)


def _anova_rows(y_all, feats, covs, feature_columns, x_all, min_mutants, min_cells) -> list[pd.DataFrame]:
    rows = []
    for drug in y_all.columns:
        y = y_all[drug].to_numpy()
        ok = np.isfinite(y)
        if ok.sum() < min_cells:
            continue
        yv, xv = y[ok], x_all[ok]
        n_pos = xv.sum(axis=0)
        n_neg = ok.sum() - n_pos
        test = (n_pos >= min_mutants) & (n_neg >= min_mutants)
        if not test.any():
            continue
        xv = xv[:, test]
        q = _basis(feats.loc[ok, covs]) if covs else np.ones((ok.sum(), 1)) / np.sqrt(ok.sum())
        e = yv - q @ (q.T @ yv)
        f = xv - q @ (q.T @ xv)
        ff = (f * f).sum(axis=0)
        valid = ff > 1e-10  # a feature fully explained by tissue carries no extra information
        ss = np.where(valid, (f.T @ e) ** 2 / np.where(valid, ff, 1.0), 0.0)
        df = ok.sum() - q.shape[1] - 1
        rss = float(e @ e) - ss
        fstat = np.where(valid & (rss > 0), ss / (rss / df), np.nan)
        pval = stats.f.sf(fstat, 1, df)
        pos_mean = (xv * yv[:, None]).sum(axis=0) / n_pos[test]
        neg_mean = ((1 - xv) * yv[:, None]).sum(axis=0) / n_neg[test]
        var_pos = ((xv * (yv[:, None] - pos_mean) ** 2).sum(axis=0)) / np.maximum(n_pos[test] - 1, 1)
        var_neg = (((1 - xv) * (yv[:, None] - neg_mean) ** 2).sum(axis=0)) / np.maximum(n_neg[test] - 1, 1)
        pooled = np.sqrt(((n_pos[test] - 1) * var_pos + (n_neg[test] - 1) * var_neg) / (ok.sum() - 2))
        names = np.asarray(feature_columns)[test]
        rows.append(pd.DataFrame({
            "drug": drug, "feature": names, "n_pos": n_pos[test].astype(np.int64),
            "n_neg": n_neg[test].astype(np.int64), "mean_pos": pos_mean, "mean_neg": neg_mean,
            "delta": pos_mean - neg_mean, "cohens_d": (pos_mean - neg_mean) / pooled,
            "f_stat": fstat, "pvalue": pval,
        }))
    return rows
