"""Augur: rank cell types by how well a classifier separates perturbed from control cells."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from .._validate import as_dense, check_finite
from ._contrasts import contrasts

__all__ = ["augur"]


def _auc_once(
    x: np.ndarray, y: np.ndarray, *, n_folds: int, n_trees: int, var_quantile: float,
    feature_fraction: float, rng: np.random.Generator,
) -> float:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    var = x.var(0)
    keep = np.flatnonzero(var > 0)
    keep = keep[var[keep] >= np.quantile(var[keep], var_quantile)]
    n_feat = max(2, int(round(feature_fraction * len(keep))))
    feats = rng.choice(keep, size=min(n_feat, len(keep)), replace=False)
    xs = x[:, np.sort(feats)]
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=int(rng.integers(2**31)))
    scores = np.empty(len(y))
    for train, test in folds.split(xs, y):
        rf = RandomForestClassifier(n_estimators=n_trees, random_state=int(rng.integers(2**31)), n_jobs=1)
        rf.fit(xs[train], y[train])
        scores[test] = rf.predict_proba(xs[test])[:, 1]
    # pooled out-of-fold predictions: one AUC over all cells of the draw
    return float(roc_auc_score(y, scores))


def augur(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    split_by: str = "cell_type",
    perturbations: Sequence[str] | None = None,
    layer: str | None = None,
    subsample_size: int | None = 20,
    n_subsamples: int = 20,
    n_folds: int = 3,
    n_trees: int = 100,
    var_quantile: float = 0.5,
    feature_fraction: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """Cell-type prioritisation by cross-validated random-forest AUC (Augur-style).

    For each cell type, ``n_subsamples`` times: draw ``subsample_size`` perturbed and as many
    control cells, keep the genes above the ``var_quantile`` quantile of variance and a
    random ``feature_fraction`` of them, and train a random forest to tell perturbed from
    control cells with ``n_folds``-fold cross-validation. The mean area under the ROC curve
    (AUC) ranks cell types: 0.5 is no separable response, 1 is a perfectly separable one.
    Drawing the same number of cells everywhere is what makes AUCs comparable across cell
    types of different abundance.

    Parameters
    ----------
    adata
        Log-normalised cells (``X`` or ``layers[layer]``).
    groupby, control, split_by, perturbations
        Perturbation column, control label, cell-type column, labels to test.
    layer
        Use this layer instead of ``X``.
    subsample_size
        Cells drawn per condition in each subsample; ``None`` uses all cells of both
        conditions in one draw per subsample (the cell-number-biased variant).
    n_subsamples
        Subsamples averaged per cell type.
    n_folds, n_trees
        Cross-validation folds; trees per forest.
    var_quantile, feature_fraction
        Feature selection (variance quantile kept, then a random fraction of those).
    seed
        Random seed (subsamples, features, folds, forests).

    Returns
    -------
    DataFrame
        One row per (cell type, perturbation): ``split_by``, ``perturbation``, ``auc``
        (mean over subsamples), ``auc_sd``, ``n_control``, ``n_perturbed`` (cells
        available), ``cells_per_draw`` (per condition). ``adata`` is not modified.

    Raises
    ------
    ValueError
        ``subsample_size`` larger than the smaller condition of some cell type (naming it),
        or the errors of the design checks (missing control, NaN, ...).

    References
    ----------
    Skinnider MA et al. (2021) Cell type prioritization in single-cell data. Nat Biotechnol
    39:30-34.

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cells=30, seed=0)
    >>> sc.pp.normalize_total(adata); sc.pp.log1p(adata)
    >>> res = pk.tl.augur(adata, n_subsamples=3, n_trees=30)
    >>> res.sort_values("auc", ascending=False)["cell_type"].tolist()
    ['type0', 'type1', 'type2']
    """
    if n_subsamples < 1 or n_folds < 2 or n_trees < 1:
        raise ValueError("n_subsamples >= 1, n_folds >= 2 and n_trees >= 1 are required")
    if not (0 <= var_quantile < 1 and 0 < feature_fraction <= 1):
        raise ValueError("var_quantile must be in [0, 1) and feature_fraction in (0, 1]")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    x_all = as_dense(adata.X if layer is None else adata.layers[layer])
    check_finite(x_all, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    rng = np.random.default_rng(seed)
    rows = []
    for c in contrasts(adata, groupby=groupby, control=control, split_by=split_by,
                       perturbations=perturbations, min_cells=n_folds):
        n_c, n_p = len(c.control_idx), len(c.perturbed_idx)
        if subsample_size is not None and subsample_size > min(n_c, n_p):
            raise ValueError(
                f"subsample_size={subsample_size} but {split_by}={c.split!r} has {n_c} control and "
                f"{n_p} {c.perturbation!r} cells; lower subsample_size"
            )
        aucs = []
        for _ in range(n_subsamples):
            if subsample_size is None:
                ic, ip = c.control_idx, c.perturbed_idx
            else:
                ic = rng.choice(c.control_idx, size=subsample_size, replace=False)
                ip = rng.choice(c.perturbed_idx, size=subsample_size, replace=False)
            idx = np.concatenate([ic, ip])
            y = np.r_[np.zeros(len(ic)), np.ones(len(ip))]
            aucs.append(_auc_once(x_all[idx], y, n_folds=n_folds, n_trees=n_trees,
                                  var_quantile=var_quantile, feature_fraction=feature_fraction, rng=rng))
        rows.append({
            split_by: c.split,
            "perturbation": c.perturbation,
            "auc": float(np.mean(aucs)),
            "auc_sd": float(np.std(aucs, ddof=1)) if len(aucs) > 1 else np.nan,
            "n_control": n_c,
            "n_perturbed": n_p,
            "cells_per_draw": subsample_size if subsample_size is not None else min(n_c, n_p),
        })
    return pd.DataFrame(rows)
