"""Out-of-core AnnData: a chunked zarr copy, and lazy (dask) reading of zarr or h5ad."""

from __future__ import annotations

import warnings
from pathlib import Path

from anndata import AnnData

__all__ = ["read_lazy", "to_zarr"]

_SCALE_HINT = "out-of-core data need the optional 'scale' extra: pip install 'perturbkit[scale]' (dask, zarr)"


def _require(*modules: str) -> None:
    import importlib

    for mod in modules:
        try:
            importlib.import_module(mod)
        except ImportError as err:
            raise ImportError(f"{_SCALE_HINT}; missing {mod!r}") from err


def _storable(obj: object, where: str, dropped: list[str]) -> object:
    """``uns`` as the zarr writer accepts it: Series become one-column frames, other objects drop."""
    import numpy as np
    import pandas as pd
    from scipy import sparse

    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            val = _storable(v, f"{where}/{k}", dropped)
            if val is not _DROP:
                out[str(k)] = val
        return out
    if isinstance(obj, pd.Series):
        return obj.to_frame(name=str(obj.name) if obj.name is not None else "value")
    if isinstance(obj, pd.DataFrame | np.ndarray | str | int | float | bool | np.generic) or sparse.issparse(obj):
        return obj
    if isinstance(obj, list | tuple):
        try:
            return np.asarray(obj) if len(obj) else np.array([], dtype=float)
        except ValueError:
            pass
    dropped.append(where)
    return _DROP


_DROP = object()


def to_zarr(adata: AnnData, path: str | Path, *, chunk_size: int = 10_000) -> Path:
    """Write ``adata`` as a zarr store chunked by cells, for :func:`read_lazy`.

    Dense ``X`` and layers are stored in blocks of ``chunk_size`` cells x all genes, so a
    statistic that walks the cells reads each block once; sparse matrices keep their CSR
    arrays (rows are read by ``indptr`` ranges). A lazy ``adata`` (itself from
    :func:`read_lazy`) is streamed block by block, never loaded whole.

    Parameters
    ----------
    adata
        Cells x genes; ``X`` and ``layers`` may be numpy, scipy sparse or dask arrays.
    path
        Folder of the store (conventionally ending in ``.zarr``); overwritten if it exists.
    chunk_size
        Cells per chunk.

    Returns
    -------
    Path
        The store's path.

    Raises
    ------
    ImportError
        zarr is not installed (``pip install 'perturbkit[scale]'``).
    ValueError
        ``chunk_size`` below 1.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=300, n_genes=20, seed=0)
    >>> store = pk.data.to_zarr(adata, "screen.zarr", chunk_size=100)
    >>> store.name
    'screen.zarr'
    """
    _require("zarr")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    path = Path(path)
    if path.exists():
        import shutil

        shutil.rmtree(path)
    dropped: list[str] = []
    uns = _storable(dict(adata.uns), "uns", dropped)
    if dropped:
        warnings.warn(f"to_zarr: not stored (no zarr encoding): {', '.join(dropped)}", stacklevel=2)
    saved = adata.uns
    adata.uns = uns
    try:
        # anndata applies `chunks` to every dense array it writes: cells x all genes
        with warnings.catch_warnings():
            # zarr format 2 on purpose: every anndata >= 0.8 reads it (the warning announces v3)
            warnings.filterwarnings("ignore", message="Writing zarr v2 data", category=UserWarning)
            adata.write_zarr(path, chunks=(chunk_size, max(adata.n_vars, 1)))
    finally:
        adata.uns = saved
    return path


def read_lazy(path: str | Path, *, chunk_size: int = 10_000) -> AnnData:
    """Open a zarr store or an ``.h5ad`` file with ``X`` and ``layers`` as lazy dask arrays.

    ``obs``, ``var``, ``obsm``, ``uns`` are read into memory (small: one row per cell or gene);
    the cells x genes matrices stay on disk and are read ``chunk_size`` cells at a time when a
    statistic walks them. ``pk.get.pseudobulk``, ``pk.tl.perturbation_signature``,
    ``pk.tl.mixscape`` and ``pk.tl.edistance`` compute on such an object chunk by chunk and
    return the in-memory numbers. An ``.h5ad`` file stays open while the object lives.

    Parameters
    ----------
    path
        A zarr store (:func:`to_zarr`) or an ``.h5ad`` file.
    chunk_size
        Cells per dask chunk.

    Returns
    -------
    AnnData
        ``X`` and every layer a :class:`dask.array.Array` chunked ``(chunk_size, n_vars)``.

    Raises
    ------
    ImportError
        dask or zarr is not installed (``pip install 'perturbkit[scale]'``).
    FileNotFoundError
        ``path`` does not exist.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=300, n_genes=20, seed=0)
    >>> lazy = pk.data.read_lazy(pk.data.to_zarr(adata, "screen.zarr"), chunk_size=100)
    >>> type(lazy.layers["counts"]).__name__, lazy.layers["counts"].chunks[0]
    ('Array', (100, 100, 100))
    """
    _require("dask", "zarr")
    from anndata.experimental import read_elem_lazy
    from anndata.io import read_elem, sparse_dataset

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no zarr store or h5ad file at {path}")
    if path.suffix == ".h5ad":
        import h5py

        group = h5py.File(path, "r")
    else:
        import zarr

        group = zarr.open_group(path, mode="r")

    def lazy(elem: object) -> object:
        # a dense matrix is an array with its own shape; a sparse one is a group, whose shape
        # anndata's own sparse reader knows (no need to decode its encoding by hand)
        n_vars = elem.shape[1] if hasattr(elem, "shape") else sparse_dataset(elem).shape[1]
        return read_elem_lazy(elem, chunks=(chunk_size, int(n_vars)))

    parts = {k: read_elem(group[k]) for k in ("obs", "var", "obsm", "varm", "uns") if k in group}
    layers = {k: lazy(group["layers"][k]) for k in group["layers"]} if "layers" in group else {}
    x = lazy(group["X"]) if "X" in group else None
    return AnnData(X=x, layers=layers, **parts)
