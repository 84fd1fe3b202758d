"""Sum counts of the cells of each sample (and cell type): the pseudobulk matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._chunked import wants_chunks
from .._chunked._sums import group_sums
from .._validate import check_adata, check_counts, check_obs

__all__ = ["pseudobulk"]


def pseudobulk(
    adata: AnnData,
    *,
    sample_key: str = "sample",
    cell_type_key: str | Sequence[str] | None = "cell_type",
    layer: str | None = "counts",
    min_cells: int = 1,
) -> AnnData:
    """Sum raw counts over the cells of each sample (within each ``cell_type_key`` group).

    Parameters
    ----------
    adata
        Cells with raw counts in ``layers[layer]`` (``None``: ``X``).
    sample_key
        Column naming the biological sample (e.g. donor x condition).
    cell_type_key
        Further column(s) to split by, typically ``"cell_type"``.
    layer
        Layer holding raw integer counts.
    min_cells
        Drop pseudobulk samples built from fewer cells.

    A lazy matrix (:func:`perturbkit.data.read_lazy`), a backed one
    (``anndata.read_h5ad(path, backed="r")``) or a dense one over 2**26 entries is summed
    block by block of cells, so memory grows with samples x genes, not with cells; the sums
    are the same. Cost: linear in cells.

    Returns
    -------
    AnnData
        One observation per (sample, groups) with ``X``: summed counts (float64, dense).
        ``obs`` holds ``sample_key``, the ``cell_type_key`` columns, every other ``obs`` column that
        is constant within the sample (e.g. ``donor``, ``perturbation``) and ``n_cells``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cell_types=2, n_donors=2, seed=0)
    >>> pb = pk.get.pseudobulk(adata, sample_key="sample", cell_type_key="cell_type")
    >>> pb.shape, int(pb.obs["n_cells"].iloc[0])
    ((8, 100), 60)
    """
    check_adata(adata)
    groups = [] if cell_type_key is None else [cell_type_key] if isinstance(cell_type_key, str) else list(cell_type_key)
    keys = [sample_key, *groups]
    check_obs(adata, *keys)
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r} (raw counts); available: {list(adata.layers)}")
    x = adata.X if layer is None else adata.layers[layer]
    name = f"adata.layers[{layer!r}]" if layer else "adata.X"
    chunked = wants_chunks(x)
    if not chunked:
        check_counts(x, name=name)
    obs = adata.obs
    codes = obs[keys].astype(str).agg("\x1f".join, axis=1)
    uniq, inverse = np.unique(codes.to_numpy(), return_inverse=True)
    if chunked:  # lazy, backed or large: sum block by block, never holding the whole matrix
        summed = group_sums(x, inverse, len(uniq), counts_name=name)
    else:
        indicator = sparse.csr_matrix(
            (np.ones(adata.n_obs), (inverse, np.arange(adata.n_obs))), shape=(len(uniq), adata.n_obs)
        )
        summed = np.asarray((indicator @ sparse.csr_matrix(x)).todense(), dtype=float)
    n_cells = np.bincount(inverse, minlength=len(uniq))
    first = obs.groupby(inverse, observed=True).first()
    constant = [
        col for col in obs.columns
        if col in keys or (obs.groupby(inverse, observed=True)[col].nunique(dropna=False) <= 1).all()
    ]
    meta = first[constant].copy()
    for col in constant:
        # numbers stay numbers (dose, replicate) and a missing value stays missing, not 'nan'
        if isinstance(obs[col].dtype, pd.CategoricalDtype):
            meta[col] = pd.Categorical(meta[col].astype(object)).remove_unused_categories()
        elif pd.api.types.is_numeric_dtype(obs[col]) or pd.api.types.is_bool_dtype(obs[col]):
            meta[col] = meta[col].astype(obs[col].dtype) if meta[col].notna().all() else meta[col].astype(float)
        else:
            meta[col] = meta[col].map(lambda v: v if pd.isna(v) else str(v)).astype(object)
    meta["n_cells"] = n_cells
    meta.index = pd.Index(["|".join(u.split("\x1f")) for u in uniq])
    keep = n_cells >= min_cells
    out = AnnData(X=summed[keep], obs=meta.loc[keep], var=pd.DataFrame(index=adata.var_names.copy()))
    return out
