"""Predicting drug response from pharmacogenomic screens, every model beside its baselines.

* :func:`ic50_matrix_factorisation`: CaDRReS-style latent factors for cell lines and drugs,
  scored on held-out entries of an IC50 matrix against row, column and additive means.
* :func:`genotype_response`: a response model from cell-line mutation features (a small
  neural network, standing in for DrugCell's ontology-wired one) against a mean, a ridge
  regression and a random forest, by cross-validation.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["genotype_response", "ic50_matrix_factorisation"]


def _additive(y: np.ndarray, mask: np.ndarray, l2: float, n_iter: int = 20):
    """Grand mean + row effect + column effect fitted on observed entries (ridge-shrunk)."""
    mu = y[mask].mean()
    r = np.zeros(y.shape[0])
    c = np.zeros(y.shape[1])
    for _ in range(n_iter):
        resid = np.where(mask, y - mu - c[None, :], 0.0)
        r = resid.sum(1) / (mask.sum(1) + l2)
        resid = np.where(mask, y - mu - r[:, None], 0.0)
        c = resid.sum(0) / (mask.sum(0) + l2)
    return mu, r, c


def ic50_matrix_factorisation(
    ic50: pd.DataFrame,
    *,
    rank: int = 10,
    l2: float = 5.0,
    n_iter: int = 15,
    holdout: float = 0.1,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out a random tenth of the measured IC50s, learn latent factors on the rest, and
    score predictions of the held-out entries against simple baselines.

    The model is ``y_ij = mu + r_i + c_j + u_i . v_j``: an additive part (cell line
    sensitivity ``r_i``, drug potency ``c_j``) plus ``rank`` latent factors fitted by
    alternating ridge regressions, in the spirit of CaDRReS's cell line x drug latent space.

    Parameters
    ----------
    ic50
        Cell lines x drugs, NaN where untested (e.g. GDSC ln IC50s).
    rank, l2, n_iter
        Latent dimension, ridge penalty, alternating rounds.
    holdout
        Fraction of measured entries held out for scoring.
    seed
        Random seed (held-out split and initial factors).

    Returns
    -------
    scores, predictions
        ``scores``: one row per method (``row_mean`` = the cell line's mean, ``column_mean``
        = the drug's mean, ``additive``, ``matrix_factorisation``) with ``rmse``,
        ``pearson`` (over held-out entries) and ``per_drug_pearson`` (median over drugs with
        at least 10 held-out entries, which removes the easy between-drug part).
        ``predictions``: held-out entries with ``cell_line``, ``drug``, ``observed`` and one
        column per method.

    Examples
    --------
    >>> import numpy as np, pandas as pd, perturbkit as pk
    >>> rng = np.random.default_rng(0)
    >>> m = pd.DataFrame(rng.normal(size=(60, 3)) @ rng.normal(size=(3, 40)) + rng.normal(0, .1, (60, 40)))
    >>> scores, _ = pk.tl.ic50_matrix_factorisation(m, rank=3)
    >>> bool(scores.loc["matrix_factorisation", "rmse"] < scores.loc["additive", "rmse"])
    True
    """
    y = ic50.to_numpy(float)
    measured = np.isfinite(y)
    if measured.sum() < 50:
        raise ValueError(f"ic50 has only {int(measured.sum())} measured entries")
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be in (0, 1), got {holdout}")
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(measured)
    test = rng.random(rows.size) < holdout
    train = measured.copy()
    train[rows[test], cols[test]] = False
    mu, r, c = _additive(y, train, l2)
    base = mu + r[:, None] + c[None, :]
    resid = np.where(train, y - base, 0.0)
    u = rng.normal(0, 0.1, (y.shape[0], rank))
    v = rng.normal(0, 0.1, (y.shape[1], rank))
    eye = l2 * np.eye(rank)
    for _ in range(n_iter):
        for i in range(y.shape[0]):
            o = train[i]
            u[i] = np.linalg.solve(v[o].T @ v[o] + eye, v[o].T @ resid[i, o])
        for j in range(y.shape[1]):
            o = train[:, j]
            v[j] = np.linalg.solve(u[o].T @ u[o] + eye, u[o].T @ resid[o, j])
    pred = base + u @ v.T
    row_mean = np.array([y[i, train[i]].mean() if train[i].any() else mu for i in range(y.shape[0])])
    col_mean = np.array([y[train[:, j], j].mean() if train[:, j].any() else mu for j in range(y.shape[1])])
    ri, ci = rows[test], cols[test]
    table = pd.DataFrame({
        "cell_line": ic50.index.to_numpy()[ri],
        "drug": ic50.columns.to_numpy()[ci],
        "observed": y[ri, ci],
        "row_mean": row_mean[ri],
        "column_mean": col_mean[ci],
        "additive": base[ri, ci],
        "matrix_factorisation": pred[ri, ci],
    })
    out = []
    for method in ("row_mean", "column_mean", "additive", "matrix_factorisation"):
        err = table[method] - table["observed"]
        per_drug = [
            np.corrcoef(g[method], g["observed"])[0, 1]
            for _, g in table.groupby("drug")
            if len(g) >= 10 and g[method].std() > 0
        ]
        out.append({
            "method": method,
            "rmse": float(np.sqrt(np.mean(err**2))),
            "pearson": float(np.corrcoef(table[method], table["observed"])[0, 1]) if table[method].std() > 0 else np.nan,
            "per_drug_pearson": float(np.median(per_drug)) if per_drug else np.nan,
        })
    return pd.DataFrame(out).set_index("method"), table


