"""Input checks shared by every public function, so bad input fails the same clear way.

Each check raises ``ValueError`` (or ``KeyError`` for a missing column) naming the column,
group or value at fault.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

__all__ = [
    "as_dense",
    "check_adata",
    "check_counts",
    "check_finite",
    "check_group",
    "check_obs",
    "check_obsm",
    "check_same_length",
]


def check_adata(adata: object, *, name: str = "adata") -> AnnData:
    """Raise ``TypeError`` unless ``adata`` is an AnnData with at least one cell and gene."""
    if not isinstance(adata, AnnData):
        raise TypeError(f"{name} must be an AnnData, got {type(adata).__name__}")
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise ValueError(f"{name} is empty: shape {adata.shape}")
    return adata


def check_obs(adata: AnnData, *keys: str) -> None:
    """Raise ``KeyError`` naming each missing ``obs`` column and listing the present ones."""
    missing = [k for k in keys if k not in adata.obs.columns]
    if missing:
        raise KeyError(
            f"adata.obs has no column {', '.join(map(repr, missing))}; "
            f"available columns: {list(adata.obs.columns)}"
        )
    for k in keys:
        if adata.obs[k].isna().any():
            n = int(adata.obs[k].isna().sum())
            raise ValueError(f"adata.obs[{k!r}] has {n} missing (NaN) values")


def check_obsm(adata: AnnData, key: str, *, hint: str = "") -> np.ndarray:
    """Return ``adata.obsm[key]`` as an array, or raise ``KeyError`` saying what creates it."""
    if key not in adata.obsm:
        raise KeyError(
            f"adata.obsm has no {key!r}{'; ' + hint if hint else ''}; available: {list(adata.obsm)}"
        )
    return np.asarray(adata.obsm[key])


def check_group(adata: AnnData, key: str, value: object, *, role: str = "group") -> None:
    """Raise ``ValueError`` unless ``obs[key]`` contains ``value`` (e.g. the control label)."""
    check_obs(adata, key)
    present = pd.unique(adata.obs[key].astype(str))
    if str(value) not in present:
        shown = sorted(present)[:20]
        raise ValueError(f"{role} {value!r} not found in adata.obs[{key!r}]; values present: {shown}")


def as_dense(x: object) -> np.ndarray:
    """Dense float64 copy of a matrix (sparse or dense)."""
    return np.asarray(x.toarray() if sparse.issparse(x) else x, dtype=float)


def check_counts(x: object, *, name: str = "counts") -> None:
    """Raise ``ValueError`` if a count matrix has negative, non-finite or non-integer values."""
    data = x.data if sparse.issparse(x) else np.asarray(x)
    if data.size == 0:
        return
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} contain NaN or infinite values")
    if (data < 0).any():
        raise ValueError(f"{name} contain negative values (min {data.min()}); raw counts are >= 0")
    if not np.allclose(data, np.round(data)):
        raise ValueError(f"{name} are not integers; pass raw counts (e.g. adata.layers['counts'])")


def check_finite(values: object, *, name: str) -> np.ndarray:
    """Return ``values`` as a float array, raising ``ValueError`` on NaN/inf (naming ``name``)."""
    arr = np.asarray(values, dtype=float)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name} has {int(bad.sum())} NaN or infinite value(s), first at index {int(np.argmax(bad.ravel()))}")
    return arr


def check_same_length(**arrays: Sequence | np.ndarray) -> int:
    """Raise ``ValueError`` unless all arrays have the same length; return it."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"lengths differ: {lengths}")
    return next(iter(lengths.values()))
