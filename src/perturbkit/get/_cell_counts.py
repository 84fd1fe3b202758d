"""Cells per sample and cell type: the input of a composition analysis."""

from __future__ import annotations

import pandas as pd
from anndata import AnnData

from .._validate import check_adata, check_obs

__all__ = ["cell_counts"]


def cell_counts(
    adata: AnnData,
    *,
    sample_key: str = "sample",
    cell_type_key: str = "cell_type",
) -> pd.DataFrame:
    """Count cells per sample and cell type, as a tidy table.

    Parameters
    ----------
    adata
        Annotated cells.
    sample_key
        Column naming the sample.
    cell_type_key
        Column naming the cell type.

    Returns
    -------
    DataFrame
        One row per (sample, cell type), zeros included: ``sample_key``, every other ``obs``
        column constant within samples (e.g. ``perturbation``, ``donor``), ``cell_type_key`` and
        ``n_cells`` (int) — the layout :func:`perturbkit.tl.composition_test` reads.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cell_types=2, n_donors=2, n_cells=5, seed=0)
    >>> counts = pk.get.cell_counts(adata)
    >>> counts.shape, int(counts["n_cells"].sum())
    ((8, 7), 40)
    """
    check_adata(adata)
    check_obs(adata, sample_key, cell_type_key)
    obs = adata.obs
    wide = pd.crosstab(obs[sample_key].astype(str), obs[cell_type_key].astype(str))
    tidy = wide.stack().rename("n_cells").reset_index()
    tidy.columns = [sample_key, cell_type_key, "n_cells"]
    per_sample = obs.groupby(obs[sample_key].astype(str), observed=True)
    constant = [c for c in obs.columns if c not in (sample_key, cell_type_key)
                and (per_sample[c].nunique(dropna=False) <= 1).all()]
    meta = per_sample[constant].first().astype(str).reset_index(names=sample_key)
    out = meta.merge(tidy, on=sample_key)
    out["n_cells"] = out["n_cells"].astype(int)
    return out[[sample_key, *constant, cell_type_key, "n_cells"]]
