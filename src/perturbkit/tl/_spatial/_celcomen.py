"""Celcomen (Megas et al. 2024/25): is a gene regulated from inside the cell or by its
neighbours? The energy-based model with learnt intra- and inter-cellular gene-gene
interaction matrices (:func:`celcomen`), and the linear-regression baseline
(:func:`intercellular_regression`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse
from scipy.spatial import cKDTree

from ..._seeding import seeds_torch
from ..._tissue_energy import (
    colour_classes,
    knn_weights,
    metropolis_sweeps,
    sphere_normalise,
    sufficient_stats,
)
from ..._validate import as_dense, check_layer, check_obs
from ...pp._spatial_neighbors import check_coordinates

__all__ = ["celcomen", "intercellular_regression"]


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


def _expression_on_sphere(adata: AnnData, genes: Sequence[str] | None, layer: str | None) -> tuple[list[str], np.ndarray]:
    genes = list(adata.var_names) if genes is None else list(genes)
    missing = [g for g in genes if g not in adata.var_names]
    if missing:
        raise KeyError(f"genes not in adata.var_names: {missing[:10]}")
    if len(genes) < 2:
        raise ValueError(f"Celcomen needs at least 2 genes, got {genes}")
    x = as_dense(check_layer(adata[:, genes], layer, finite=True)).astype(float)
    if (x < 0).any():
        raise ValueError("expression must be non-negative (log-normalised counts); found negative values")
    return genes, sphere_normalise(x)


def _fit_pcd(x, w, classes, *, intercellular, n_iter, learning_rate, n_sweeps, rng):
    g = x.shape[1]
    data_intra, data_inter = sufficient_stats(x, w)
    a = np.zeros((g, g))
    b = np.zeros((g, g))
    a_mean, b_mean = np.zeros_like(a), np.zeros_like(b)
    chain = x.copy()
    # statistics are averages of products of unit vectors (~1/g each): the step scales with g
    lr = learning_rate * g
    n_avg = 0
    for it in range(n_iter):
        chain = metropolis_sweeps(chain, a, b, w, classes, rng, n_sweeps=n_sweeps)
        model_intra, model_inter = sufficient_stats(chain, w)
        a += lr * (data_intra - model_intra)
        a = (a + a.T) / 2
        if intercellular:
            b += lr * (data_inter - model_inter)
        if it >= n_iter // 2:  # Polyak averaging of the second half: less chain noise
            a_mean += a
            b_mean += b
            n_avg += 1
    a, b = a_mean / n_avg, b_mean / n_avg
    a -= np.diag(a).mean() * np.eye(g)  # on the sphere only diagonal differences matter
    return a, b


@seeds_torch
def _fit_mft(x, w, *, n_neighbors, n_iter, learning_rate, zmft_scalar, seed, intercellular):
    """Celcomen's own fit: mean-field partition function, matrices symmetrised and clipped to
    [0, 1] with unit diagonal after every SGD step (as in the authors' training loop)."""
    import torch

    g = x.shape[1]
    xt = torch.tensor(x, dtype=torch.float64)
    wx = torch.tensor(w @ x, dtype=torch.float64)  # the neighbours' messages before B

    def clip(m):
        m = (m + m.T) / 2
        m = m.clamp(0.0, 1.0)
        m.fill_diagonal_(1.0)
        return m

    a = clip(torch.rand(g, g, dtype=torch.float64) * 0.1)
    b = clip(torch.rand(g, g, dtype=torch.float64) * 0.1) if intercellular else torch.zeros(g, g, dtype=torch.float64)
    n = len(x)
    m = xt.mean(0, keepdim=True).T
    for _ in range(n_iter):
        a.requires_grad_(True)
        b.requires_grad_(intercellular)
        field = torch.linalg.norm((n_neighbors * b + 2 * a) @ m)
        z_mean = -n * (m.T @ (a + 0.5 * n_neighbors * b) @ m).squeeze()
        z_int = n * (field - torch.log(field)) if field > 20 else n * torch.log((torch.exp(field) - torch.exp(-field)) / field)
        log_lik = -(z_mean + z_int) + zmft_scalar * ((xt * (wx @ b.T)).sum() + (xt * (xt @ a.T)).sum())
        grads = torch.autograd.grad(-log_lik, [a, b] if intercellular else [a])
        with torch.no_grad():
            a = clip(a - learning_rate * grads[0])
            if intercellular:
                b = clip(b - learning_rate * grads[1])
    return a.detach().numpy(), b.detach().numpy()


def _fit(x, w, *, method, intercellular, n_iter, learning_rate, n_sweeps, n_neighbors, zmft_scalar, seed, rng):
    if method == "pcd":
        lr = 0.5 if learning_rate is None else learning_rate
        a, b = _fit_pcd(x, w, colour_classes(w), intercellular=intercellular, n_iter=n_iter,
                        learning_rate=lr, n_sweeps=n_sweeps, rng=rng)
    else:
        lr = 1e-3 if learning_rate is None else learning_rate
        a, b = _fit_mft(x, w, n_neighbors=n_neighbors, n_iter=n_iter, learning_rate=lr,
                        zmft_scalar=zmft_scalar, seed=seed, intercellular=intercellular)
    return a, b, lr


def celcomen(
    adata: AnnData,
    *,
    genes: Sequence[str] | None = None,
    layer: str | None = None,
    n_neighbors: int = 6,
    intercellular: bool = True,
    method: str = "pcd",
    n_iter: int = 200,
    learning_rate: float | None = None,
    n_sweeps: int = 2,
    zmft_scalar: float = 1.0,
    spatial_key: str = "spatial",
    seed: int = 0,
    key_added: str = "celcomen",
    copy: bool = False,
) -> AnnData | None:
    """Learn Celcomen's intra- and inter-cellular gene-gene interaction matrices.

    Celcomen (Megas et al. 2024/25) is a generative, energy-based model of a tissue: each
    cell's expression ``x_i`` (log-normalised, divided by its norm so it lies on the unit
    sphere) has log-probability, up to a constant,

    ``log p(X) = sum_i x_i' A x_i + sum_{i<j} w_ij x_i' B x_j``,

    where ``A`` (genes x genes, symmetric) is the **intra-cellular** interaction matrix: which
    genes go together inside a cell; ``B`` (symmetric) the **inter-cellular** one: gene ``a``
    in a cell with gene ``b`` in its neighbours; ``w`` the k-nearest-neighbour graph with
    graph-convolution weights ``1/sqrt(d_i d_j)``, as Celcomen's GCN layer uses. A positive
    entry means the pair is found together more than the rest of the model explains.

    The likelihood's partition function is intractable. ``method="pcd"`` (default) fits the
    model by maximum likelihood with persistent contrastive divergence: the gradient is the
    data's co-expression statistics minus the same statistics on a Markov chain sampling
    the current model (Metropolis on the sphere, cells of one graph-colour class updated
    together). ``method="mft"`` is the authors' fit: the mean-field approximation of the
    partition function, SGD, matrices symmetrised and clipped to ``[0, 1]`` with unit
    diagonal after each step; on a simulation with planted matrices it recovers ``A`` but
    not ``B`` (see the spatial chapter), which is why it is not the default.
    ``intercellular=False`` fits the intra-only model (``B = 0``), the baseline.

    Must run first: normalisation and ``log1p`` (non-negative expression).

    Parameters
    ----------
    adata
        Cells with coordinates in ``obsm[spatial_key]``.
    genes
        Genes of the model (default all); each cell must express at least one of them.
    layer
        Expression layer (default ``X``).
    n_neighbors
        Neighbours per cell of the spatial graph (before symmetrising).
    intercellular
        Learn ``B``; ``False`` fits the intra-only baseline.
    method
        ``"pcd"`` (maximum likelihood, persistent contrastive divergence) or ``"mft"``
        (Celcomen's mean-field fit).
    n_iter
        Gradient steps.
    learning_rate
        Step size; default 0.5 for ``"pcd"`` (times the number of genes), 1e-3 for ``"mft"``.
    n_sweeps
        Metropolis sweeps of the persistent chain per step (``"pcd"``).
    zmft_scalar
        Weight of the data term against the mean-field partition function (``"mft"``).
    spatial_key
        Key of the coordinates in ``obsm``.
    seed
        Seeds the chain (``"pcd"``) or the initial matrices (``"mft"``).
    key_added
        Key in ``uns``.
    copy
        Return a modified copy instead of writing into ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``uns[key_added]``: ``intra`` and ``inter`` (DataFrames, genes x genes,
        float; ``A``'s diagonal is centred, as only its differences are identifiable on the
        sphere) and ``params``. Returns the copy with ``copy=True``, else ``None``.

    Raises
    ------
    KeyError, ValueError
        Missing coordinates, genes or layer; NaN/inf or negative expression; a cell with
        zero expression over ``genes``; unknown ``method``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_coupled_tissue(16, n_sweeps=60, seed=0)
    >>> pk.tl.celcomen(tissue, n_neighbors=4, n_iter=80, seed=0)
    >>> inter = tissue.uns["celcomen"]["inter"]
    >>> bool(inter.loc["LIGAND", "RESPONSE"] > inter.loc["TF", "TARGET"])
    True
    """
    if method not in ("pcd", "mft"):
        raise ValueError(f"method must be 'pcd' or 'mft', got {method!r}")
    if n_iter < 2:
        raise ValueError(f"n_iter must be at least 2, got {n_iter}")
    xy = check_coordinates(adata, spatial_key)
    genes, x = _expression_on_sphere(adata, genes, layer)
    w = knn_weights(xy, n_neighbors)
    rng = np.random.default_rng(seed)
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    # many tiny matrix products: BLAS threads only add contention (seconds per call on a busy machine)
    with threadpool_limits(1):
        a, b, lr = _fit(x, w, method=method, intercellular=intercellular, n_iter=n_iter, learning_rate=learning_rate,
                        n_sweeps=n_sweeps, n_neighbors=n_neighbors, zmft_scalar=zmft_scalar, seed=seed, rng=rng)
    out = adata.copy() if copy else adata
    out.uns[key_added] = {
        "intra": pd.DataFrame(a, index=genes, columns=genes),
        "inter": pd.DataFrame(b, index=genes, columns=genes),
        "params": {"genes": genes, "n_neighbors": n_neighbors, "intercellular": intercellular, "method": method,
                   "n_iter": n_iter, "learning_rate": lr, "n_sweeps": n_sweeps, "spatial_key": spatial_key,
                   "layer": layer, "seed": seed},
    }
    return out if copy else None