def genotype_response(
    ic50: pd.DataFrame,
    features: pd.DataFrame,
    *,
    drugs: Sequence | None = None,
    models: Sequence[str] = ("mean", "ridge", "random_forest", "neural_net"),
    n_splits: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Cross-validated prediction of each drug's IC50 from cell-line genotype features.

    Parameters
    ----------
    ic50
        Cell lines x drugs (index shared with ``features``).
    features
        Cell lines x binary features (mutations, copy number, MSI; non-numeric columns such
        as tissue are one-hot encoded).
    drugs
        Columns of ``ic50`` to model (default: all with at least 100 measured lines).
    models
        ``"mean"`` (training mean: the baseline), ``"ridge"``, ``"random_forest"``,
        ``"neural_net"`` (two hidden layers; a plain stand-in for DrugCell's network, whose
        hidden units are wired along the Gene Ontology).
    n_splits, seed
        K-fold cross-validation.

    Returns
    -------
    DataFrame
        One row per (drug, model): ``pearson`` and ``rmse`` of out-of-fold predictions,
        ``n`` cell lines.

    Examples
    --------
    >>> import numpy as np, pandas as pd, perturbkit as pk
    >>> rng = np.random.default_rng(0)
    >>> x = pd.DataFrame((rng.random((120, 5)) < 0.3).astype(int), columns=list("abcde"))
    >>> y = pd.DataFrame({"d1": 2.0 * x["a"] + rng.normal(0, 0.3, 120)})
    >>> res = pk.tl.genotype_response(y, x, drugs=["d1"], models=("mean", "ridge"))
    >>> bool(res.set_index("model").loc["ridge", "pearson"] > 0.8)
    True
    """
    known = {"mean", "ridge", "random_forest", "neural_net"}
    unknown = set(models) - known
    if unknown:
        raise ValueError(f"unknown models {sorted(unknown)}; known: {sorted(known)}")
    shared = ic50.index.intersection(features.index)
    if len(shared) < 20:
        raise ValueError(f"only {len(shared)} cell lines shared by ic50 and features")
    x_df = pd.get_dummies(features.loc[shared], dtype=float).fillna(0.0)
    # features present in fewer than 1% of the lines carry no learnable signal here
    freq = x_df.mean()
    x_all = x_df.loc[:, (freq >= 0.01) & (freq <= 0.99)].to_numpy(float)
    if drugs is None:
        drugs = [d for d in ic50.columns if ic50.loc[shared, d].notna().sum() >= 100]
    rows = []
    from threadpoolctl import threadpool_limits

    # small dense problems: one BLAS thread avoids oversubscribing a shared machine
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP convergence warnings at the iteration cap
        rows = _cv_rows(ic50, shared, x_all, drugs, models, n_splits, seed)
    return pd.DataFrame(rows)


def _cv_rows(ic50, shared, x_all, drugs, models, n_splits, seed) -> list[dict]:
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold
    from sklearn.neural_network import MLPRegressor

    rows = []
    for drug in drugs:
        yv = ic50.loc[shared, drug].to_numpy(float)
        ok = np.isfinite(yv)
        x, y = x_all[ok], yv[ok]
        preds = {m: np.full(y.size, np.nan) for m in models}
        for train, test in KFold(n_splits, shuffle=True, random_state=seed).split(x):
            for m in models:
                if m == "mean":
                    preds[m][test] = y[train].mean()
                    continue
                est = {
                    "ridge": lambda: RidgeCV(alphas=np.logspace(0, 3, 4)),
                    "random_forest": lambda: RandomForestRegressor(n_estimators=60, min_samples_leaf=5,
                                                                   max_features=0.3, n_jobs=1, random_state=seed),
                    "neural_net": lambda: MLPRegressor(hidden_layer_sizes=(32, 8), alpha=1.0, max_iter=60,
                                                       batch_size=64, early_stopping=True, n_iter_no_change=5,
                                                       random_state=seed),
                }[m]()
                preds[m][test] = est.fit(x[train], y[train]).predict(x[test])
        for m in models:
            p = preds[m]
            rows.append({
                "drug": drug, "model": m, "n": int(y.size),
                "pearson": float(np.corrcoef(p, y)[0, 1]) if np.std(p) > 0 else 0.0,
                "rmse": float(np.sqrt(np.mean((p - y) ** 2))),
            })
    return rows
