"""Mixscape's perturbation signature (control-neighbour subtraction) in passes over blocks of cells.

The in-memory routine (``perturbkit.tl._screens._mixscape.perturbation_signature``) holds the
log-normalised matrix, standardises it, embeds it with PCA through the genes x genes
covariance and subtracts from each cell the mean of its nearest control cells. Here the same
numbers come from two passes over the counts (gene sums and the genes x genes scatter;
the embedding), neighbours found in the small cells x PCs embedding, and one gathering pass
that keeps only the control cells some cell uses as a neighbour. The signature itself is
never held: with a lazy input it is returned as a dask array computed block by block; a
backed or large in-memory input gives a float32 array filled block by block.

Memory: O(genes^2 + cells x (PCs + neighbours) + non-zero counts of the used controls); time linear in cells
(the neighbour search aside: exact search is cells x controls, see ``nn_method``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

from .._validate import check_counts
from ._blocks import is_lazy, iter_row_blocks, row_bounds


def lognorm_block(block: np.ndarray | sparse.csr_matrix) -> np.ndarray:
    """Counts per 10k then ``log1p``, row by row: the in-memory ``_lognorm`` on one block."""
    x = np.asarray(block.toarray() if sparse.issparse(block) else block, dtype=float)
    return np.log1p(x / np.maximum(x.sum(1, keepdims=True), 1.0) * 1e4)


def _blocks(counts: object, name: str, bounds: list[tuple[int, int]], *, check: bool = True):
    for start, stop, block in iter_row_blocks(counts, bounds=bounds):
        if check:
            check_counts(block, name=name)
        yield start, stop, lognorm_block(block)


def pca_fit(counts: object, n_pcs: int, *, name: str, standardise: bool = True) -> dict[str, np.ndarray]:
    """PCA of the (standardised) log-normalised matrix in 2 passes over blocks of cells.

    The first pass accumulates the gene sums and the genes x genes scatter about the first
    block's means (a shift that keeps the one-pass formula as accurate as centring on the
    final means); the second projects. The counts are checked in the first pass only.
    Returns ``scores`` (cells x PCs), ``loadings`` (genes x PCs, deterministic signs: each
    column's largest entry positive), ``variance`` (of each PC), ``total_variance``, ``mean``
    and ``sd`` (per gene; ``sd`` all 1 without ``standardise``).
    """
    n, g = counts.shape
    bounds = row_bounds(counts)
    total = np.zeros(g)
    scatter = np.zeros((g, g))
    shift = None
    for _, _, y in _blocks(counts, name, bounds):
        if shift is None:
            shift = y.mean(0)
        total += y.sum(0)
        yc = y - shift
        scatter += yc.T @ yc
    mu = total / n
    # sum (y - mu)(y - mu)^T = sum (y - s)(y - s)^T - n (mu - s)(mu - s)^T
    scatter -= n * np.outer(mu - shift, mu - shift)
    sd = np.sqrt(np.clip(np.diag(scatter), 0.0, None) / n)
    sd = np.where(sd > 0, sd, 1.0) if standardise else np.ones(g)
    n_comp = int(min(n_pcs, g - 1, n - 1))
    cov = scatter / np.outer(sd, sd) / n
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:n_comp]
    vecs = evecs[:, order]
    vecs *= np.sign(vecs[np.abs(vecs).argmax(0), np.arange(n_comp)])
    emb = np.empty((n, n_comp))
    for start, stop, y in _blocks(counts, name, bounds, check=False):
        emb[start:stop] = ((y - mu) / sd) @ vecs
    return {"scores": emb, "loadings": vecs, "variance": evals[order], "total_variance": float(np.trace(cov)),
            "mean": mu, "sd": sd}


def pca_embedding(counts: object, n_pcs: int, *, name: str) -> tuple[np.ndarray, int]:
    """Cells x PCs of the standardised log-normalised matrix (:func:`pca_fit`) and their number."""
    fit = pca_fit(counts, n_pcs, name=name)
    return fit["scores"], fit["scores"].shape[1]


def signature(
    counts: object,
    neighbour_avg: sparse.csr_matrix,
    *,
    name: str,
) -> object:
    """``lognorm(counts) - log1p(neighbour_avg @ expm1(lognorm(counts)))`` as float32, never holding either whole.

    ``neighbour_avg`` (cells x cells, CSR) holds ``1/k`` at each cell's ``k`` control neighbours,
    in the order the in-memory path sums them.
    """
    bounds = row_bounds(counts)
    used = np.unique(neighbour_avg.indices)
    # the controls that are someone's neighbour are the only rows reused: kept as their raw
    # counts (float32 CSR: exact for integer counts, and small for droplet data, where most are
    # 0; a float64 dense copy of 200,000 used controls x 2,000 genes would be 3.2 GB) with their
    # library sizes, so expm1(lognorm) = counts / total * 1e4 is applied through the weights
    pos = np.full(counts.shape[0], -1)
    pos[used] = np.arange(used.size)
    parts, totals = [], []
    for start, stop, block in iter_row_blocks(counts, bounds=bounds):  # checked by the PCA's pass
        rows = np.flatnonzero(pos[start:stop] >= 0)
        sub = block[rows]
        totals.append(np.asarray(sub.sum(1), dtype=np.float64).ravel())
        parts.append(sparse.csr_matrix(sub, dtype=np.float32))
    used_counts = sparse.vstack(parts, format="csr") if parts else sparse.csr_matrix((0, counts.shape[1]))
    scale = 1e4 / np.maximum(np.concatenate(totals) if totals else np.zeros(0), 1.0)
    # kept on the count scale: Seurat's PerturbDiff averages there, then logs
    col = pos[neighbour_avg.indices]
    compact = sparse.csr_matrix(
        (neighbour_avg.data * scale[col], col, neighbour_avg.indptr), shape=(counts.shape[0], used.size)
    )

    def one(block: np.ndarray | sparse.csr_matrix, start: int, stop: int) -> np.ndarray:
        avg = compact[start:stop] @ used_counts  # float64: scipy upcasts the float32 counts
        return (lognorm_block(block) - np.log1p(avg.toarray())).astype(np.float32)

    if is_lazy(counts):
        return _lazy_signature(counts, one)
    out = np.empty(counts.shape, dtype=np.float32)
    for start, stop, block in iter_row_blocks(counts, bounds=bounds):
        out[start:stop] = one(block, start, stop)
    return out


def _lazy_signature(counts: object, one: Callable[..., np.ndarray]) -> object:
    import dask.array as da

    x = counts.rechunk({1: -1}) if len(counts.chunks[1]) > 1 else counts

    def block_fn(block: object, block_info: dict | None = None) -> np.ndarray:
        start, stop = block_info[0]["array-location"][0]
        return one(block, start, stop)

    return da.map_blocks(block_fn, x, dtype=np.float32, meta=np.empty((0, 0), dtype=np.float32))
