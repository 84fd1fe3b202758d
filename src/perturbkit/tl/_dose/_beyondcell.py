"""Beyondcell (Fustero-Torre et al. 2021): a score per cell and drug signature, the switch
point, therapeutic clusters on the score matrix, and a ranking of drugs."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import as_dense, check_adata, check_finite, check_obs
from ._drug_signature_scoring import _check_signatures

__all__ = ["beyondcell_clusters", "beyondcell_ranks", "beyondcell_scores"]

BEYONDCELL = "beyondcell"


def _mode_score(x: np.ndarray) -> np.ndarray:
    """Beyondcell's normalised score of one gene set per cell (genes x cells input):
    raw mean x (sum - sd) / (mean + sd). A large SD (zeros or one outlier gene) shrinks it."""
    raw = x.mean(axis=0)
    sd = x.std(axis=0, ddof=1) if x.shape[0] > 1 else np.zeros(x.shape[1])
    total = x.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return raw * (total - sd) / (raw + sd)


def _switch_point(normalized: np.ndarray, scaled: np.ndarray) -> float:
    """The scaled score at which the normalised score changes sign (Beyondcell's SwitchPoint)."""
    ok = np.isfinite(normalized)
    if not ok.any():
        return float("nan")
    m, s = normalized[ok], scaled[ok]
    if (m >= 0).all():
        return 0.0
    if (m <= 0).all():
        return 1.0
    if (m == 0).any():
        return float(s[np.flatnonzero(m == 0)[0]])
    below = np.flatnonzero(m <= 0)[np.argmax(m[m <= 0])]
    above = np.flatnonzero(m >= 0)[np.argmin(m[m >= 0])]
    return float((s[below] + s[above]) / 2)


def beyondcell_scores(
    adata: AnnData,
    signatures: pd.DataFrame,
    *,
    layer: str | None = None,
    expr_thres: float = 0.1,
    comparison: Literal["sensitive_vs_resistant", "treated_vs_control"] = "sensitive_vs_resistant",
    key_added: str = BEYONDCELL,
    copy: bool = False,
) -> AnnData | None:
    """Beyondcell score (BCS) of every cell for every drug signature, and its switch point.

    For a signature with up genes U and down genes D, on the cell's normalised (log, not
    gene-scaled) expression: per mode, ``raw = mean``, ``sd`` and ``sum`` of the mode's genes,
    and the normalised score ``raw * (sum - sd) / (raw + sd)`` (Beyondcell's penalty for
    cells with many zeros or an outlier gene); the BCS is the up score minus the down score.
    A cell expressing fewer than ``expr_thres`` of the signature's genes (value > 0), or
    none, gets NaN: the normalisation by signature-gene coverage. With
    ``comparison="treated_vs_control"`` (perturbation signatures such as L1000's, up = up
    after the drug) the sign is flipped, so a cell that looks like the *reverse* of the
    drug's effect scores high. Each drug's BCS is then rescaled to [0, 1] over the cells
    (the *scaled* BCS), and the **switch point** is the scaled value at which the normalised
    BCS changes sign from negative (insensitive) to positive (sensitive): 0 means every
    cell is predicted sensitive, 1 none, and values near 0.5 a mixed population.

    Run ``sc.pp.normalize_total`` and ``sc.pp.log1p`` first. Signatures: the tidy table of
    :func:`drug_response_signatures` (``weight`` +1 = up in sensitive cell lines, -1 = up
    in resistant ones) or any ``source``/``target``/``weight`` table.

    Parameters
    ----------
    adata
        Cells x genes, normalised log expression (non-negative) in ``X`` or ``layers[layer]``.
    signatures
        Tidy table ``source`` (drug), ``target`` (gene), ``weight`` (sign: up > 0, down < 0).
    layer
        Layer to score instead of ``X``.
    expr_thres
        Least fraction of a signature's genes a cell must express (> 0) to get a score.
    comparison
        How the signatures were made (see above).
    key_added
        Key for the results.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``obsm[key_added]`` (DataFrame cells x drugs, float64, the normalised BCS;
        NaN below ``expr_thres``), ``obsm[f"{key_added}_scaled"]`` (the same rescaled to
        [0, 1] per drug) and ``uns[key_added]`` with ``"switch_point"`` (dict drug ->
        float) and ``"params"``; returns the copy if ``copy=True``.

    References
    ----------
    Fustero-Torre et al. (2021) Beyondcell: targeting cancer therapeutic heterogeneity in
    single-cell RNA-seq data, Genome Med 13:187.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(seed=0)
    >>> sig = pk.tl.drug_response_signatures(sim["ic50"], sim["expression"])
    >>> cells = sim["cells"]
    >>> cells.X = cells.X.clip(0)  # log expression is non-negative; the simulator is Gaussian
    >>> pk.tl.beyondcell_scores(cells, sig)
    >>> cells.obsm["beyondcell"].shape
    (800, 4)
    >>> bcs = cells.obsm["beyondcell"]["drug1"]
    >>> bool(bcs[cells.obs["clone"] == "B"].mean() > bcs[cells.obs["clone"] == "A"].mean())
    True
    """
    check_adata(adata)
    if not 0 <= expr_thres <= 1:
        raise ValueError(f"expr_thres must be a fraction in [0, 1], got {expr_thres}")
    if comparison not in ("sensitive_vs_resistant", "treated_vs_control"):
        raise ValueError(f"comparison must be 'sensitive_vs_resistant' or 'treated_vs_control', got {comparison!r}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    net = _check_signatures(signatures)
    x = as_dense(adata.X if layer is None else adata.layers[layer]).astype(float)
    name = "adata.X" if layer is None else f"adata.layers[{layer!r}]"
    check_finite(x, name=name)
    if (x < 0).any():
        raise ValueError(f"{name} has negative values; Beyondcell needs normalised log expression, "
                         "not gene-scaled (z-scored) data")
    genes = pd.Index(adata.var_names.astype(str))
    net["target"] = net["target"].astype(str)
    net = net[net["target"].isin(genes)]
    if net.empty:
        raise ValueError("no signature gene is in adata.var_names; check gene names (symbols vs ids)")
    normalized = {}
    for drug, grp in net.groupby("source", sort=True):
        modes = {}
        for mode, sel in (("up", grp["weight"] > 0), ("down", grp["weight"] < 0)):
            idx = genes.get_indexer(grp.loc[sel, "target"].unique())
            modes[mode] = _mode_score(x[:, idx].T) if len(idx) else None
        all_idx = genes.get_indexer(grp["target"].unique())
        n_expressed = (x[:, all_idx] > 0).sum(axis=1)
        below = (n_expressed < expr_thres * len(all_idx)) | (n_expressed == 0)
        up, down = modes["up"], modes["down"]
        if up is not None and down is not None:
            both_nan = np.isnan(up) & np.isnan(down)
            score = np.nan_to_num(up) - np.nan_to_num(down)
            score[both_nan] = np.nan
        else:
            score = up if up is not None else -down
        score = np.where(below, np.nan, score)
        if comparison == "treated_vs_control":
            score = -score
        normalized[str(drug)] = score
    bcs = pd.DataFrame(normalized, index=adata.obs_names)
    lo, hi = bcs.min(), bcs.max()
    scaled = (bcs - lo) / (hi - lo).where(hi > lo, 1.0)
    switch = {d: _switch_point(bcs[d].to_numpy(), scaled[d].to_numpy()) for d in bcs.columns}
    adata = adata.copy() if copy else adata
    adata.obsm[key_added] = bcs
    adata.obsm[f"{key_added}_scaled"] = scaled
    adata.uns[key_added] = {"switch_point": switch, "params": {
        "layer": layer, "expr_thres": expr_thres, "comparison": comparison}}
    return adata if copy else None


def beyondcell_clusters(
    adata: AnnData,
    *,
    key: str = BEYONDCELL,
    resolution: float = 0.3,
    n_neighbors: int = 15,
    seed: int = 0,
    key_added: str = "therapeutic_cluster",
    copy: bool = False,
) -> AnnData | None:
    """Therapeutic clusters: cells grouped by their scaled Beyondcell scores, with a UMAP.

    As Beyondcell's ``bcUMAP``: the cells x drugs matrix of scaled BCS (NaN set to the
    drug's mean over cells) is the representation for a k-nearest-neighbour graph, a UMAP
    and a Leiden clustering (scanpy; Beyondcell uses Seurat's Louvain). Cells in one
    therapeutic cluster share a predicted drug-response profile, whatever their
    expression cluster.

    Run :func:`beyondcell_scores` first.

    Parameters
    ----------
    adata
        AnnData scored by :func:`beyondcell_scores`.
    key
        Its ``key_added``.
    resolution, n_neighbors
        Leiden resolution and neighbours of the graph.
    seed
        Random seed (graph, UMAP, Leiden).
    key_added
        ``obs`` column for the clusters.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``obs[key_added]`` (categorical, "0", "1", ...) and
        ``obsm[f"X_{key}_umap"]`` (cells x 2, float); returns the copy if ``copy=True``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(seed=0)
    >>> cells = sim["cells"]
    >>> cells.X = cells.X.clip(0)
    >>> pk.tl.beyondcell_scores(cells, pk.tl.drug_response_signatures(sim["ic50"], sim["expression"]))
    >>> pk.tl.beyondcell_clusters(cells)
    >>> cells.obsm["X_beyondcell_umap"].shape
    (800, 2)
    """
    import scanpy as sc

    check_adata(adata)
    scaled_key = f"{key}_scaled"
    if scaled_key not in adata.obsm:
        raise KeyError(f"adata.obsm has no {scaled_key!r}; run pk.tl.beyondcell_scores(adata, signatures, "
                       f"key_added={key!r}) first")
    mat = pd.DataFrame(adata.obsm[scaled_key])
    mat = mat.fillna(mat.mean()).fillna(0.0)
    view = AnnData(mat.to_numpy(dtype=np.float32), obs=pd.DataFrame(index=adata.obs_names))
    sc.pp.neighbors(view, n_neighbors=n_neighbors, use_rep="X", random_state=seed)
    sc.tl.umap(view, random_state=seed)
    sc.tl.leiden(view, resolution=resolution, flavor="igraph", n_iterations=2, directed=False, random_state=seed)
    adata = adata.copy() if copy else adata
    adata.obs[key_added] = view.obs["leiden"].to_numpy()
    adata.obs[key_added] = adata.obs[key_added].astype("category")
    adata.obsm[f"X_{key}_umap"] = view.obsm["X_umap"]
    return adata if copy else None


def beyondcell_ranks(
    adata: AnnData,
    *,
    key: str = BEYONDCELL,
    cluster_key: str | None = None,
    sp_cutoff: tuple[float, float, float, float] = (0.1, 0.4, 0.6, 0.9),
    resm_cutoff: tuple[float, float] = (0.1, 0.9),
) -> pd.DataFrame:
    """Drugs ranked from most to least sensitive, overall and per cluster (Beyondcell's ranks).

    Per drug: the switch point (low = most cells sensitive), mean, median and SD of the
    normalised BCS and the fraction of NaN cells. With ``cluster_key``, also per cluster
    the **residuals' mean**: the cluster's mean BCS minus the drug's mean over all cells
    (how much more, > 0, or less, < 0, sensitive the cluster is than the sample). Drugs are
    ranked within each cluster by residuals' mean (descending), and labelled with
    Beyondcell's four squares: ``TOP-HighSensitivity`` (switch point < ``sp_cutoff[0]`` and
    residuals' mean above the ``resm_cutoff[1]`` quantile over drugs),
    ``TOP-LowSensitivity`` (> ``sp_cutoff[3]``, below the ``resm_cutoff[0]`` quantile), and
    the ``TOP-Differential-High/LowSensitivity`` drugs with a switch point between
    ``sp_cutoff[1]`` and ``sp_cutoff[2]``; others get "". Without ``cluster_key`` every cell
    is one group ``"all"`` ranked by switch point (ascending), then mean BCS (descending).

    Parameters
    ----------
    adata
        AnnData scored by :func:`beyondcell_scores`.
    key
        Its ``key_added``.
    cluster_key
        ``obs`` column of groups (e.g. the therapeutic clusters of
        :func:`beyondcell_clusters`).
    sp_cutoff, resm_cutoff
        Switch-point and residuals'-mean quantile cut-offs of the four squares.

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per cluster x drug: ``cluster`` (str), ``drug``, ``rank`` (int, 1 =
        most sensitive), ``switch_point``, ``mean``, ``median``, ``sd``, ``prop_na``,
        ``cluster_mean``, ``residuals_mean`` (float), ``n_cells`` (int), ``group`` (str).
        ``adata`` is not modified.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(seed=0)
    >>> cells = sim["cells"]
    >>> cells.X = cells.X.clip(0)
    >>> pk.tl.beyondcell_scores(cells, pk.tl.drug_response_signatures(sim["ic50"], sim["expression"]))
    >>> ranks = pk.tl.beyondcell_ranks(cells, cluster_key="clone")
    >>> ranks.query("cluster == 'B' and rank == 1")["drug"].item()
    'drug1'
    """
    check_adata(adata)
    if key not in adata.obsm or key not in adata.uns:
        raise KeyError(f"adata has no Beyondcell scores under {key!r}; run pk.tl.beyondcell_scores(adata, "
                       f"signatures, key_added={key!r}) first")
    if len(sp_cutoff) != 4 or list(sp_cutoff) != sorted(sp_cutoff) or not all(0 <= v <= 1 for v in sp_cutoff):
        raise ValueError(f"sp_cutoff must be 4 increasing values in [0, 1], got {sp_cutoff}")
    if len(resm_cutoff) != 2 or not 0 <= resm_cutoff[0] <= resm_cutoff[1] <= 1:
        raise ValueError(f"resm_cutoff must be 2 increasing quantiles in [0, 1], got {resm_cutoff}")
    # positions, not cell names: a duplicated name must not pull a cell into a cluster twice
    bcs = pd.DataFrame(adata.obsm[key]).reset_index(drop=True)
    switch = pd.Series(adata.uns[key]["switch_point"]).reindex(bcs.columns)
    stats = pd.DataFrame({
        "switch_point": switch, "mean": bcs.mean(), "median": bcs.median(), "sd": bcs.std(),
        "prop_na": bcs.isna().mean(),
    })
    if cluster_key is None:
        groups = pd.Series("all", index=bcs.index)
    else:
        check_obs(adata, cluster_key)
        groups = pd.Series(adata.obs[cluster_key].astype(str).to_numpy(), index=bcs.index)
    rows = []
    for cluster, idx in groups.groupby(groups, sort=True).groups.items():
        cmean = bcs.loc[idx].mean()
        tab = stats.assign(cluster=str(cluster), drug=bcs.columns, cluster_mean=cmean,
                           residuals_mean=cmean - stats["mean"], n_cells=len(idx))
        if cluster_key is None:
            order = tab.sort_values(["switch_point", "mean"], ascending=[True, False], kind="stable").index
        else:
            order = tab.sort_values("residuals_mean", ascending=False, kind="stable").index
        tab["rank"] = pd.Series(np.arange(1, len(tab) + 1), index=order)
        lo, hi = np.nanquantile(tab["residuals_mean"], resm_cutoff)
        sp, res = tab["switch_point"], tab["residuals_mean"]
        middle = (sp > sp_cutoff[1]) & (sp < sp_cutoff[2])
        tab["group"] = np.select(
            [(sp < sp_cutoff[0]) & (res > hi), (sp > sp_cutoff[3]) & (res < lo), middle & (res < lo), middle & (res > hi)],
            ["TOP-HighSensitivity", "TOP-LowSensitivity", "TOP-Differential-LowSensitivity",
             "TOP-Differential-HighSensitivity"], default="")
        rows.append(tab)
    out = pd.concat(rows, ignore_index=True)
    cols = ["cluster", "drug", "rank", "switch_point", "mean", "median", "sd", "prop_na", "cluster_mean",
            "residuals_mean", "n_cells", "group"]
    out = out[cols].sort_values(["cluster", "rank"], kind="stable").reset_index(drop=True)
    out["rank"] = out["rank"].astype(int)
    out["n_cells"] = out["n_cells"].astype(int)
    return out
