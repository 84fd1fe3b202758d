"""Energy-distance sums from blocks of the distance matrix, never the whole n x n matrix."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

#: Pooled cells (perturbed + control) above which the distance matrix is built in row blocks:
#: 4,000 cells make a 128 MB float64 matrix, 33,000 cells (a large group) 8.7 GB.
BLOCK_ABOVE = 4_000
#: Rows of the distance matrix held at a time (block x n floats).
ROW_BLOCK = 1_024


def estat_blocked(
    pts: np.ndarray, member: np.ndarray, n_x: int, n_y: int, *, metric: str, row_block: int | None = None,
    unbiased: bool = False,
) -> np.ndarray:
    """The E-statistic of each label column of ``member`` (n x P), as ``_estat(cdist(pts, pts), ...)``.

    The distance matrix is produced ``row_block`` rows at a time and folded at once into
    ``d @ member`` and ``d.sum()``: memory O(row_block x n + n x P) instead of O(n^2); time
    stays quadratic in cells (every pair is still visited, so the numbers are exact).
    """
    step = int(row_block or ROW_BLOCK)
    n = pts.shape[0]
    dm = np.empty((n, member.shape[1]), dtype=np.float64)
    total = 0.0
    for start in range(0, n, step):
        d = cdist(pts[start:start + step], pts, metric=metric)
        dm[start:start + step] = d @ member
        total += float(d.sum())
    within_x = (member * dm).sum(0)
    between = ((1.0 - member) * dm).sum(0)
    within_y = total - 2.0 * between - within_x
    # U-statistic (unbiased): within means over the n(n-1) pairs of distinct cells
    dx, dy = (n_x * (n_x - 1), n_y * (n_y - 1)) if unbiased else (n_x**2, n_y**2)
    return 2.0 * between / (n_x * n_y) - within_x / dx - within_y / dy
