"""Benjamini-Hochberg adjustment, written once for every table that reports ``padj``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["bh_adjust"]


def bh_adjust(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (``padj``), NaN kept where the p-value is NaN.

    NaN p-values (a test that could not be run) are left out of the family and stay NaN,
    so one untestable gene neither inflates the others nor becomes a hit.

    Parameters
    ----------
    pvalues
        p-values in [0, 1]; NaN allowed.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape, monotone in the p-value, at most 1.

    References
    ----------
    Benjamini and Hochberg (1995), J R Stat Soc B 57:289-300.

    Examples
    --------
    >>> import perturbkit as pk
    >>> pk.metrics.bh_adjust([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    flat, res = p.ravel(), out.ravel()
    ok = ~np.isnan(flat)
    if ((flat[ok] < 0) | (flat[ok] > 1)).any():
        bad = flat[ok][(flat[ok] < 0) | (flat[ok] > 1)][0]
        raise ValueError(f"p-values must lie in [0, 1]; got {bad}")
    q = flat[ok]
    if q.size:
        order = np.argsort(q, kind="mergesort")
        ranked = q[order] * q.size / np.arange(1, q.size + 1)
        adj = np.empty_like(q)
        adj[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
        res[ok] = adj
    return res.reshape(p.shape)
