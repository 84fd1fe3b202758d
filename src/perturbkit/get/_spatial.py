"""Tidy tables out of the spatial statistics written by ``pk.tl``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from .._keys import nhood_key, require_uns

__all__ = ["nhood_enrichment"]


def nhood_enrichment(adata: AnnData, *, cell_type_key: str = "cell_type") -> pd.DataFrame:
    """Neighbourhood enrichment as a long table, one row per ordered pair of categories.

    Reads what :func:`perturbkit.tl.nhood_enrichment` wrote.

    Parameters
    ----------
    adata
        AnnData after :func:`perturbkit.tl.nhood_enrichment`.
    cell_type_key
        The ``cell_type_key`` it ran with.

    Returns
    -------
    DataFrame
        ``group_a``, ``group_b`` (str), ``zscore`` (float), ``count`` (observed edges),
        sorted by ``zscore`` descending.

    Raises
    ------
    KeyError
        :func:`perturbkit.tl.nhood_enrichment` has not run for ``cell_type_key``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> pk.pp.spatial_neighbors(tissue)
    >>> pk.tl.nhood_enrichment(tissue, cell_type_key="cell_type", n_perms=20)
    >>> pk.get.nhood_enrichment(tissue).shape
    (25, 4)
    """
    res = require_uns(adata, nhood_key(cell_type_key), producer=f"pk.tl.nhood_enrichment(adata, cell_type_key={cell_type_key!r})")
    cats = list(res["categories"])
    k = len(cats)
    out = pd.DataFrame(
        {
            "group_a": np.repeat(cats, k),
            "group_b": np.tile(cats, k),
            "zscore": np.asarray(res["zscore"], dtype=float).ravel(),
            "count": np.asarray(res["count"]).ravel(),
        }
    )
    return out.sort_values("zscore", ascending=False, ignore_index=True)
