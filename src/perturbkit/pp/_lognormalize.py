"""Counts per 10k and log1p, and the PCA of the result, in memory or block by block out of core."""

from __future__ import annotations

import numpy as np
from anndata import AnnData
from scipy import sparse

from .._chunked import is_lazy, wants_chunks
from .._chunked._signature import lognorm_block, pca_fit
from .._validate import check_adata, check_counts

__all__ = ["lognormalize", "pca"]


def _counts(adata: AnnData, layer: str | None) -> tuple[object, str]:
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    return (adata.layers[layer] if layer is not None else adata.X), (f"adata.layers[{layer!r}]" if layer else "adata.X")


def lognormalize(
    adata: AnnData,
    *,
    layer: str | None = "counts",
    target_sum: float = 1e4,
    key_added: str = "lognorm",
    copy: bool = False,
) -> AnnData | None:
    """Counts per ``target_sum`` then ``log1p``, per cell: scanpy's ``normalize_total`` + ``log1p``.

    A lazy counts layer (:func:`perturbkit.data.read_lazy`) gives a lazy result, computed one
    block of cells at a time when it is read; nothing is loaded here. Cost: linear in cells,
    memory one block. Cells without counts stay at 0.

    Run first: nothing; ``layers[layer]`` holds raw counts.

    Parameters
    ----------
    adata
        Cells x genes with raw counts.
    layer
        Counts layer (``None``: ``X``).
    target_sum
        Counts each cell is scaled to before the log.
    key_added
        Layer written.
    copy
        Return a modified copy.

    Returns
    -------
    ``None`` or the copy; writes ``layers[key_added]`` (float64; CSR for sparse counts, a dask
    array for lazy ones, dense otherwise) and ``uns[key_added]["params"]``.

    Raises
    ------
    KeyError
        ``layers[layer]`` missing.
    ValueError
        ``target_sum`` not positive; counts negative, non-integer or non-finite (in memory:
        here; lazy: when the block is read).

    Examples
    --------
    >>> import numpy as np, perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=100, n_genes=20, seed=0)
    >>> pk.pp.lognormalize(adata)
    >>> round(float(np.expm1(adata.layers["lognorm"][0]).sum()))
    10000
    """
    check_adata(adata)
    if not np.isfinite(target_sum) or target_sum <= 0:
        raise ValueError(f"target_sum must be a positive number, got {target_sum}")
    counts, name = _counts(adata, layer)
    scale = float(target_sum) / 1e4  # lognorm_block scales to 1e4

    def one(block: object) -> np.ndarray:
        check_counts(block, name=name)
        if scale == 1.0:
            return lognorm_block(block)
        x = np.asarray(block.toarray() if sparse.issparse(block) else block, dtype=float)
        return np.log1p(x / np.maximum(x.sum(1, keepdims=True), 1.0) * float(target_sum))

    if is_lazy(counts):
        import dask.array as da

        x = counts.rechunk({1: -1}) if len(counts.chunks[1]) > 1 else counts
        out_x = da.map_blocks(lambda b: one(b.toarray() if sparse.issparse(b) else b), x, dtype=np.float64,
                              meta=np.empty((0, 0), dtype=np.float64))
    elif sparse.issparse(counts):
        check_counts(counts, name=name)
        c = sparse.csr_matrix(counts, dtype=np.float64)
        totals = np.maximum(np.asarray(c.sum(1)).ravel(), 1.0)
        out_x = sparse.diags(float(target_sum) / totals) @ c
        out_x.data = np.log1p(out_x.data)
        out_x = sparse.csr_matrix(out_x)
    else:
        out_x = one(np.asarray(counts))
    out = adata.copy() if copy else adata
    out.layers[key_added] = out_x
    out.uns[key_added] = {"params": {"layer": layer, "target_sum": float(target_sum)}}
    return out if copy else None


def pca(
    adata: AnnData,
    *,
    layer: str | None = "counts",
    n_comps: int = 50,
    scale: bool = True,
    key_added: str = "X_pca",
    copy: bool = False,
) -> AnnData | None:
    """Principal components of the log-normalised counts, exact, in memory or out of core.

    The counts are log-normalised per cell (per 10k, ``log1p``, as :func:`lognormalize`),
    each gene centred (and with ``scale`` divided by its standard deviation, as scanpy's
    ``scale`` without clipping), and the components taken from the genes x genes covariance:
    the same numbers whether the matrix is in memory, backed or lazy
    (:func:`perturbkit.data.read_lazy`). Out of core the cells are read twice, one block at
    a time (the covariance, then the scores): memory genes^2 + cells x ``n_comps``, time
    linear in cells (and quadratic in genes, so use it on selected genes, a few thousand at
    most). Each component's sign is fixed so that its largest loading is positive.

    Run first: nothing; ``layers[layer]`` holds raw counts.

    Parameters
    ----------
    adata
        Cells x genes with raw counts.
    layer
        Counts layer (``None``: ``X``).
    n_comps
        Components kept (at most genes - 1 and cells - 1).
    scale
        Standardise each gene before the PCA (``False``: centre only).
    key_added
        ``obsm`` key of the scores; the loadings go to ``varm[key_added]``.
    copy
        Return a modified copy.

    Returns
    -------
    ``None`` or the copy; writes ``obsm[key_added]`` (cells x components),
    ``varm[key_added]`` (genes x components) and ``uns[key_added]`` with ``params``,
    ``variance`` and ``variance_ratio`` (each component's share of the total variance).

    Raises
    ------
    KeyError
        ``layers[layer]`` missing.
    ValueError
        ``n_comps`` below 1; counts negative, non-integer or non-finite (naming the layer).

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=200, n_genes=30, seed=0)
    >>> pk.pp.pca(adata, n_comps=5)
    >>> adata.obsm["X_pca"].shape, bool(adata.uns["X_pca"]["variance_ratio"].sum() < 1)
    ((200, 5), True)
    """
    check_adata(adata)
    if int(n_comps) < 1:
        raise ValueError(f"n_comps must be >= 1, got {n_comps}")
    counts, name = _counts(adata, layer)
    if not wants_chunks(counts) and sparse.issparse(counts):
        counts = sparse.csr_matrix(counts)  # row blocks of CSR are cheap; the fit reads them one at a time
    fit = pca_fit(counts, int(n_comps), name=name, standardise=scale)
    out = adata.copy() if copy else adata
    out.obsm[key_added] = fit["scores"]
    out.varm[key_added] = fit["loadings"]
    out.uns[key_added] = {"params": {"layer": layer, "n_comps": int(fit["scores"].shape[1]), "scale": bool(scale)},
                          "variance": fit["variance"], "variance_ratio": fit["variance"] / fit["total_variance"]}
    return out if copy else None
