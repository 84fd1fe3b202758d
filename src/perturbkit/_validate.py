"""Input checks shared by every public function, so bad input fails the same clear way.

Each check raises ``ValueError`` (or ``KeyError`` for a missing column) naming the column,
group or value at fault.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

__all__ = [
    "as_dense",
    "as_list",
    "check_adata",
    "check_counts",
    "check_finite",
    "check_group",
    "check_layer",
    "check_min_cells",
    "check_obs",
    "check_obsm",
    "check_probability",
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
    """Dense float64 copy of a matrix (sparse, dense, or a lazy dask array: computed here)."""
    if hasattr(x, "compute") and hasattr(x, "chunks"):  # dask, also inside an AnnData view
        x = x.compute()
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
    """Return ``values`` as a float array, raising ``ValueError`` on NaN/inf (naming ``name``).

    A scipy sparse matrix is checked on its stored values and returned as a float sparse
    matrix (not densified), so ``check_finite(adata.X, ...)`` is safe on any AnnData.

    Examples
    --------
    >>> check_finite([1.0, 2.0], name="dose")
    array([1., 2.])
    >>> check_finite([1.0, float("nan")], name="dose")
    Traceback (most recent call last):
    ...
    ValueError: dose has 1 NaN or infinite value(s), first at index 1; remove or impute them first
    """
    if sparse.issparse(values):
        mat = values.astype(float) if values.dtype.kind != "f" else values
        data = np.asarray(mat.data)
        bad = ~np.isfinite(data)
        if bad.any():
            coo = sparse.coo_matrix(mat)
            first = np.flatnonzero(~np.isfinite(coo.data))[0]
            raise ValueError(
                f"{name} has {int(bad.sum())} NaN or infinite value(s), first at "
                f"(row {int(coo.row[first])}, column {int(coo.col[first])}); remove or impute them first"
            )
        return mat
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric: {err}") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.argmax(bad.ravel()))
        where = f"index {first}" if arr.ndim <= 1 else f"(row, column) {np.unravel_index(first, arr.shape)}"
        raise ValueError(
            f"{name} has {int(bad.sum())} NaN or infinite value(s), first at {_plain(where)}; "
            "remove or impute them first"
        )
    return arr


def _plain(text: str) -> str:
    """Drop numpy scalar reprs (``np.int64(3)`` -> ``3``) from a message."""
    return re.sub(r"np\.\w+\((-?[\d.]+)\)", r"\1", text)


def check_layer(adata: AnnData, layer: str | None, *, finite: bool = False) -> object:
    """Return ``adata.X`` (``layer=None``) or ``adata.layers[layer]``, or raise ``KeyError``.

    The message lists the layers present. With ``finite=True`` the matrix is also checked
    for NaN/inf (sparse stays sparse), naming the layer.

    Examples
    --------
    >>> import numpy as np, anndata as ad
    >>> a = ad.AnnData(np.ones((2, 2)), layers={"counts": np.ones((2, 2))})
    >>> check_layer(a, "counts").shape
    (2, 2)
    >>> check_layer(a, "count")
    Traceback (most recent call last):
    ...
    KeyError: "adata.layers has no 'count'; available layers: ['counts'] (layer=None reads adata.X)"
    """
    if layer is None:
        x, name = adata.X, "adata.X"
    else:
        if not isinstance(layer, str):
            raise TypeError(f"layer must be a layer name (str) or None, got {type(layer).__name__}")
        if layer not in adata.layers:
            raise KeyError(
                f"adata.layers has no {layer!r}; available layers: {list(adata.layers)} "
                "(layer=None reads adata.X)"
            )
        x, name = adata.layers[layer], f"adata.layers[{layer!r}]"
    if x is None:
        raise ValueError(f"{name} is empty (None)")
    if finite:
        x = check_finite(x, name=name)
    return x


def check_probability(value: object, *, name: str) -> float:
    """Return ``value`` as a float strictly between 0 and 1, or raise ``ValueError``.

    For confidence levels, FDR thresholds and other probabilities: ``level=95`` is a
    percentage, not a probability, and would otherwise give NaN intervals or call every
    gene a hit.

    Examples
    --------
    >>> check_probability(0.95, name="level")
    0.95
    >>> check_probability(95, name="level")
    Traceback (most recent call last):
    ...
    ValueError: level must be a probability in (0, 1), got 95; for a percentage pass 0.95
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in (0, 1), got {value!r} ({type(value).__name__})")
    v = float(value)
    if not (0.0 < v < 1.0):
        hint = f"; for a percentage pass {v / 100:g}" if 1.0 < v < 100.0 else ""
        raise ValueError(f"{name} must be a probability in (0, 1), got {value!r}{hint}")
    return v


