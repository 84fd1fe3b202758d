"""Predict responses to perturbations never seen in training, from their features."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import as_dense, check_finite, check_group, check_obs

__all__ = ["unseen_response_benchmark"]

UNSEEN_METHODS = ("mean_response", "nearest_seen", "ridge", "kernel_ridge")


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def unseen_response_benchmark(
    adata: AnnData,
    features: pd.DataFrame,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    test_fraction: float = 0.25,
    methods: Sequence[str] = UNSEEN_METHODS,
    n_top: int = 20,
    alpha: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Hold out a fraction of perturbations and predict their mean response from features.

    The response of perturbation ``p`` is its mean change from control, ``delta_p``
    (mean of ``X`` over ``p``'s cells minus the control mean; ``X`` log-normalised).
    Training perturbations supply pairs (features, ``delta``); held-out ones are predicted:

    ``mean_response``
        The average training response (baseline: ignores the features).
    ``nearest_seen``
        The response of the training perturbation with the closest (standardised)
        features (baseline).
    ``ridge``
        Linear ridge regression from features to every gene's change.
    ``kernel_ridge``
        Kernel ridge regression with an RBF kernel (bandwidth: median feature distance):
        a non-linear map from the perturbation's description to its response, the idea of
        PerturbNet and cycleCDR without their deep generative machinery.

    Parameters
    ----------
    adata
        Log-normalised cells with ``obs[groupby]``.
    features
        DataFrame indexed by perturbation label (every non-control label), numeric columns.
    groupby, control
        Perturbation column and control label.
    test_fraction
        Fraction of perturbations held out (at least one; seeded draw).
    methods
        Any of ``"mean_response"``, ``"nearest_seen"``, ``"ridge"``, ``"kernel_ridge"``.
    n_top
        Genes with the largest observed change of each held-out perturbation, for ``r2_top``.
    alpha
        Regularisation of both ridge models.
    seed
        Seed of the train/test draw and of the half split for the noise ceiling.

    Returns
    -------
    DataFrame
        One row per (held-out perturbation, method), plus ``method == "noise_ceiling"``
        (one half of the perturbation's cells predicting the other): ``perturbation``,
        ``method``, ``pearson_delta`` (predicted vs observed change over genes), ``r2_top``
        (squared Pearson over its ``n_top`` most changed genes, chosen on the first half),
        ``mse`` (mean squared error of the change). Predictions are scored against the
        second half of the held-out cells.

    References
    ----------
    Yu H, Welch JD (2022) PerturbNet predicts single-cell responses to unseen chemical and
    genetic perturbations. bioRxiv 2022.07.20.500854.

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> lib = pk.data.simulate_perturbation_library(n_perturbations=30, seed=0)
    >>> sc.pp.normalize_total(lib); sc.pp.log1p(lib)
    >>> res = pk.tl.unseen_response_benchmark(lib, lib.uns["features"], seed=0)
    >>> means = res.groupby("method")["pearson_delta"].mean()
    >>> bool(means["kernel_ridge"] > means["mean_response"])
    True
    """
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import Ridge

    bad = sorted(set(methods) - set(UNSEEN_METHODS))
    if bad:
        raise ValueError(f"unknown methods {bad}; choose from {list(UNSEEN_METHODS)}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    check_obs(adata, groupby)
    check_group(adata, groupby, control, role="control label")
    labels = adata.obs[groupby].astype(str).to_numpy()
    perts = [p for p in pd.unique(labels) if p != str(control)]
    if len(perts) < 3:
        raise ValueError(f"need >= 3 perturbations to hold some out, got {len(perts)}")
    if not isinstance(features, pd.DataFrame):
        raise TypeError("features must be a DataFrame indexed by perturbation label")
    missing = [p for p in perts if p not in features.index]
    if missing:
        raise KeyError(f"features has no row for perturbations {missing[:5]}")
    f = check_finite(features.loc[perts].to_numpy(dtype=float), name="features")
    f = (f - f.mean(0)) / np.where(f.std(0) > 0, f.std(0), 1.0)
    x = check_finite(as_dense(adata.X), name="adata.X")
    rng = np.random.default_rng(seed)
    ctrl_mean = x[labels == str(control)].mean(0)
    deltas = np.vstack([x[labels == p].mean(0) - ctrl_mean for p in perts])
    n_test = max(1, int(round(test_fraction * len(perts))))
    order = rng.permutation(len(perts))
    test, train = order[:n_test], order[n_test:]
    if len(train) < 2:
        raise ValueError("fewer than 2 training perturbations; lower test_fraction")
    preds: dict[str, np.ndarray] = {}
    if "mean_response" in methods:
        preds["mean_response"] = np.tile(deltas[train].mean(0), (n_test, 1))
    if "nearest_seen" in methods:
        d = ((f[test][:, None, :] - f[train][None, :, :]) ** 2).sum(-1)
        preds["nearest_seen"] = deltas[train][d.argmin(1)]
    if "ridge" in methods:
        preds["ridge"] = Ridge(alpha=alpha).fit(f[train], deltas[train]).predict(f[test])
    if "kernel_ridge" in methods:
        dist = np.sqrt(((f[train][:, None] - f[train][None]) ** 2).sum(-1))
        gamma = 1.0 / (2 * np.median(dist[dist > 0]) ** 2)
        kr = KernelRidge(alpha=alpha * 0.1, kernel="rbf", gamma=gamma)
        mu = deltas[train].mean(0)
        preds["kernel_ridge"] = kr.fit(f[train], deltas[train] - mu).predict(f[test]) + mu
    rows = []
    for i, t in enumerate(test):
        cells = np.flatnonzero(labels == perts[t])
        cells = cells[rng.permutation(len(cells))]
        half_a, half_b = cells[: len(cells) // 2], cells[len(cells) // 2:]
        obs_a = x[half_a].mean(0) - ctrl_mean
        obs_b = x[half_b].mean(0) - ctrl_mean
        top = np.argsort(-np.abs(obs_a))[:n_top]
        for m, pred in [("noise_ceiling", obs_a)] + [(m, preds[m][i]) for m in methods]:
            rows.append({
                "perturbation": perts[t], "method": m,
                "pearson_delta": _pearson(pred, obs_b),
                "r2_top": _pearson(pred[top], obs_b[top]) ** 2,
                "mse": float(np.mean((pred - obs_b) ** 2)),
            })
    return pd.DataFrame(rows)
