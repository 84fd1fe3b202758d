"""Spatial statistics: neighbourhood enrichment between cell types and Moran's I per gene."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._keys import nhood_key
from ..._validate import check_obs
from ...metrics import bh_adjust
from ...pp._spatial_neighbors import CONNECTIVITIES, check_coordinates, quiet_squidpy

__all__ = ["co_occurrence", "nhood_enrichment", "ripley", "spatial_autocorr"]


def _check_graph(adata: AnnData) -> None:
    if CONNECTIVITIES not in adata.obsp:
        raise KeyError(
            f"adata.obsp has no {CONNECTIVITIES!r}: run pk.pp.spatial_neighbors(adata) first"
        )


def nhood_enrichment(
    adata: AnnData,
    *,
    cell_type_key: str = "cell_type",
    n_perms: int = 200,
    seed: int = 0,
    copy: bool = False,
) -> AnnData | None:
    """Are cells of type A found next to cells of type B more often than by chance?

    Counts graph edges between every pair of categories and compares them with
    ``n_perms`` random relabellings of the cells (squidpy's permutation test, Palla et al.
    2022): ``z = (observed - mean_perm) / sd_perm``. Positive z: the two types are
    neighbours more often than their abundances predict; negative: they avoid each other.

    Must run first: :func:`perturbkit.pp.spatial_neighbors`.

    Parameters
    ----------
    adata
        Cells with a spatial graph and a categorical ``obs[cell_type_key]``.
    cell_type_key
        Cell labels (cast to categorical).
    n_perms
        Label permutations.
    seed
        Random seed of the permutations.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``uns["<cell_type_key>_nhood_enrichment"]``: ``zscore`` (float64, k x k, rows and
        columns in the order of ``obs[cell_type_key].cat.categories``), ``count`` (observed
        edges, k x k), ``categories`` (list of str) and ``params``.

    Raises
    ------
    KeyError
        Missing ``obs[cell_type_key]``, coordinates or spatial graph.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> pk.pp.spatial_neighbors(tissue)
    >>> pk.tl.nhood_enrichment(tissue, cell_type_key="niche", n_perms=50)
    >>> z = pk.get.nhood_enrichment(tissue, cell_type_key="niche")
    >>> bool(z.query("group_a == group_b")["zscore"].min() > 3)
    True
    """
    import squidpy as sq

    check_coordinates(adata)
    check_obs(adata, cell_type_key)
    _check_graph(adata)
    adata = adata.copy() if copy else adata
    if not isinstance(adata.obs[cell_type_key].dtype, pd.CategoricalDtype):
        adata.obs[cell_type_key] = adata.obs[cell_type_key].astype("category")
    adata.obs[cell_type_key] = adata.obs[cell_type_key].cat.remove_unused_categories()
    if len(adata.obs[cell_type_key].cat.categories) < 2:
        raise ValueError(f"adata.obs[{cell_type_key!r}] needs at least two categories")
    z, count = sq.gr.nhood_enrichment(
        adata, cluster_key=cell_type_key, n_perms=n_perms, seed=seed, copy=True,
        n_jobs=1, show_progress_bar=False,
    )
    adata.uns[nhood_key(cell_type_key)] = {
        "zscore": np.asarray(z, dtype=float),
        "count": np.asarray(count),
        "categories": [str(c) for c in adata.obs[cell_type_key].cat.categories],
        "params": {"cell_type_key": cell_type_key, "n_perms": n_perms, "seed": seed},
    }
    return adata if copy else None


def spatial_autocorr(
    adata: AnnData,
    *,
    genes: list[str] | None = None,
    layer: str | None = None,
    within: str | None = None,
    n_perms: int = 100,
    seed: int = 0,
) -> pd.DataFrame:
    """Moran's I of each gene over the spatial graph: is expression spatially patterned?

    ``I = (n / W) * sum_ij w_ij z_i z_j / sum_i z_i^2`` with ``z`` the centred expression
    and ``w`` the graph. I near 0: no pattern; I > 0: neighbours look alike (a gradient,
    a layer); I < 0: neighbours differ (a chequerboard). Computed with
    :func:`squidpy.gr.spatial_autocorr`; p-values from ``n_perms`` permutations, FDR by
    Benjamini-Hochberg.

    Must run first: :func:`perturbkit.pp.spatial_neighbors` (and usually normalisation
    plus log1p of ``X``).

    Parameters
    ----------
    adata
        Cells with a spatial graph.
    genes
        Genes to score (default all).
    layer
        Layer to use instead of ``X``.
    within
        An ``obs`` column (e.g. ``"cell_type"``): centre each gene on its mean within every
        category first, so I measures patterning *beyond* where the categories sit. A gene
        that is patterned only because its cell type is layered drops to I ~ 0.
    n_perms, seed
        Permutations for the p-value (0: none, ``pvalue``/``padj`` are NaN) and their seed.

    Returns
    -------
    DataFrame
        One row per gene, sorted by I (descending): ``gene``, ``I``, ``pvalue``, ``padj``
        (permutation based, BH), ``pvalue_norm`` (normal approximation), ``constant``
        (bool). A gene constant over the cells (or within every ``within`` group) has no
        Moran's I (0 / 0): its row has NaN values, ``constant=True``, comes last, and a
        warning names it. ``adata`` is not modified.

    Raises
    ------
    KeyError, ValueError
        Missing graph, coordinates, genes, layer or ``within`` column; NaN or infinite
        expression (naming the matrix and the first cell and gene); every gene constant.

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> pk.pp.spatial_neighbors(tissue)
    >>> moran = pk.tl.spatial_autocorr(tissue, n_perms=20)
    >>> moran.iloc[0]["gene"] in {"CCL19", "CCR7", "EPCAM", "KRT8"}
    True
    """
    import squidpy as sq

    check_coordinates(adata)
    _check_graph(adata)
    if genes is not None:
        missing = [g for g in genes if g not in adata.var_names]
        if missing:
            raise KeyError(f"genes not in adata.var_names: {missing[:10]}")
    from ..._validate import as_dense, check_layer

    names = list(adata.var_names) if genes is None else list(genes)
    # NaN/inf would turn a gene's I into NaN (or poison its permutations) without a word
    x = as_dense(check_layer(adata[:, names], layer, finite=True)).astype(float)
    if within is not None:
        check_obs(adata, within)
        x = x - pd.DataFrame(x).groupby(adata.obs[within].astype(str).to_numpy()).transform("mean").to_numpy()
    # a constant gene (after centring within groups) has no Moran's I: 0 / 0
    constant = np.ptp(x, axis=0) <= 1e-12 * np.maximum(np.abs(x).max(axis=0), 1.0)
    if constant.all():
        raise ValueError(f"every gene is constant{' within ' + repr(within) if within else ''}: "
                         "Moran's I is undefined (0 / 0); nothing to score")
    if constant.any():
        flat = [g for g, c in zip(names, constant, strict=True) if c]
        warnings.warn(f"{len(flat)} constant gene(s) have no Moran's I (0 / 0) and get NaN rows flagged "
                      f"constant=True: {flat[:10]}", UserWarning, stacklevel=2)
    kept = [g for g, c in zip(names, constant, strict=True) if not c]
    work = AnnData(x[:, ~constant], obs=adata.obs[[]], var=pd.DataFrame(index=kept),
                   obsp={CONNECTIVITIES: adata.obsp[CONNECTIVITIES]})
    res = sq.gr.spatial_autocorr(
        work, mode="moran", genes=kept, n_perms=n_perms or None, seed=seed,
        copy=True, n_jobs=1, show_progress_bar=False,
    )
    out = pd.DataFrame(
        {
            "gene": res.index.astype(str),
            "I": res["I"].to_numpy(dtype=float),
            "pvalue": res["pval_sim"].to_numpy(dtype=float) if "pval_sim" in res else np.nan,
            "pvalue_norm": res["pval_norm"].to_numpy(dtype=float),
            "constant": False,
        }
    )
    if constant.any():
        out = pd.concat([out, pd.DataFrame({"gene": [g for g in names if g not in set(kept)], "I": np.nan,
                                            "pvalue": np.nan, "pvalue_norm": np.nan, "constant": True})],
                        ignore_index=True)
    out["padj"] = bh_adjust(out["pvalue"].to_numpy(dtype=float))
    out = out[["gene", "I", "pvalue", "padj", "pvalue_norm", "constant"]]
    return out.sort_values("I", ascending=False, ignore_index=True, na_position="last")


def co_occurrence(
    adata: AnnData,
    *,
    cell_type_key: str = "cell_type",
    distances: np.ndarray | list[float] | None = None,
    spatial_key: str = "spatial",
) -> pd.DataFrame:
    """Co-occurrence of cell types across distances (squidpy): ``P(A | B within d) / P(A)``.

    For each pair (A, B) and distance bin d, the probability of finding type A among the
    cells at distance d from a B cell, divided by A's overall frequency. A ratio above 1:
    A is found near B more often than its abundance predicts at that distance; it tends to
    1 at large d.

    Parameters
    ----------
    adata
        Cells with coordinates and ``obs[cell_type_key]``.
    cell_type_key
        Cell labels.
    distances
        Edges of the distance bins (coordinate units); default 20 bins from 10 to 300.
    spatial_key
        Key of the coordinates in ``obsm``.

    Returns
    -------
    DataFrame
        ``group_a``, ``group_b``, ``distance`` (upper edge of the bin), ``ratio``; one row
        per pair and bin. ``adata`` is not modified.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> co = pk.tl.co_occurrence(tissue, cell_type_key="niche", distances=[10, 50, 100])
    >>> sorted(co.columns)
    ['distance', 'group_a', 'group_b', 'ratio']
    """
    import squidpy as sq

    check_coordinates(adata, spatial_key)
    check_obs(adata, cell_type_key)
    edges = np.asarray(distances if distances is not None else np.linspace(10, 300, 21), dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("distances must be at least two increasing bin edges")
    ad = AnnData(obs=adata.obs[[cell_type_key]].astype(str).astype("category"), obsm={spatial_key: adata.obsm[spatial_key]})
    with quiet_squidpy():
        prob, _ = sq.gr.co_occurrence(
            ad, cluster_key=cell_type_key, spatial_key=spatial_key, interval=edges, copy=True
        )
    cats = list(ad.obs[cell_type_key].cat.categories)
    k, n_bins = len(cats), prob.shape[2]
    return pd.DataFrame(
        {
            "group_a": np.repeat(cats, k * n_bins),
            "group_b": np.tile(np.repeat(cats, n_bins), k),
            "distance": np.tile(edges[1 : n_bins + 1], k * k),
            "ratio": prob.ravel(),
        }
    )


def ripley(
    adata: AnnData,
    *,
    cell_type_key: str = "cell_type",
    max_dist: float | None = None,
    n_steps: int = 30,
    n_simulations: int = 20,
    null: str = "labels",
    seed: int = 0,
    spatial_key: str = "spatial",
) -> pd.DataFrame:
    """Ripley's L per cell type: are a type's cells clustered, random or regular?

    ``K(d) = A / (n (n - 1)) * #{pairs i != j of the type closer than d}`` with ``A`` the
    area of the section's bounding box, and ``L(d) = sqrt(K(d) / pi)``. Without edge
    correction L falls short of d at large d even for random points, so the reference is
    not d itself but ``L_random``: the same statistic on ``n_simulations`` random patterns
    of the same number of points. With ``null="labels"`` (default) these are random subsets
    of all cells, so the tissue's own shape and holes are part of the null; with
    ``null="uniform"`` they are uniform in the bounding box, and any tissue that does not
    fill its box looks clustered. ``L > L_random``: clustered (a layer, a patch);
    ``L < L_random``: regularly spaced. (squidpy's ``gr.ripley`` is the
    edge-corrected library version.)

    Parameters
    ----------
    adata
        Cells with coordinates and ``obs[cell_type_key]``.
    cell_type_key
        Cell labels.
    max_dist, n_steps
        Largest distance (coordinate units; default a quarter of the shorter side) and
        number of distance steps.
    n_simulations, seed
        Random patterns per type and their seed.
    null
        ``"labels"`` (random subsets of all cells) or ``"uniform"`` (uniform in the box).
    spatial_key
        Key of the coordinates in ``obsm``.

    Returns
    -------
    DataFrame
        ``group``, ``n_cells``, ``distance``, ``L`` (observed), ``L_random`` (mean of the
        simulations), ``L_random_hi`` (their 95th percentile); ``adata`` is not modified.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> rip = pk.tl.ripley(tissue, cell_type_key="niche", n_simulations=5)
    >>> row = rip.query("group == 'stroma'").iloc[-1]
    >>> bool(row["L"] > row["L_random_hi"])
    True
    """
    from scipy.spatial import cKDTree

    xy = check_coordinates(adata, spatial_key)[:, :2]
    check_obs(adata, cell_type_key)
    if null not in ("labels", "uniform"):
        raise ValueError(f"null must be 'labels' or 'uniform', got {null!r}")
    lo, hi = xy.min(0), xy.max(0)
    area = float(np.prod(hi - lo))
    if max_dist is None:
        max_dist = float((hi - lo).min() / 4)
    radii = np.linspace(0, max_dist, n_steps + 1)[1:]
    rng = np.random.default_rng(seed)

    def _l(points: np.ndarray) -> np.ndarray:
        n = len(points)
        tree = cKDTree(points)
        pairs = tree.count_neighbors(tree, radii) - n  # drop self-pairs
        return np.sqrt(area * pairs / (n * (n - 1)) / np.pi)

    rows = []
    labels = adata.obs[cell_type_key].astype(str).to_numpy()
    for group in sorted(set(labels)):
        pts = xy[labels == group]
        if len(pts) < 3:
            continue
        sims = np.array([
            _l(rng.uniform(lo, hi, size=pts.shape) if null == "uniform" else xy[rng.choice(len(xy), len(pts), replace=False)])
            for _ in range(n_simulations)
        ])
        rows.append(pd.DataFrame({"group": group, "n_cells": len(pts), "distance": radii, "L": _l(pts),
                                  "L_random": sims.mean(0), "L_random_hi": np.percentile(sims, 95, axis=0)}))
    return pd.concat(rows, ignore_index=True)