def check_min_cells(
    adata: AnnData,
    key: str,
    *,
    min_cells: int,
    groups: Iterable[object] | None = None,
    on_fail: str = "raise",
    what: str = "",
) -> list[str]:
    """Groups of ``obs[key]`` with fewer than ``min_cells`` cells: raise, or warn and return them.

    Parameters
    ----------
    adata
        The AnnData.
    key
        The ``obs`` column holding the groups.
    min_cells
        The fewest cells a group needs.
    groups
        The groups to check (default: every level present). A group absent from the column
        counts as 0 cells.
    on_fail
        ``"raise"`` (``ValueError`` naming each group and its count) or ``"warn"``
        (``UserWarning``; the caller writes a NaN row saying why).
    what
        What the cells are needed for, added to the message.

    Returns
    -------
    list[str]
        The groups below ``min_cells`` (empty when all pass).

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata as ad
    >>> a = ad.AnnData(np.ones((4, 1)), obs=pd.DataFrame({"g": ["a", "a", "a", "b"]}, index=list("wxyz")))
    >>> check_min_cells(a, "g", min_cells=2, on_fail="warn")  # doctest: +SKIP
    ['b']
    >>> check_min_cells(a, "g", min_cells=2)
    Traceback (most recent call last):
    ...
    ValueError: adata.obs['g'] group 'b' has 1 cell(s), fewer than min_cells=2
    """
    if on_fail not in {"raise", "warn"}:
        raise ValueError(f"on_fail must be 'raise' or 'warn', got {on_fail!r}")
    check_obs(adata, key)
    counts = adata.obs[key].astype(str).value_counts()
    wanted = [str(g) for g in (counts.index if groups is None else groups)]
    low = [g for g in wanted if int(counts.get(g, 0)) < min_cells]
    if not low:
        return []
    shown = ", ".join(f"{g!r} has {int(counts.get(g, 0))} cell(s)" for g in low[:10])
    more = f" (and {len(low) - 10} more)" if len(low) > 10 else ""
    msg = f"adata.obs[{key!r}] group {shown}{more}, fewer than min_cells={min_cells}"
    if what:
        msg += f" {what}"
    if on_fail == "raise":
        raise ValueError(msg)
    warnings.warn(msg, UserWarning, stacklevel=2)
    return low


def as_list(value: object, *, name: str) -> list:
    """A list from a list-like, one element for a lone string (not its letters); ``None`` -> ``[]``.

    Examples
    --------
    >>> as_list("LL.4", name="models")
    ['LL.4']
    >>> as_list(("LL.4", "W1.4"), name="models")
    ['LL.4', 'W1.4']
    """
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    if isinstance(value, (pd.Series, pd.Index, np.ndarray)):
        return list(np.asarray(value).ravel())
    if isinstance(value, Iterable) and not isinstance(value, dict):
        return list(value)
    raise TypeError(f"{name} must be a list (or one string), got {type(value).__name__}: {value!r}")


def check_same_length(**arrays: Sequence | np.ndarray) -> int:
    """Raise ``ValueError`` unless all arrays have the same length; return it."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"lengths differ: {lengths}")
    return next(iter(lengths.values()))
