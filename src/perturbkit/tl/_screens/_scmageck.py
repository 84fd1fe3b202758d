"""scMAGeCK-RRA: robust rank aggregation of a target's cells in each gene's expression ranking."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse, special

from ..._validate import check_adata, check_counts, check_group

__all__ = ["scmageck_lr", "scmageck_rra"]


def _rho(u: np.ndarray, top: float) -> np.ndarray:
    """RRA score per row of normalised ranks ``u`` (rows x n): min_k P(Beta(k, n-k+1) <= u_(k)),
    over the order statistics with ``u_(k) <= top`` (1 for rows with none)."""
    u = np.sort(u, axis=-1)
    n = u.shape[-1]
    kmax = int(min(n, max(1, (u <= top).sum(axis=-1).max())))
    # every k up to 50, then a geometric grid: the minimum over k of a smooth curve barely
    # moves, the work drops tenfold, and the null is computed on the same grid
    grid = np.unique(np.r_[np.arange(1, min(kmax, 50) + 1), np.geomspace(1, kmax, 60).round().astype(int)])
    u = u[..., grid - 1]
    k = np.broadcast_to(grid, u.shape)
    mask = u <= top
    out = np.ones(u.shape)
    out[mask] = special.betainc(k[mask], n - k[mask] + 1, u[mask])
    return out.min(axis=-1)


def scmageck_rra(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    targets: Sequence[str] | None = None,
    genes: Sequence[str] | None = None,
    layer: str | None = "counts",
    n_null: int = 1000,
    top: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """Rank-based test of each target on each gene, in the spirit of scMAGeCK-RRA.

    For one target and one gene, the target's cells and the control cells are ranked by
    the gene's normalised expression (ties broken at random, seeded). If the knockout
    lowers the gene, the target's cells crowd the bottom of the ranking. Robust rank
    aggregation summarises how unusual the target cells' normalised ranks are with
    ``rho = min_k P(Beta(k, n - k + 1) <= u_(k))`` (``u_(k)`` the k-th smallest), and its
    p-value comes from ``rho`` of ``n_null`` random sets of ``n`` uniform ranks (exact under
    the null, because ties are broken at random). The same on the reversed ranking tests
    for an increase. As in MAGeCK's RRA, only ranks in the ``top`` part of each ranking
    enter ``rho`` (a decrease lives in the lower half, an increase in the upper half), which
    also halves the work; the null uses the same rule. No distributional model of
    expression is needed.

    Run first: :func:`perturbkit.tl.assign_guides`.

    Parameters
    ----------
    adata
        Screen with raw counts and ``obs[groupby]``.
    groupby, control
        Perturbation labels and the control label.
    targets
        Targets to test (default all but control, ``"multiple"``, ``"unassigned"``).
    genes
        Genes to test (default all).
    layer
        Raw counts (``None``: ``X``).
    n_null
        Random rank sets per target size for the null distribution of ``rho``.
    top
        Normalised ranks above this are ignored in ``rho`` (0 < top <= 1).
    seed
        Seed of tie-breaking and the null.

    Returns
    -------
    DataFrame
        One row per (target, gene): ``target``, ``gene``, ``n_cells``, ``rho_down``,
        ``pvalue_down``, ``rho_up``, ``pvalue_up``, ``score`` (``-log10 pvalue_up +
        log10 pvalue_down``: positive = up in the target's cells) and ``rank`` (within
        target, by the smaller of the two ``rho``: 1 = strongest). ``adata`` is not
        modified.

    Raises
    ------
    ValueError
        No control cells; a requested target without cells; an unknown gene.

    References
    ----------
    Yang et al. 2020 :cite:`yang2020`; Kolde et al. 2012 :cite:`kolde2012`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=600, n_genes=20, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> rra = pk.tl.scmageck_rra(adata, targets=["T0"], n_null=200)
    >>> bool(rra.set_index("gene").loc["T0", "pvalue_down"] < 0.01)
    True
    """
    check_adata(adata)
    check_group(adata, groupby, control, role="control label")
    if not 0 < top <= 1:
        raise ValueError(f"top must be in (0, 1], got {top}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    raw = adata.layers[layer] if layer is not None else adata.X
    check_counts(raw, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    labels = adata.obs[groupby].astype(str).to_numpy()
    if targets is None:
        targets = sorted(t for t in set(labels) if t not in (control, "multiple", "unassigned"))
    for t in targets:
        if not (labels == t).any():
            raise ValueError(f"target {t!r} has no cells in adata.obs[{groupby!r}]")
    gidx = np.arange(adata.n_vars)
    if genes is not None:
        gidx = adata.var_names.get_indexer(list(genes))
        if (gidx < 0).any():
            raise ValueError(f"genes not in adata.var_names: {[g for g, i in zip(genes, gidx, strict=True) if i < 0][:10]}")
    x = raw.toarray() if sparse.issparse(raw) else np.asarray(raw)
    x = np.asarray(x, dtype=float)
    norm = (x / np.maximum(x.sum(1, keepdims=True), 1.0) * 1e4)[:, gidx]
    rng = np.random.default_rng(seed)
    ctrl = np.flatnonzero(labels == control)
    nulls: dict[int, np.ndarray] = {}
    frames = []
    for t in targets:
        cells = np.flatnonzero(labels == t)
        n = cells.size
        pool = np.r_[cells, ctrl]
        vals = norm[pool]
        # random tie-breaking: normalised values of distinct counts differ by far more than 1e-6
        order = np.argsort(vals + rng.random(vals.shape) * 1e-6, axis=0)
        ranks = np.empty_like(order)
        ranks[order, np.arange(vals.shape[1])[None, :]] = np.arange(len(pool))[:, None]
        u_down = (ranks[:n] + 1) / (len(pool) + 1)  # the target cells are the first n rows
        u_up = (len(pool) - ranks[:n]) / (len(pool) + 1)
        rho_down, rho_up = _rho(u_down.T, top), _rho(u_up.T, top)
        if n not in nulls:
            # null: n of the pooled positions drawn without replacement
            sims = np.sort(np.argsort(rng.random((n_null, len(pool))), axis=1)[:, :n], axis=1)
            nulls[n] = np.sort(_rho((sims + 1) / (len(pool) + 1), top))
        null = nulls[n]
        p_down = (1 + np.searchsorted(null, rho_down, side="right")) / (1 + n_null)
        p_up = (1 + np.searchsorted(null, rho_up, side="right")) / (1 + n_null)
        frames.append(pd.DataFrame({
            "target": t, "gene": np.asarray(adata.var_names[gidx]), "n_cells": n,
            "rho_down": rho_down, "pvalue_down": p_down, "rho_up": rho_up, "pvalue_up": p_up,
            "score": -np.log10(p_up) + np.log10(p_down),
        }))
    out = pd.concat(frames, ignore_index=True)
    # rank by the smaller rho: continuous, unlike p-values that pile up at the null's floor
    strength = np.minimum(out["rho_down"], out["rho_up"])
    out["rank"] = strength.groupby(out["target"]).rank(method="first").astype(int)
    return out


def _lr_design(adata: AnnData, *, groupby: str, control: str, guide_key: str | None, guides_key: str,
               non_targeting: str | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Cells kept, cells x targets 0/1 design, target names.

    From guide UMIs: every guide called positive by its own two-component mixture counts,
    so a cell with guides of two targets has two ones (scMAGeCK's barcode table). Without
    guide UMIs: one indicator per ``obs[groupby]`` label; "multiple"/"unassigned" cells dropped."""
    from ._guides import _guide_matrix, guide_mixture

    if guide_key is not None:
        mat, table = _guide_matrix(adata, guide_key, guides_key)
        nt = non_targeting if non_targeting is not None else adata.uns.get("non_targeting_label", "non-targeting")
        guide_target = table["target"].astype(str).to_numpy()
        targets = sorted(set(guide_target) - {str(nt)})
        col = {t: i for i, t in enumerate(targets)}
        x = np.zeros((adata.n_obs, len(targets)))
        dense = mat.toarray()
        for j, t in enumerate(guide_target):
            if t == str(nt):
                continue  # non-targeting guides are the baseline, like cells without a guide
            x[guide_mixture(dense[:, j])["posterior"] >= 0.5, col[t]] = 1.0
        keep = np.ones(adata.n_obs, dtype=bool)
    else:
        check_group(adata, groupby, control, role="control label")
        labels = adata.obs[groupby].astype(str).to_numpy()
        keep = ~np.isin(labels, ("multiple", "unassigned"))
        targets = sorted(set(labels[keep]) - {str(control)})
        x = (labels[keep][:, None] == np.asarray(targets)[None, :]).astype(float)
    if not targets:
        raise ValueError("no targeting perturbation in the design: every cell is a control")
    return keep, x, targets


