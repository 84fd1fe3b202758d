"""Celcomen's question as a regression: is a gene regulated from inside the cell or by its
neighbours?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse
from scipy.spatial import cKDTree

from ..._validate import as_dense, check_obs
from ...pp._spatial_neighbors import check_coordinates

__all__ = ["intercellular_regression"]


def intercellular_regression(
    adata: AnnData,
    targets: Sequence[str],
    *,
    predictors: Sequence[str] | None = None,
    cell_type_key: str | None = None,
    radius: float = 30.0,
    alpha: float = 1.0,
    k_cv: int = 5,
    spatial_key: str = "spatial",
    seed: int = 0,
) -> pd.DataFrame:
    """Split each target's regulation into an intra-cellular and an inter-cellular part.

    Celcomen (Megas et al. 2024) learns, with a graph neural network, one matrix for how
    genes regulate each other *within* a cell and one for how a cell's genes regulate its
    *neighbours'*. The same question, linearly: regress each target on the cell's own
    predictors (``intra``) and on the mean of the predictors over the other cells within
    ``radius`` (``inter``), all standardised, with a ridge penalty. The coefficients say
    which predictor acts from where; cross-validated R² of the intra-only and the full
    model say how much the neighbours add. With ``cell_type_key``, one model per group (e.g.
    per receiving cell type).

    Must run first: normalisation and ``log1p`` of ``X``.

    Parameters
    ----------
    adata
        Cells with coordinates and log-normalised expression.
    targets
        Genes to explain.
    predictors
        Candidate regulators (default all genes); a target is never its own intra predictor.
    cell_type_key
        ``obs`` column; fit separately within each group.
    radius
        Neighbourhood of the inter-cellular predictors (coordinate units).
    alpha
        Ridge penalty.
    k_cv, seed
        Cross-validation folds and their seed.
    spatial_key
        Key of the coordinates in ``obsm``.

    Returns
    -------
    DataFrame
        One row per (group,) target, predictor and scope: ``group``, ``target``,
        ``predictor``, ``scope`` (``"intra"`` or ``"inter"``), ``coef`` (standardised),
        ``r2_intra``, ``r2_full``, ``gain`` (``r2_full - r2_intra``), ``n_cells``; sorted by
        ``|coef|`` within each target. ``adata`` is not modified.

    Raises
    ------
    KeyError, ValueError
        Missing coordinates, genes or ``cell_type_key``; fewer than ``2 * k_cv`` cells in a group.

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(800, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> res = pk.tl.intercellular_regression(tissue, ["CD274", "TG1a"], predictors=["CD3E", "TF1", "EPCAM"],
    ...                                      cell_type_key="cell_type")
    >>> tum = res.query("group == 'Tumor'")
    >>> tum.query("target == 'CD274'").iloc[0][["predictor", "scope"]].tolist()
    ['CD3E', 'inter']
    >>> tum.query("target == 'TG1a'").iloc[0][["predictor", "scope"]].tolist()
    ['TF1', 'intra']
    """
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_val_predict

    xy = check_coordinates(adata, spatial_key)
    predictors = list(adata.var_names) if predictors is None else list(predictors)
    missing = [g for g in [*targets, *predictors] if g not in adata.var_names]
    if missing:
        raise KeyError(f"genes not in adata.var_names: {missing[:10]}")
    if cell_type_key is not None:
        check_obs(adata, cell_type_key)
    genes = list(dict.fromkeys([*targets, *predictors]))
    x = pd.DataFrame(as_dense(adata[:, genes].X), columns=genes, index=adata.obs_names)
    # neighbour means (the cell itself excluded)
    tree = cKDTree(xy)
    pairs = tree.query_pairs(radius, output_type="ndarray")
    n = adata.n_obs
    w = sparse.coo_matrix((np.ones(2 * len(pairs)), (np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]])),
                          shape=(n, n)).tocsr()
    deg = np.asarray(w.sum(axis=1)).ravel()
    nbr = pd.DataFrame((w @ x[predictors].to_numpy()) / np.maximum(deg, 1)[:, None], columns=predictors, index=x.index)
    groups = adata.obs[cell_type_key].astype(str).to_numpy() if cell_type_key is not None else np.full(n, "all")
    rows = []
    folds = KFold(k_cv, shuffle=True, random_state=seed)
    for group in sorted(set(groups)):
        sel = groups == group
        if sel.sum() < 2 * k_cv:
            continue
        for target in targets:
            own = [p for p in predictors if p != target]
            a = x.loc[sel, own].to_numpy()
            b = nbr.loc[sel, predictors].to_numpy()
            y = x.loc[sel, target].to_numpy()
            if y.std() == 0:
                continue
            design = np.column_stack([a, b])
            sd = design.std(axis=0)
            sd[sd == 0] = 1.0
            design = (design - design.mean(axis=0)) / sd
            yz = (y - y.mean()) / y.std()
            intra = design[:, : len(own)]

            def _r2(features: np.ndarray, yz: np.ndarray = yz) -> float:
                pred = cross_val_predict(Ridge(alpha=alpha), features, yz, cv=folds)
                return float(1 - np.mean((yz - pred) ** 2) / np.var(yz))

            r2_intra, r2_full = _r2(intra), _r2(design)
            coef = Ridge(alpha=alpha).fit(design, yz).coef_
            names = [(p, "intra") for p in own] + [(p, "inter") for p in predictors]
            for (pred_name, scope), c in zip(names, coef, strict=True):
                rows.append({"group": group, "target": target, "predictor": pred_name, "scope": scope,
                             "coef": float(c), "r2_intra": r2_intra, "r2_full": r2_full,
                             "gain": r2_full - r2_intra, "n_cells": int(sel.sum())})
    if not rows:
        raise ValueError(f"no group with at least {2 * k_cv} cells and a varying target")
    out = pd.DataFrame(rows)
    out["_abs"] = out["coef"].abs()
    out = out.sort_values(["group", "target", "_abs"], ascending=[True, True, False]).drop(columns="_abs")
    return out.reset_index(drop=True)
