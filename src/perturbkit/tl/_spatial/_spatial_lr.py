"""Spatially weighted ligand-receptor scores (LIANA+ bivariate local Moran's I)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from anndata import AnnData

from ...pp._spatial_neighbors import check_coordinates
from ._ccc import check_resource

__all__ = ["spatial_lr"]


def spatial_lr(
    adata: AnnData,
    *,
    resource: pd.DataFrame | str = "consensus",
    bandwidth: float = 20.0,
    cutoff: float = 0.1,
    mask_negatives: bool = True,
    nz_prop: float = 0.05,
    n_perms: int = 100,
    spatial_key: str = "spatial",
    seed: int = 0,
    key_added: str = "spatial_lr",
    copy: bool = False,
) -> AnnData | None:
    """Where in the tissue are a ligand and its receptor expressed next to each other?

    For every ligand-receptor pair, LIANA+'s bivariate local Moran's I: at cell i,
    ``I_i = z_L(i) * sum_j w_ij z_R(j)`` with z the standardised log-expression and w a
    Gaussian kernel of the distance (sd ``bandwidth``, cut where it falls below ``cutoff``,
    no self-weight), scaled as in LIANA+. Large and positive: a cell high in the ligand sits
    among cells high in the receptor (or vice versa). With ``mask_negatives`` only such
    high-high cells keep their score (low-low pairs, where *neither* is expressed, would
    otherwise count as agreement). The global bivariate Moran's I summarises the whole
    section: positive when ligand and receptor are expressed in the same places, negative
    when they avoid each other {Dimitrov et al. 2024}.

    Must run first: normalisation and ``log1p`` of ``X``. The spatial kernel is built
    here (a private copy), so a squidpy graph in ``obsp`` is left as it is.

    Parameters
    ----------
    adata
        Cells with coordinates in ``obsm[spatial_key]`` (µm), log-normalised ``X``.
    resource
        Ligand-receptor table (``ligand``, ``receptor``) or a liana resource name.
    bandwidth, cutoff
        Kernel width (coordinate units) and the weight below which neighbours are dropped.
    mask_negatives
        Set every local score that is not high-ligand next to high-receptor to 0.
    nz_prop
        Minimum fraction of cells expressing the ligand and the receptor.
    n_perms, seed
        Permutations for local and global p-values and their seed.
    spatial_key
        Key of the coordinates in ``obsm``.
    key_added
        Where results are written.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``obsm[key_added]`` (DataFrame, cells x ``"LIGAND^RECEPTOR"``, float: local
        score), ``obsm[key_added + "_pvals"]`` (same shape, local permutation p-values) and
        ``uns[key_added]``: ``global`` (DataFrame per interaction: ``ligand``, ``receptor``,
        ``global_moran``, ``global_pvalue``, ``mean_local``, ``frac_significant`` (local p <
        0.05 and score > 0)) and ``params``.

    Raises
    ------
    KeyError, ValueError
        No or non-finite coordinates; no pair of the resource measured.

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> pairs = tissue.uns["truth"]["lr_pairs"][["ligand", "receptor"]]
    >>> pk.tl.spatial_lr(tissue, resource=pairs, n_perms=20)
    >>> g = tissue.uns["spatial_lr"]["global"]
    >>> g.loc["CCL19^CCR7", "frac_significant"]  # never expressed side by side
    np.float64(0.0)
    >>> bool(g.loc["CXCL12^CXCR4", "frac_significant"] > 0.02)
    True
    """
    import liana as li

    xy = check_coordinates(adata, spatial_key)
    table = check_resource(resource, adata.var_names)
    if bandwidth <= 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    work = AnnData(X=adata.X.copy(), obs=pd.DataFrame(index=adata.obs_names),
                   var=pd.DataFrame(index=adata.var_names), obsm={"spatial": xy})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        li.ut.spatial_neighbors(work, bandwidth=bandwidth, cutoff=cutoff, set_diag=False, spatial_key="spatial")
        lrdata = li.mt.bivariate(
            work, resource=table, local_name="morans", global_name="morans", n_perms=n_perms or None,
            mask_negatives=mask_negatives, nz_prop=nz_prop, seed=seed, use_raw=False, verbose=False,
        )
    if lrdata is None or lrdata.n_vars == 0:
        raise ValueError(
            f"no ligand-receptor pair passes nz_prop={nz_prop} (both genes expressed in that fraction of cells)"
        )
    names = [str(v) for v in lrdata.var_names]

    def _dense(x: object) -> np.ndarray:
        return np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=float)

    local = pd.DataFrame(_dense(lrdata.X), index=adata.obs_names, columns=names)
    pvals = (pd.DataFrame(_dense(lrdata.layers["pvals"]), index=adata.obs_names, columns=names)
             if "pvals" in lrdata.layers else pd.DataFrame(np.nan, index=adata.obs_names, columns=names))
    glob = pd.DataFrame(
        {
            "ligand": lrdata.var["ligand"].astype(str).to_numpy(),
            "receptor": lrdata.var["receptor"].astype(str).to_numpy(),
            "global_moran": lrdata.var["morans"].to_numpy(dtype=float),
            "global_pvalue": lrdata.var["morans_pvals"].to_numpy(dtype=float) if "morans_pvals" in lrdata.var else np.nan,
            "mean_local": local.mean().to_numpy(),
            "frac_significant": ((pvals < 0.05) & (local > 0)).mean().to_numpy(),
        },
        index=pd.Index(names, name="interaction"),
    ).sort_values("global_moran", ascending=False)
    adata = adata.copy() if copy else adata
    adata.obsm[key_added] = local
    adata.obsm[f"{key_added}_pvals"] = pvals
    adata.uns[key_added] = {
        "global": glob,
        "params": {"bandwidth": bandwidth, "cutoff": cutoff, "mask_negatives": mask_negatives,
                   "nz_prop": nz_prop, "n_perms": n_perms, "seed": seed, "spatial_key": spatial_key},
    }
    return adata if copy else None
