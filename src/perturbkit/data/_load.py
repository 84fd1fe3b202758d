"""``pk.data.load``: a dataset id in, an AnnData or tidy table out, one obs schema for all."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from anndata import AnnData

from ._fetch import DataUnavailableError, fetch, is_strict
from ._manifest import manifest, manifests

__all__ = ["CONTROL", "load", "list_datasets", "fallbacks_used", "is_stand_in", "SCHEMA"]

#: Label of unperturbed cells in ``obs["perturbation"]`` for every dataset.
CONTROL = "control"

#: The shared ``obs`` schema: column -> meaning. Loaders fill what their data has.
SCHEMA = {
    "perturbation": f"what was done to the cell; unperturbed cells are {CONTROL!r}",
    "dose": "dose as a float, in the unit of `dose_unit` (0 for controls)",
    "dose_unit": "unit of `dose` (e.g. 'uM')",
    "cell_type": "annotated cell type or cell line",
    "replicate": "biological replicate / batch",
    "donor": "donor or individual",
}

_FALLBACKS: list[dict[str, str]] = []
#: dataset id -> whether its last load returned the simulated stand-in
_STAND_IN: dict[str, bool] = {}


def _loader(dataset_id: str) -> Callable[..., Any]:
    try:
        module = importlib.import_module(f"perturbkit.data._loaders.{dataset_id}")
    except ModuleNotFoundError as err:
        if err.name != f"perturbkit.data._loaders.{dataset_id}":
            raise
        raise NotImplementedError(
            f"dataset {dataset_id!r} has a manifest but no loader yet; use pk.data.fetch({dataset_id!r})"
        ) from None
    return module.load


def load(
    dataset_id: str,
    *,
    fallback: Callable[[], AnnData | pd.DataFrame] | None = None,
    lazy: bool = False,
    chunk_size: int = 10_000,
    **kwargs: Any,
) -> AnnData | pd.DataFrame | dict[str, pd.DataFrame]:
    """Load a public dataset, verified against its manifest.

    Single-cell and expression datasets come back as :class:`~anndata.AnnData` with the
    shared ``obs`` schema (:data:`SCHEMA`): ``perturbation`` (controls are
    ``"control"``), ``dose``/``dose_unit`` where there is a dose, ``cell_type``,
    ``replicate``/``donor``, raw counts in ``layers["counts"]``. Tabular datasets come back
    as tidy :class:`pandas.DataFrame` (or a dict of them when the dataset has several
    tables). Each loader's docstring (``perturbkit.data._loaders.<id>``) describes its fields.

    Parameters
    ----------
    dataset_id
        A manifest id; :func:`list_datasets` shows them.
    fallback
        A function returning a simulated stand-in. If the data cannot be had and strict
        mode is off, a warning banner is shown and the stand-in is returned; in strict mode
        (``PERTURBKIT_STRICT=1``) the missing data raises instead.
    lazy
        Return single-cell data out of core: the first call converts the loaded dataset
        to a zarr store chunked by cells in the cache (``cache_dir()/zarr``, once), and
        every call opens it with :func:`read_lazy`, so ``X`` and ``layers`` are dask
        arrays read ``chunk_size`` cells at a time (needs ``pip install
        'perturbkit[scale]'``). A stand-in's matrices are wrapped as in-memory dask
        arrays. Tables are returned as usual.
    chunk_size
        Cells per chunk with ``lazy=True``.
    **kwargs
        Passed to the dataset's loader (e.g. ``name="ryegrass"`` for the drc sets).

    Returns
    -------
    AnnData, DataFrame or dict of DataFrames
        An AnnData carries the id in ``.uns["dataset"]``; whether a table is the public data
        or the stand-in is answered by :func:`is_stand_in`.

    Raises
    ------
    KeyError
        Unknown dataset id (the message lists the known ones).
    DataUnavailableError
        The files cannot be had and there is no fallback, or strict mode is on.

    Examples
    --------
    >>> import perturbkit as pk
    >>> kang = pk.data.load("kang2018_ifnb_muscat")
    >>> kang.shape
    (1556, 1267)
    """
    m = manifest(dataset_id)
    loader = _loader(dataset_id)
    try:
        paths = fetch(dataset_id)
    except DataUnavailableError as err:
        if fallback is None or is_strict():
            raise
        msg = (
            f"Dataset {dataset_id!r} ({m.title}) could not be had, so this page runs on a "
            f"simulated stand-in: numbers below are NOT from the public data. Reason: {err}"
        )
        warnings.warn(msg, stacklevel=2)
        _FALLBACKS.append({"dataset": dataset_id, "reason": str(err)})
        _STAND_IN[dataset_id] = True
        from .._display import banner

        banner(msg, title="Simulated stand-in")
        out = fallback()
        return _in_memory_lazy(out, chunk_size) if lazy and isinstance(out, AnnData) else out
    if lazy:
        store = _zarr_store(dataset_id, kwargs)
        if store.exists():
            _STAND_IN[dataset_id] = False
            return _read_store(store, chunk_size)
    out = loader(paths, **kwargs)
    _STAND_IN[dataset_id] = False
    if isinstance(out, AnnData):
        out.uns["dataset"] = dataset_id
        if lazy:
            from ._lazy import to_zarr

            # written under a temporary name and renamed: a half-written store is never opened
            tmp = store.with_name(store.name + ".partial")
            to_zarr(out, tmp, chunk_size=chunk_size)
            tmp.rename(store)
            return _read_store(store, chunk_size)
    return out


def _zarr_store(dataset_id: str, kwargs: dict[str, Any]) -> Path:
    """Where the chunked copy of a dataset (loaded with these loader options) lives."""
    import hashlib
    import json

    from ._fetch import cache_dir

    tag = ""
    if kwargs:
        blob = json.dumps(kwargs, sort_keys=True, default=str).encode()
        tag = "-" + hashlib.sha256(blob).hexdigest()[:10]
    folder = cache_dir() / "zarr"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{dataset_id}{tag}.zarr"


def _read_store(store: Path, chunk_size: int) -> AnnData:
    from ._lazy import read_lazy

    return read_lazy(store, chunk_size=chunk_size)


def _in_memory_lazy(adata: AnnData, chunk_size: int) -> AnnData:
    """The same object with ``X`` and ``layers`` as dask arrays over the in-memory matrices."""
    from ._lazy import _require

    _require("dask")
    import dask.array as da

    def wrap(x: Any) -> Any:
        return None if x is None else da.from_array(x, chunks=(chunk_size, x.shape[1]))

    adata.X = wrap(adata.X)
    for key in list(adata.layers):
        adata.layers[key] = wrap(adata.layers[key])
    return adata


def is_stand_in(dataset_id: str) -> bool:
    """Did the last :func:`load` of ``dataset_id`` in this process return the simulated stand-in?

    Chapters use it to make claims about the public data only when the public data ran.

    Parameters
    ----------
    dataset_id
        A manifest id.

    Returns
    -------
    bool
        ``True`` when the stand-in was returned, ``False`` when the public data were.

    Raises
    ------
    KeyError
        ``dataset_id`` was not loaded in this process.

    Examples
    --------
    >>> import perturbkit as pk
    >>> rye = pk.data.load("drc_classic_doseresponse", name="ryegrass")
    >>> pk.data.is_stand_in("drc_classic_doseresponse")
    False
    """
    if dataset_id not in _STAND_IN:
        raise KeyError(f"dataset {dataset_id!r} was not loaded in this process; call pk.data.load({dataset_id!r}) first")
    return _STAND_IN[dataset_id]


def fallbacks_used() -> list[dict[str, str]]:
    """Datasets replaced by their simulated stand-in in this process.

    Examples
    --------
    >>> import perturbkit as pk
    >>> isinstance(pk.data.fallbacks_used(), list)
    True
    """
    return list(_FALLBACKS)


def list_datasets(*, show: bool = True) -> pd.DataFrame:
    """Table of every dataset with a manifest: id, title, kind, chapters, files, size.

    Parameters
    ----------
    show
        Also print the table.

    Returns
    -------
    DataFrame
        One row per dataset, indexed by id.

    Examples
    --------
    >>> import perturbkit as pk
    >>> table = pk.data.list_datasets(show=False)
    >>> "kang2018_ifnb_muscat" in table.index
    True
    """
    rows = []
    for m in manifests().values():
        rows.append(
            {
                "id": m.id,
                "title": m.title,
                "kind": m.kind,
                "chapters": ", ".join(m.chapters),
                "n_files": len(m.files),
                "mb": round(sum(f.size or 0 for f in m.files) / 1e6, 2),
                "verified": m.verified,
            }
        )
    table = pd.DataFrame(rows).set_index("id")
    if show:
        print(table.to_string())
    return table
