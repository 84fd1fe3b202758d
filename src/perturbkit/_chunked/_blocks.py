"""Reading a cells x genes matrix in blocks of rows, whatever holds it."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import sparse

#: Cells per block when the matrix does not say (a dask array's own row chunks win).
CHUNK_SIZE = 10_000
#: Dense in-memory matrices with more entries than this are also summed block by block:
#: the one-shot path copies the whole matrix once more (e.g. into CSR).
LARGE_DENSE = 2**26


def is_lazy(x: object) -> bool:
    """A dask array (what :func:`perturbkit.data.read_lazy` puts in ``X`` and ``layers``)."""
    return type(x).__module__.startswith("dask.")


def _is_backed(x: object) -> bool:
    # h5py / zarr datasets and anndata's backed sparse datasets: rows are read on slicing
    mod = type(x).__module__
    return mod.startswith(("h5py", "zarr", "anndata"))


def wants_chunks(x: object) -> bool:
    """Whether a statistic on ``x`` should go block by block instead of loading ``x`` whole."""
    if is_lazy(x) or _is_backed(x):
        return True
    return not sparse.issparse(x) and np.asarray(x).size > LARGE_DENSE


def _row_bounds(x: object, chunk_size: int | None) -> list[tuple[int, int]]:
    n = x.shape[0]
    if chunk_size is None and is_lazy(x):
        edges = np.cumsum((0, *x.chunks[0]))
        return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))
    step = int(chunk_size or CHUNK_SIZE)
    if step < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    return [(s, min(s + step, n)) for s in range(0, n, step)]


def row_bounds(x: object, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """``(start, stop)`` of the row blocks :func:`iter_row_blocks` walks (a dask array's own chunks)."""
    return _row_bounds(x, chunk_size)


def iter_row_blocks(
    x: object, *, chunk_size: int | None = None, bounds: list[tuple[int, int]] | None = None
) -> Iterator[tuple[int, int, np.ndarray | sparse.csr_matrix]]:
    """Yield ``(start, stop, block)`` over rows; ``block`` is float64, dense or CSR, in memory.

    Only one block is materialised at a time, so a dask array or a backed dataset is never
    loaded whole. ``bounds`` walks two matrices in step (e.g. a signature and its counts).
    """
    for start, stop in bounds if bounds is not None else _row_bounds(x, chunk_size):
        block = x[start:stop]
        if is_lazy(block):
            block = block.compute()
        if sparse.issparse(block):
            block = sparse.csr_matrix(block, dtype=np.float64)
        elif hasattr(block, "to_memory"):  # anndata's backed sparse slice
            block = sparse.csr_matrix(block.to_memory(), dtype=np.float64)
        else:
            block = np.asarray(block, dtype=np.float64)
        yield start, stop, block
