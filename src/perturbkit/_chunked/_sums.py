"""Per-group sums of a cells x genes matrix, block by block (pseudobulk, group means)."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .._validate import check_counts
from ._blocks import iter_row_blocks


def group_sums(
    x: object,
    inverse: np.ndarray,
    n_groups: int,
    *,
    chunk_size: int | None = None,
    counts_name: str | None = None,
) -> np.ndarray:
    """``indicator @ x`` (groups x genes, float64) without holding ``x``: one block of rows at a time.

    ``inverse[i]`` is the group of cell ``i``. With ``counts_name`` every block is checked to hold
    raw counts (the message names the matrix), as the one-shot path checks the whole matrix.
    """
    inverse = np.asarray(inverse)
    out = np.zeros((n_groups, x.shape[1]), dtype=np.float64)
    for start, stop, block in iter_row_blocks(x, chunk_size=chunk_size):
        if counts_name is not None:
            check_counts(block, name=counts_name)
        rows = stop - start
        ind = sparse.csr_matrix(
            (np.ones(rows), (inverse[start:stop], np.arange(rows))), shape=(n_groups, rows)
        )
        part = ind @ block
        out += part.toarray() if sparse.issparse(part) else part
    return out
