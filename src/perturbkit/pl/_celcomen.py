"""Plots of Celcomen's learnt interaction matrices and of a Simcomen knockout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from anndata import AnnData

from .._keys import require_uns
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["intercellular_coefficients", "interaction_matrix", "knockout_propagation"]


@fill_doc
def interaction_matrix(
    adata: AnnData,
    *,
    which: str = "inter",
    key: str = "celcomen",
    genes: Sequence[str] | None = None,
    vmax: float | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Heatmap of a gene-gene interaction matrix learnt by :func:`perturbkit.tl.celcomen`.

    Parameters
    ----------
    adata
        AnnData with ``uns[key]`` written by :func:`perturbkit.tl.celcomen`.
    which
        ``"inter"`` (gene in a cell x gene in its neighbours) or ``"intra"`` (within a cell).
    key
        ``uns`` key of the fitted model.
    genes
        Genes to show, in this order (default all).
    vmax
        Colour limit (symmetric; default the largest off-diagonal |value| shown).
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError, ValueError
        No model under ``key``; ``which`` not ``"inter"``/``"intra"``; unknown genes.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_coupled_tissue(12, n_sweeps=20, seed=0)
    >>> pk.tl.celcomen(tissue, n_neighbors=4, n_iter=20)
    >>> ax = pk.pl.interaction_matrix(tissue, which="inter")
    """
    import matplotlib.pyplot as plt

    if which not in ("inter", "intra"):
        raise ValueError(f"which must be 'inter' or 'intra', got {which!r}")
    model = require_uns(adata, key, producer=f"pk.tl.celcomen(adata, key_added={key!r})")
    mat: pd.DataFrame = model[which]
    if genes is not None:
        missing = [g for g in genes if g not in mat.index]
        if missing:
            raise KeyError(f"genes not in the Celcomen model under {key!r}: {missing}")
        mat = mat.loc[list(genes), list(genes)]
    values = mat.to_numpy(dtype=float)
    if ax is None:
        side = 2.5 + 0.22 * len(mat)
        _, ax = plt.subplots(figsize=(side + 1, side))
    off = values[~np.eye(len(values), dtype=bool)] if len(values) > 1 else values.ravel()
    lim = vmax if vmax is not None else float(np.abs(off).max() or 1.0)
    im = ax.imshow(values, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_xticks(range(len(mat)), mat.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(mat)), mat.index, fontsize=7)
    where = "neighbouring cell" if which == "inter" else "same cell"
    ax.set_xlabel(f"gene in the {where}")
    ax.set_ylabel("gene in the cell")
    plt.colorbar(im, ax=ax, label="interaction (log-probability per unit co-expression)", shrink=0.7)
    ax.set_title(title if title is not None else f"Celcomen {which}-cellular interactions")
    return ax


