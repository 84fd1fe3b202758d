"""Celcomen's energy on a spatial graph, shared by the fit (``pk.tl.celcomen``), the
counterfactual (``pk.tl.simcomen``) and the simulator with planted matrices
(``pk.data.simulate_coupled_tissue``).

Each cell's expression is a point on the positive part of the unit sphere (the cell's
vector of log-normalised expression divided by its norm, as Celcomen normalises it). The
log-probability of a tissue, up to its partition function, is

    log p(X) = sum_i x_i' A x_i  +  sum_{i<j} w_ij x_i' B x_j

with ``A`` the intra-cellular and ``B`` the inter-cellular gene-gene interaction matrix
(both symmetric) and ``w`` the spatial graph with Celcomen's graph-convolution weights
``1 / sqrt(d_i d_j)`` (a k-nearest-neighbour graph, symmetrised).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

__all__ = ["colour_classes", "knn_weights", "metropolis_sweeps", "sphere_normalise", "sufficient_stats"]


def knn_weights(xy: np.ndarray, n_neighbors: int) -> sparse.csr_matrix:
    """Symmetrised k-nearest-neighbour graph with weights ``1 / sqrt(d_i d_j)`` (GCN's)."""
    n = len(xy)
    if n <= n_neighbors:
        raise ValueError(f"n_neighbors={n_neighbors} needs more than {n_neighbors} cells, got {n}")
    _, idx = cKDTree(xy).query(xy, k=n_neighbors + 1)
    rows = np.repeat(np.arange(n), n_neighbors)
    cols = idx[:, 1:].ravel()
    adj = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(float)
    deg = np.asarray(adj.sum(axis=1)).ravel()
    scale = sparse.diags(1.0 / np.sqrt(deg))
    return (scale @ adj @ scale).tocsr()


def sphere_normalise(x: np.ndarray) -> np.ndarray:
    """Rows divided by their Euclidean norm; a row of zeros is an error (it has no direction)."""
    norm = np.linalg.norm(x, axis=1)
    if (norm == 0).any():
        raise ValueError(f"{int((norm == 0).sum())} cells have zero expression over the genes used; "
                         "drop them or choose other genes")
    return x / norm[:, None]


def colour_classes(w: sparse.csr_matrix) -> list[np.ndarray]:
    """Greedy graph colouring: cells of one class share no edge, so they can be updated together."""
    n = w.shape[0]
    colour = np.full(n, -1)
    indptr, indices = w.indptr, w.indices
    for i in np.argsort(-np.diff(indptr), kind="stable"):
        used = set(colour[indices[indptr[i]:indptr[i + 1]]].tolist())
        c = 0
        while c in used:
            c += 1
        colour[i] = c
    return [np.flatnonzero(colour == c) for c in range(colour.max() + 1)]


def _cell_logp(x: np.ndarray, field: np.ndarray, a: np.ndarray) -> np.ndarray:
    return ((x @ a + field) * x).sum(axis=1)


def metropolis_sweeps(
    x: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    w: sparse.csr_matrix,
    classes: list[np.ndarray],
    rng: np.random.Generator,
    *,
    n_sweeps: int = 1,
    step: float = 0.3,
    clamp: np.ndarray | None = None,
) -> np.ndarray:
    """Metropolis updates of every cell on the positive unit sphere, one colour class at a time.

    Proposals are ``|x + N(0, step^2)|`` renormalised (symmetric), so the chain samples exactly
    from the energy above. ``clamp`` (cells x genes, boolean) holds entries at zero: a knockout.
    """
    x = x.copy()
    g = x.shape[1]
    rows = [w[cells] for cells in classes]
    for _ in range(n_sweeps):
        for cells, w_rows in zip(classes, rows, strict=True):
            field = (w_rows @ x) @ b
            cur = x[cells]
            prop = np.abs(cur + rng.normal(scale=step, size=cur.shape))
            if clamp is not None:
                prop[clamp[cells]] = 0.0
            prop /= np.maximum(np.linalg.norm(prop, axis=1, keepdims=True), 1e-12)
            gain = _cell_logp(prop, field, a) - _cell_logp(cur, field, a)
            accept = np.log(rng.random(len(cells))) < gain
            cur[accept] = prop[accept]
            x[cells] = cur
    assert x.shape[1] == g
    return x


def sufficient_stats(x: np.ndarray, w: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell averages of the statistics the energy is linear in: ``x x'`` and ``x (w x)'``."""
    n = len(x)
    intra = x.T @ x / n
    inter = x.T @ (w @ x) / n
    return intra, (inter + inter.T) / 2