def scmageck_lr(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    guide_key: str | None = "guide_counts",
    guides_key: str = "guides",
    non_targeting: str | None = None,
    genes: Sequence[str] | None = None,
    layer: str | None = "counts",
    lambda_: float = 0.01,
    n_permutations: int = 100,
    min_cells: int = 3,
    seed: int = 0,
) -> pd.DataFrame:
    """scMAGeCK-LR: every perturbation's effect on every gene from one ridge regression.

    The linear-regression variant of scMAGeCK {cite}`yang2020`. ``Y`` is each gene's
    log-normalised expression (counts per 10k, ``log1p``) scaled to mean 0 and sd 1 over
    cells, values clipped at 10 (Seurat's ``scale.data``, which scMAGeCK reads); ``X`` is the
    cells x targets design with a one where the cell carries a guide of that target, so a
    cell with guides of two targets contributes to both and both effects are estimated
    *jointly* (the point of the method at high MOI). The coefficients are
    ``B = (X'X + lambda I)^-1 X' Y`` (scMAGeCK's ``getsolvedmatrix``), with an intercept column
    of ones (the role of scMAGeCK's all-ones ``NegCtrl`` column; non-targeting cells and cells
    without a guide are the baseline). P-values permute the rows of ``X`` (cell labels)
    ``n_permutations`` times: the share of permuted ``|B|`` at least as large, with the
    observed one counted (``(1 + exceed) / (1 + n)``; scMAGeCK omits the +1 and so can return
    0). Departure: scMAGeCK reports one-sided ``pvalue_low``/``pvalue_high`` per gene as the two
    tails of the same permutations; here ``pvalue`` is the two-sided share and the sign of
    ``coef`` says which tail.

    Run first: nothing when ``obsm[guide_key]`` holds guide UMIs (each guide is called with
    :func:`perturbkit.tl.guide_mixture`); with ``guide_key=None``,
    :func:`perturbkit.tl.assign_guides` (single-target labels in ``obs[groupby]``).

    Parameters
    ----------
    adata
        Screen with raw counts in ``layers[layer]``.
    groupby, control
        Perturbation labels and the control label (used when ``guide_key`` is None).
    guide_key, guides_key
        Guide UMI matrix in ``obsm`` and the guide -> target table in ``uns``; ``guide_key=None``
        builds the design from ``obs[groupby]`` instead (one target per cell).
    non_targeting
        Target label of non-targeting guides (default ``uns["non_targeting_label"]``).
    genes
        Genes modelled (default all).
    layer
        Raw counts (``None``: ``X``).
    lambda_
        Ridge penalty (scMAGeCK's ``LAMBDA``, 0.01).
    n_permutations
        Permutations of the cell labels for p-values (0: none).
    min_cells
        Targets carried by fewer cells are left out with a warning naming them.
    seed
        Seed of the permutations.

    Returns
    -------
    DataFrame
        One row per (target, gene): ``target``, ``gene``, ``n_cells`` (cells carrying the
        target, in any combination), ``coef`` (shift of the scaled expression, in gene sd
        units; negative = lower with the guide), ``pvalue`` (with permutations), ``padj`` (BH
        within target) and ``rank`` (by ``|coef|`` within target, 1 = largest). ``adata`` is not
        modified.

    Raises
    ------
    KeyError
        ``obsm[guide_key]``, ``uns[guides_key]`` or ``layers[layer]`` missing.
    ValueError
        Non-finite or negative counts; lambda_ not positive; an unknown gene; no targets.

    References
    ----------
    Yang et al. 2020 :cite:`yang2020`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=800, n_genes=20, moi=1.5, seed=0)
    >>> lr = pk.tl.scmageck_lr(adata, n_permutations=50)
    >>> own = lr[lr["target"] == lr["gene"]]
    >>> bool((own["coef"] < 0).all())
    True
    """
    import warnings

    from ...metrics import bh_adjust

    check_adata(adata)
    if not lambda_ > 0:
        raise ValueError(f"lambda_ must be > 0, got {lambda_}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    raw = adata.layers[layer] if layer is not None else adata.X
    check_counts(raw, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    keep, x, targets = _lr_design(adata, groupby=groupby, control=control, guide_key=guide_key,
                                  guides_key=guides_key, non_targeting=non_targeting)
    sizes = x.sum(0)
    small = [t for t, n in zip(targets, sizes, strict=True) if n < min_cells]
    if small:
        warnings.warn(f"scmageck_lr: targets with fewer than {min_cells} cells left out: {small}",
                      UserWarning, stacklevel=2)
        cols = sizes >= min_cells
        x, targets, sizes = x[:, cols], [t for t, c in zip(targets, cols, strict=True) if c], sizes[cols]
    gidx = np.arange(adata.n_vars)
    if genes is not None:
        gidx = adata.var_names.get_indexer(list(genes))
        if (gidx < 0).any():
            raise ValueError(f"genes not in adata.var_names: {[g for g, i in zip(genes, gidx, strict=True) if i < 0][:10]}")
    counts = raw[np.flatnonzero(keep)]
    counts = np.asarray(counts.toarray() if sparse.issparse(counts) else counts, dtype=float)
    y = np.log1p(counts / np.maximum(counts.sum(1, keepdims=True), 1.0) * 1e4)[:, gidx]
    sd = y.std(0, ddof=1)
    y = np.minimum((y - y.mean(0)) / np.where(sd > 0, sd, 1.0), 10.0)
    design = np.column_stack([x, np.ones(len(y))])
    # X'X is unchanged by permuting the rows of X: one inverse serves every permutation
    inv = np.linalg.inv(design.T @ design + lambda_ * np.eye(design.shape[1]))
    coef = (inv @ (design.T @ y))[: len(targets)]
    out = pd.DataFrame({
        "target": np.repeat(targets, len(gidx)),
        "gene": np.tile(np.asarray(adata.var_names[gidx]), len(targets)),
        "n_cells": np.repeat(sizes.astype(int), len(gidx)),
        "coef": coef.ravel(),
    })
    if n_permutations > 0:
        rng = np.random.default_rng(seed)
        members = [np.flatnonzero(x[:, j]) for j in range(x.shape[1])]
        exceed = np.zeros_like(coef)
        ysum = y.sum(0)
        cross = np.empty((len(targets) + 1, y.shape[1]))
        cross[-1] = ysum
        for _ in range(n_permutations):
            # X[perm]' Y: row t sums Y over the cells that receive target t's labels
            where = np.argsort(rng.permutation(len(y)))
            for j, cells in enumerate(members):
                cross[j] = y[where[cells]].sum(0)
            exceed += np.abs((inv @ cross)[: len(targets)]) >= np.abs(coef) - 1e-12
        out["pvalue"] = ((1 + exceed) / (1 + n_permutations)).ravel()
        out["padj"] = out.groupby("target")["pvalue"].transform(lambda p: bh_adjust(p.to_numpy()))
    out["rank"] = out.groupby("target")["coef"].transform(
        lambda c: c.abs().rank(ascending=False, method="first")).astype(int)
    return out