@fill_doc
def knockout_propagation(
    result: pd.DataFrame,
    *,
    genes: Sequence[str] | None = None,
    n_genes: int = 5,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Mean change of each gene with distance from the knockout, from :func:`perturbkit.tl.simcomen`.

    Parameters
    ----------
    result
        The table :func:`perturbkit.tl.simcomen` returns.
    genes
        Genes to draw (default the ``n_genes`` with the largest |change| in the knockout's
        direct neighbours, hop 1).
    n_genes
        Number of genes when ``genes`` is ``None``.
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        Columns of :func:`perturbkit.tl.simcomen` or requested genes missing.

    Examples
    --------
    >>> import numpy as np, perturbkit as pk
    >>> tissue = pk.data.simulate_coupled_tissue(12, n_sweeps=20, seed=0)
    >>> pk.tl.celcomen(tissue, n_neighbors=4, n_iter=20)
    >>> res = pk.tl.simcomen(tissue, "LIGAND", np.arange(tissue.n_obs) < 10)
    >>> ax = pk.pl.knockout_propagation(res)
    """
    import matplotlib.pyplot as plt

    missing = [c for c in ("hop", "gene", "delta", "n_cells") if c not in result.columns]
    if missing:
        raise KeyError(f"result lacks columns {missing}: pass the table pk.tl.simcomen returns")
    weighted = result.assign(_w=result["delta"] * result["n_cells"]).groupby(["gene", "hop"])[["_w", "n_cells"]].sum()
    by_hop = (weighted["_w"] / weighted["n_cells"]).unstack("hop")
    if genes is None:
        first = 1 if 1 in by_hop.columns else by_hop.columns.min()
        genes = list(by_hop[first].abs().sort_values(ascending=False).index[:n_genes])
    absent = [g for g in genes if g not in by_hop.index]
    if absent:
        raise KeyError(f"genes not in the Simcomen result: {absent}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    hops = list(by_hop.columns)
    for gene in genes:
        ax.plot(hops, by_hop.loc[gene, hops], marker="o", label=gene)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(hops, [f"{h}+" if h == max(hops) else str(h) for h in hops])
    ax.set_xlabel("distance from the knocked-out cells (graph hops; 0 = the cells themselves)")
    ax.set_ylabel("knockout − sham (unit-norm expression)")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(title if title is not None else "Simcomen: how far the knockout reaches")
    return ax


@fill_doc
def intercellular_coefficients(
    result: pd.DataFrame,
    rows: Sequence[tuple[str, str]],
    *,
    predictors: Sequence[str] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Heatmap of :func:`perturbkit.tl.intercellular_regression` coefficients: targets x
    (predictor, scope), the inter-cellular block first.

    Parameters
    ----------
    result
        The table :func:`perturbkit.tl.intercellular_regression` returns.
    rows
        ``(group, target)`` pairs to show, top to bottom.
    predictors
        Predictor order within each block (default as they appear).
    {title}
    {ax}

    {returns_axes}

    Raises
    ------
    KeyError
        Columns missing, or a ``(group, target)`` pair not in ``result``.

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(800, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> res = pk.tl.intercellular_regression(tissue, ["CD274"], predictors=["CD3E", "EPCAM"], cell_type_key="cell_type")
    >>> ax = pk.pl.intercellular_coefficients(res, [("Tumor", "CD274")])
    """
    import matplotlib.pyplot as plt

    missing = [c for c in ("group", "target", "predictor", "scope", "coef") if c not in result.columns]
    if missing:
        raise KeyError(f"result lacks columns {missing}: pass the table pk.tl.intercellular_regression returns")
    keys = set(zip(result["group"], result["target"], strict=True))
    absent = [r for r in rows if tuple(r) not in keys]
    if absent:
        raise KeyError(f"(group, target) pairs not in the result: {absent}")
    sel = result[[(g, t) in set(map(tuple, rows)) for g, t in zip(result["group"], result["target"], strict=True)]]
    mat = sel.assign(row=sel["target"] + " (" + sel["group"] + ")", col=sel["predictor"] + " · " + sel["scope"])
    mat = mat.pivot(index="row", columns="col", values="coef").fillna(0.0)
    mat = mat.loc[[f"{t} ({g})" for g, t in rows]]
    order = list(predictors) if predictors is not None else list(dict.fromkeys(result["predictor"]))
    mat = mat[[f"{p} · {w}" for w in ("inter", "intra") for p in order if f"{p} · {w}" in mat.columns]]
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * mat.shape[1] + 3, 0.45 * mat.shape[0] + 2))
    lim = float(np.abs(mat.to_numpy()).max()) or 1.0
    im = ax.imshow(mat.to_numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(mat.shape[1]), mat.columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(mat.shape[0]), mat.index, fontsize=8)
    ax.set(xlabel="predictor · where it acts (inter: neighbours' mean; intra: same cell)",
           ylabel="target (receiving cell type)", title=title if title is not None else "Standardised regression coefficients")
    plt.colorbar(im, ax=ax, label="coefficient (SD of target per SD of predictor)", shrink=0.8)
    return ax
