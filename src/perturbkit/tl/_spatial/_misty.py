"""MISTy: how much of each gene do a cell's own genes, its neighbours and its wider
surroundings explain? (LIANA+'s implementation, linear single-view models.)"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd
from anndata import AnnData

from ..._validate import check_obs
from ...pp._spatial_neighbors import check_coordinates

__all__ = ["misty"]


def misty(
    adata: AnnData,
    *,
    genes: Sequence[str] | None = None,
    cell_type_key: str | None = None,
    bandwidth: float = 30.0,
    cutoff: float = 0.05,
    n_neighs: int = 6,
    nz_threshold: float = 0.05,
    k_cv: int = 5,
    layer: str | None = None,
    spatial_key: str = "spatial",
    seed: int = 0,
    key_added: str = "misty",
    copy: bool = False,
) -> AnnData | None:
    """Multiview models of each gene from three spatial views (MISTy, Tanevski et al. 2022).

    For every target gene, three views of predictors are built: **intra** (the other genes
    of the same cell), **juxta** (the sum over the ``n_neighs`` nearest cells) and **para**
    (a Gaussian-weighted sum, sd ``bandwidth``, over the wider surroundings, the cell
    itself excluded). A linear model per view is fitted with ``k_cv``-fold cross-validation
    and the views are combined by a ridge meta-model. Reported per target: ``intra_R2``
    (the cell's own genes alone), ``multi_R2`` (all views), ``gain_R2 = multi_R2 -
    intra_R2`` (what the surroundings add) and each view's share. With ``cell_type_key`` the
    models are fitted within each group (e.g. cell type), so a gene that marks a niche
    cannot stand in for the niche itself.

    Must run first: normalisation and ``log1p`` of ``X``.

    Parameters
    ----------
    adata
        Cells with coordinates (µm) and log-normalised expression.
    genes
        Genes used as targets and predictors (default all; MISTy scales with their square).
    cell_type_key
        ``obs`` column; fit and report per group (LIANA+'s ``maskby``).
    bandwidth, cutoff
        Para view kernel width (coordinate units) and weight cut-off.
    n_neighs
        Neighbours in the juxta view.
    nz_threshold
        Minimum fraction of non-zero values for a gene to be modelled.
    k_cv, seed
        Cross-validation folds and seed.
    layer
        Layer to use instead of ``X``.
    spatial_key
        Key of the coordinates in ``obsm``.
    key_added
        ``uns`` key for the results.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``uns[key_added]``: ``target_metrics`` (DataFrame: ``target``, with
        ``cell_type_key`` the group as ``intra_group``, ``intra_R2``, ``multi_R2``, ``gain_R2``,
        and the view shares ``intra``, ``juxta``, ``para``), ``importances`` (DataFrame:
        ``target``, ``predictor``, ``view``, [``intra_group``], ``importances``, the
        standardised coefficients) and ``params``.

    Raises
    ------
    KeyError, ValueError
        Missing coordinates, genes, ``cell_type_key`` column or layer; fewer than two genes.

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> genes = ["EPCAM", "COL1A1", "CD3E", "CD68", "CXCL12", "CXCR4", "NR4A1"]
    >>> pk.tl.misty(tissue, genes=genes, cell_type_key="cell_type")
    >>> m = tissue.uns["misty"]["target_metrics"].set_index(["target", "intra_group"])
    >>> bool(m.loc[("NR4A1", "T cell"), "gain_R2"] > 0.2)
    True
    """
    import liana as li

    xy = check_coordinates(adata, spatial_key)
    if genes is None:
        genes = list(adata.var_names)
    missing = [g for g in genes if g not in adata.var_names]
    if missing:
        raise KeyError(f"genes not in adata.var_names: {missing[:10]}")
    if len(genes) < 2:
        raise ValueError("MISTy needs at least two genes (each is predicted from the others)")
    if cell_type_key is not None:
        check_obs(adata, cell_type_key)
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    sub = adata[:, list(genes)]
    work = AnnData(
        X=(sub.layers[layer] if layer is not None else sub.X).copy(),
        obs=adata.obs[[cell_type_key]].astype(str).astype("category") if cell_type_key is not None else pd.DataFrame(index=adata.obs_names),
        var=pd.DataFrame(index=list(genes)),
        obsm={"spatial": xy[:, :2]},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdata = li.mt.genericMistyData(
            intra=work, bandwidth=bandwidth, cutoff=cutoff, n_neighs=n_neighs, nz_threshold=nz_threshold,
            set_diag=False, spatial_key="spatial", verbose=False,
        )
        metrics, importances = mdata(
            model=li.mt.sp.LinearModel, k_cv=k_cv, seed=seed, maskby=cell_type_key, inplace=False, verbose=False,
        )
    adata = adata.copy() if copy else adata
    adata.uns[key_added] = {
        "target_metrics": metrics.reset_index(drop=True),
        "importances": importances.reset_index(drop=True),
        "params": {"genes": list(genes), "cell_type_key": cell_type_key, "bandwidth": bandwidth, "cutoff": cutoff,
                   "n_neighs": n_neighs, "k_cv": k_cv, "seed": seed, "model": "linear"},
    }
    return adata if copy else None
