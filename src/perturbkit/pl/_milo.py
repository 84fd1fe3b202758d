"""Milo's beeswarm: neighbourhood log fold changes per cell type (twin of pk.tl.milo)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ._docs import fill_doc

__all__ = ["milo"]


@fill_doc
def milo(
    da: pd.DataFrame,
    *,
    alpha: float = 0.1,
    perturbation: str | None = None,
    title: str | None = None,
    seed: int = 0,
    ax: Axes | None = None,
) -> Axes:
    """Neighbourhood log2 fold changes grouped by cell type, as Milo's ``plotDAbeeswarm``.

    One dot per neighbourhood: red when enriched and blue when depleted in the perturbed
    samples at spatial FDR below ``alpha``, grey otherwise; dots are jittered vertically.

    Parameters
    ----------
    da
        Table of :func:`perturbkit.tl.milo` (needs ``cell_type``, ``log2fc``, ``spatial_fdr``).
    alpha
        Spatial FDR threshold for colouring.
    perturbation
        Which perturbation to draw when the table has several.
    {title}
    seed
        Seeds the vertical jitter.
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cells=40, n_genes=50, n_donors=3, seed=0)
    >>> sc.pp.normalize_total(adata); sc.pp.log1p(adata); sc.pp.pca(adata, n_comps=10)
    >>> ax = pk.pl.milo(pk.tl.milo(adata, sample_key="sample", n_neighbors=20))
    """
    import matplotlib.pyplot as plt

    need = {"cell_type", "log2fc", "spatial_fdr", "perturbation"}
    missing = sorted(need - set(da.columns))
    if missing:
        raise KeyError(f"columns {missing} not in the table; pass the result of pk.tl.milo with cell_type_key set")
    perts = list(pd.unique(da["perturbation"]))
    if perturbation is None and len(perts) > 1:
        raise ValueError(f"the table has perturbations {perts}; pass perturbation=")
    d = da[da["perturbation"] == (perturbation or perts[0])]
    if d.empty:
        raise ValueError(f"perturbation {perturbation!r} not in the table; choose from {perts}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * d["cell_type"].nunique()))
    order = d.groupby("cell_type")["log2fc"].median().sort_values().index
    rng = np.random.default_rng(seed)
    for i, ct in enumerate(order):
        sub = d[d["cell_type"] == ct]
        colour = np.where(sub["spatial_fdr"] >= alpha, "#bdbdbd", np.where(sub["log2fc"] > 0, "#d62728", "#1f77b4"))
        ax.scatter(sub["log2fc"], i + rng.uniform(-0.3, 0.3, len(sub)), c=colour, s=8, alpha=0.8)
    ax.axvline(0, c="k", lw=1, ls="--")
    ax.set_yticks(range(len(order)), order)
    ax.set(xlabel="log2 fold change of abundance, perturbed / control (per neighbourhood)",
           ylabel="majority cell type of the neighbourhood",
           title=title or f"Milo: neighbourhoods at spatial FDR < {alpha:g} in colour")
    return ax
