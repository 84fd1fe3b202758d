"""Transcription-factor activity from regulons with decoupler's univariate linear model."""

from __future__ import annotations

import pandas as pd
from anndata import AnnData

from ..._validate import as_dense, check_adata, check_finite
from ...metrics import bh_adjust

__all__ = ["tf_activity", "tf_activity_contrast"]


def _check_net(net: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(net, pd.DataFrame):
        raise TypeError(f"net must be a DataFrame with source/target/weight, got {type(net).__name__}")
    missing = [c for c in ("source", "target") if c not in net.columns]
    if missing:
        raise KeyError(f"net has no column {missing}; it needs 'source', 'target' (and 'weight')")
    net = net[["source", "target", "weight"]] if "weight" in net else net[["source", "target"]].assign(weight=1.0)
    check_finite(net["weight"], name="net['weight']")
    return net.drop_duplicates(["source", "target"])


def _ulm(mat: pd.DataFrame, net: pd.DataFrame, tmin: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    import decoupler as dc

    shared = net["target"].isin(mat.columns)
    sizes = net[shared].groupby("source").size()
    if (sizes >= tmin).sum() == 0:
        raise ValueError(
            f"no regulator has >= {tmin} targets among the {mat.shape[1]} genes; "
            "lower tmin or check that gene names match (symbols vs ids)"
        )
    scores, pvals = dc.mt.ulm(data=mat, net=net, tmin=tmin, verbose=False)
    return scores, pvals


def tf_activity(
    adata: AnnData,
    net: pd.DataFrame,
    *,
    layer: str | None = None,
    tmin: int = 5,
    key_added: str = "tf_activity",
    copy: bool = False,
) -> AnnData | None:
    """Score each cell's activity of every transcription factor from its targets' expression.

    For each cell and regulator, decoupler's univariate linear model (ulm) regresses the
    cell's expression over all genes on the regulator's signed target weights (+1 activated,
    -1 repressed, 0 not a target); the t-value of the slope is the activity score.

    Run ``sc.pp.normalize_total`` and ``sc.pp.log1p`` first (scores assume roughly normal
    values, not raw counts).

    Parameters
    ----------
    adata
        Log-normalised cells (``X`` or ``layers[layer]``), genes as symbols in ``var_names``.
    net
        Regulons with ``source``, ``target``, ``weight`` (e.g.
        ``pk.data.load("regulons_dorothea")``).
    layer
        Use this layer instead of ``X``.
    tmin
        Regulators with fewer targets among the genes are dropped.
    key_added
        Where to write.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``obsm[key_added]`` (DataFrame cells x regulators, float: ulm t-values,
        positive = targets up), ``obsm[f"{key_added}_pvalue"]`` (same shape, raw p-values)
        and ``uns[key_added]["params"]``.

    References
    ----------
    Badia-i-Mompel P et al. (2022) decoupleR. Bioinformatics Advances 2:vbac016.

    Examples
    --------
    >>> import numpy as np, pandas as pd, scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cell_types=1, response=[1.0], seed=0)
    >>> sc.pp.normalize_total(adata); sc.pp.log1p(adata)
    >>> up = [g for g in adata.uns["truth"]["de_genes"]["type0"]
    ...       if adata.uns["truth"]["log_fc"].loc[g, "type0"] > 0]
    >>> net = pd.DataFrame({"source": "TF", "target": up, "weight": 1.0})
    >>> pk.tl.tf_activity(adata, net, tmin=3)
    >>> adata.obsm["tf_activity"].groupby(adata.obs["perturbation"].to_numpy()).mean()["TF"].idxmax()
    'stimulated'
    """
    check_adata(adata)
    net = _check_net(net)
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    x = as_dense(adata.X if layer is None else adata.layers[layer])
    check_finite(x, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    mat = pd.DataFrame(x, index=adata.obs_names, columns=adata.var_names)
    scores, pvals = _ulm(mat, net, tmin)
    out = adata.copy() if copy else adata
    out.obsm[key_added] = scores.loc[out.obs_names]
    out.obsm[f"{key_added}_pvalue"] = pvals.loc[out.obs_names]
    out.uns[key_added] = {"params": {"method": "ulm", "tmin": tmin, "layer": layer,
                                     "n_regulators": int(scores.shape[1])}}
    return out if copy else None


def tf_activity_contrast(
    de: pd.DataFrame,
    net: pd.DataFrame,
    *,
    split_by: str | None = "cell_type",
    stat: str = "stat",
    tmin: int = 5,
) -> pd.DataFrame:
    """Regulator activity change behind a differential-expression result, per cell type.

    Applies ulm to a contrast-level statistic (default the Wald statistic of
    :func:`perturbkit.tl.pseudobulk_de`): a regulator scores high when its activated targets
    have large positive statistics and its repressed targets negative ones. The replicates
    have already been accounted for in the DE model, so this inherits its calibration.

    Parameters
    ----------
    de
        Tidy DE table with ``gene``, ``stat`` and ``split_by`` columns.
    net
        Regulons (``source``, ``target``, ``weight``).
    split_by
        One score per group of this column (``None``: ``de`` is a single contrast).
    stat
        Column of ``de`` used as the gene-level statistic (genes with NaN are dropped).
    tmin
        Minimum number of targets among the tested genes.

    Returns
    -------
    DataFrame
        One row per (group, regulator): ``split_by``, ``source``, ``score`` (ulm t-value;
        positive = more active under the perturbation), ``pvalue``, ``padj`` (BH within the
        group), sorted by group and decreasing score.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cell_types=1, response=[1.0], seed=0)
    >>> de = pk.tl.pseudobulk_de(adata, split_by=None)
    >>> up = [g for g in adata.uns["truth"]["de_genes"]["type0"]
    ...       if adata.uns["truth"]["log_fc"].loc[g, "type0"] > 0]
    >>> net = pd.DataFrame({"source": "TF", "target": up, "weight": 1.0})
    >>> res = pk.tl.tf_activity_contrast(de, net, split_by=None, tmin=3)
    >>> bool(res.loc[0, "score"] > 3)
    True
    """
    net = _check_net(net)
    need = ["gene", stat] + ([split_by] if split_by else [])
    missing = [c for c in need if c not in de.columns]
    if missing:
        raise KeyError(f"de has no column {missing}; columns: {list(de.columns)}")
    clean = de.dropna(subset=[stat])
    if clean.empty:
        raise ValueError(f"de[{stat!r}] is all NaN")
    key = split_by if split_by else "_all"
    if not split_by:
        clean = clean.assign(_all="all")
    mat = clean.pivot_table(index=key, columns="gene", values=stat, aggfunc="mean")
    # a gene untested in one group carries no evidence there: 0 is the neutral statistic
    mat = mat.fillna(0.0)
    scores, pvals = _ulm(mat, net, tmin)
    tidy = scores.stack().rename("score").to_frame().join(pvals.stack().rename("pvalue"))
    tidy.index.names = [key, "source"]
    tidy = tidy.reset_index()
    tidy["padj"] = tidy.groupby(key)["pvalue"].transform(bh_adjust)
    tidy = tidy.sort_values([key, "score"], ascending=[True, False], ignore_index=True)
    if not split_by:
        tidy = tidy.drop(columns="_all")
    return tidy
