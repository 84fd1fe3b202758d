"""Chunk-by-chunk versions of the core statistics, for matrices that do not fit in memory.

Private: the public functions (``pk.get.pseudobulk``, ``pk.tl.perturbation_signature``,
``pk.tl.mixscape``, ``pk.tl.edistance``) dispatch here when their input is lazy (a dask
array from :func:`perturbkit.data.read_lazy`), backed (``anndata.read_h5ad(..., backed="r")``)
or large. Each routine reads the cells in blocks of rows and keeps only per-group or
per-gene accumulators in memory, so peak memory grows with genes x groups, not with cells;
the tests check that every routine gives the in-memory numbers to 1e-10.
"""

from ._blocks import CHUNK_SIZE, is_lazy, iter_row_blocks, wants_chunks

__all__ = ["CHUNK_SIZE", "is_lazy", "iter_row_blocks", "wants_chunks"]
