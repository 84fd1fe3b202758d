"""Augur: rank cell types by how well a classifier separates perturbed from control cells."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from ..._validate import as_dense, check_finite
from ._contrasts import contrasts

__all__ = ["augur"]

FeatureSelection = Literal["augur", "cv", "none"]


def _local_quadratic(
    x: np.ndarray, y: np.ndarray, at: np.ndarray, *, q: int, block: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """Value and slope at each of ``at`` of a tricube-weighted quadratic fit on the ``q``
    nearest points of ``x`` (the local fit of R's ``loess`` with ``degree = 2``)."""
    value, slope = np.empty(len(at)), np.empty(len(at))
    for start in range(0, len(at), block):
        dx = x[None, :] - at[start:start + block, None]
        d = np.abs(dx)
        h = np.partition(d, q - 1, axis=1)[:, q - 1:q]
        w = np.clip(1 - (d / np.where(h > 0, h, np.finfo(float).tiny)) ** 3, 0, None) ** 3
        basis = np.stack([np.ones_like(dx), dx, dx**2], axis=-1)
        xtwx = np.einsum("bn,bni,bnj->bij", w, basis, basis)
        xtwy = np.einsum("bn,bni,n->bi", w, basis, y)
        coef = (np.linalg.pinv(xtwx) @ xtwy[..., None])[..., 0]  # pinv: ties can make it singular
        value[start:start + block], slope[start:start + block] = coef[:, 0], coef[:, 1]
    return value, slope


def _loess_vertices(x: np.ndarray, *, fc: int) -> np.ndarray:
    """Vertices of loess's k-d tree in one dimension (Cleveland's ``ehg126``/``ehg124``).

    The bounding box is widened by 0.5% of the range on each side; a cell with more than
    ``fc`` points is split at its median point (ties go to the upper cell).
    """
    xs = np.sort(x)
    lo, hi = xs[0], xs[-1]
    margin = 0.005 * max(hi - lo, 1e-10 * max(abs(lo), abs(hi)) + 1e-30)
    verts = [lo - margin, hi + margin]
    stack = [(0, len(xs) - 1, verts[0], verts[1])]  # 0-based inclusive point ranges
    while stack:
        first, last, v_lo, v_hi = stack.pop()
        if last - first + 1 <= fc:
            continue
        m = (first + last) // 2
        offset = 0
        while first <= m + offset < last:
            if xs[m + offset] == xs[m + offset + 1]:
                offset = -offset + (1 if -offset >= 0 else 0)
            else:
                m += offset
                break
        cut = xs[m]
        if cut in (v_lo, v_hi):
            continue
        verts.append(cut)
        stack += [(first, m, v_lo, cut), (m + 1, last, cut, v_hi)]
    return np.sort(np.asarray(verts))


def _loess(x: np.ndarray, y: np.ndarray, *, span: float) -> np.ndarray:
    """Fitted values of R's ``loess(y ~ x, span = span)`` (degree 2, gaussian family).

    As R and scikit-misc do by default (``surface = "interpolate"``, ``cell = 0.2``), the
    local fit is evaluated at the vertices of a k-d tree and blended between vertices by
    cubic Hermite interpolation of values and slopes; this matches scikit-misc's
    ``loess`` to ~1e-12 (checked in development).
    """
    n = len(x)
    q = min(max(int(np.floor(n * span)), 3), n)
    verts = _loess_vertices(x, fc=int(np.floor(n * span * 0.2)))
    value, slope = _local_quadratic(x, y, verts, q=q)
    j = np.clip(np.searchsorted(verts, x, side="right") - 1, 0, len(verts) - 2)
    width = verts[j + 1] - verts[j]
    t = (x - verts[j]) / width
    return ((1 - t) ** 2 * (1 + 2 * t) * value[j] + t**2 * (3 - 2 * t) * value[j + 1]
            + (t * (1 - t) ** 2 * slope[j] - t**2 * (1 - t) * slope[j + 1]) * width)


def _cox_p(x: np.ndarray, fit_x: np.ndarray, z: np.ndarray, fit_z: np.ndarray, y: np.ndarray) -> float:
    """Cox test p-value that model ``z`` gains nothing from model ``x``'s fit (as pertpy).

    pertpy's ``Augur.cox_compare`` (a port of ``lmtest::coxtest``) regresses the fitted
    values of one loess on the other's predictor and back, without intercepts.
    """
    n = len(y)
    sigma2_x = np.sum((y - fit_x) ** 2) / n
    sigma2_z = np.sum((y - fit_z) ** 2) / n
    err_zx = fit_x - z * (z @ fit_x) / (z @ z)
    err_xzx = err_zx - x * (x @ err_zx) / (x @ x)
    sigma2_zx = sigma2_x + err_zx @ err_zx / n
    c01 = n / 2.0 * (np.log(sigma2_z) - np.log(sigma2_zx))
    v01 = sigma2_x * (err_xzx @ err_xzx) / sigma2_zx**2
    return float(2 * stats.norm.sf(abs(c01 / np.sqrt(v01))))


def _select_genes(x: np.ndarray, *, method: FeatureSelection, var_quantile: float, span: float) -> np.ndarray:
    """Indices of the genes Augur's variance filter keeps, from all cells of one cell type.

    ``"augur"`` follows R Augur's ``select_variance`` (and pertpy's port): drop constant
    genes, regress ``mean / sd`` on the mean (or on its log, whichever a Cox test prefers)
    by loess after clipping the 1% tails of the ratio, and keep genes whose residual is
    above its ``var_quantile`` quantile. ``"cv"`` does the same with ``sd / mean``.
    ``"none"`` keeps every non-constant gene.
    """
    mean = x.mean(0)
    sd = x.std(0)
    genes = np.flatnonzero(sd > 0)
    if method == "none" or len(genes) < 10:
        return genes
    ratio = mean[genes] / sd[genes] if method == "augur" else sd[genes] / mean[genes]
    lo, hi = np.quantile(ratio, [0.01, 0.99])
    inner = (ratio >= lo) & (ratio <= hi)
    genes, y, m = genes[inner], ratio[inner], mean[genes][inner]
    fit_raw = _loess(m, y, span=span)
    if np.any(m <= 0):
        fitted = fit_raw
    else:
        log_m = np.log(m)
        fit_log = _loess(log_m, y, span=span)
        p_raw = _cox_p(m, fit_raw, log_m, fit_log, y)
        p_log = _cox_p(log_m, fit_log, m, fit_raw, y)
        fitted = fit_raw if p_raw < p_log else fit_log
    resid = y - fitted
    return genes[resid > np.quantile(resid, var_quantile)]


def _max_features(max_features: int | float | str | None, n_features: int) -> int:
    """Genes tried per split, resolved as scikit-learn's trees resolve ``max_features``."""
    if max_features is None:
        return n_features
    if isinstance(max_features, str):
        if max_features not in ("sqrt", "log2"):
            raise ValueError(f"max_features must be an int, a float, 'sqrt', 'log2' or None, got {max_features!r}")
        return max(1, int((np.sqrt if max_features == "sqrt" else np.log2)(n_features)))
    if isinstance(max_features, (int, np.integer)):
        return int(max_features)
    return max(1, int(max_features * n_features)) if max_features > 0 else 0


def _forest_proba(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, *, n_trees: int,
    max_features: int | float | str | None, random_state: int,
) -> np.ndarray:
    """``RandomForestClassifier(n_estimators=n_trees, max_features=max_features,
    random_state=random_state).fit(x_train, y_train).predict_proba(x_test)[:, 1]``, bit for
    bit, for 0/1 labels and default settings otherwise (tests/tl/stats/test_augur.py checks equality).

    Why: on Augur's 40-cell draws a tree takes ~0.05 ms to grow, but scikit-learn's forest
    spends ~3 ms a tree cloning the estimator and re-validating inputs and labels; this loop
    drives the same Cython tree builder with the same random states (the forest's
    ``RandomState`` gives each tree a seed, which draws its bootstrap and seeds its splitter)
    and sums the trees' probabilities in the same order. Falls back to the forest itself
    where scikit-learn's tree internals are not importable.
    """
    if not np.isin(y_train, (0, 1)).all() or len(np.unique(y_train)) != 2:
        raise ValueError("_forest_proba needs labels 0 and 1, both present")
    try:
        return _lean_forest_proba(x_train, y_train, x_test, n_trees=n_trees, max_features=max_features,
                                  random_state=random_state)
    except (ImportError, TypeError, AttributeError):  # pragma: no cover - internals moved in this scikit-learn
        from sklearn.ensemble import RandomForestClassifier

        rf = RandomForestClassifier(n_estimators=n_trees, max_features=max_features,
                                    random_state=random_state, n_jobs=1).fit(x_train, y_train)
        return rf.predict_proba(x_test)[:, 1]


def _lean_forest_proba(x_train, y_train, x_test, *, n_trees, max_features, random_state) -> np.ndarray:
    """The loop of :func:`_forest_proba` over scikit-learn's private tree builder (their
    signatures change between releases: a TypeError there falls back to the forest)."""
    from sklearn.tree._criterion import Gini
    from sklearn.tree._splitter import BestSplitter
    from sklearn.tree._tree import DepthFirstTreeBuilder, Tree

    xtr = np.ascontiguousarray(x_train, dtype=np.float32)
    xte = np.ascontiguousarray(x_test, dtype=np.float32)
    y = np.ascontiguousarray(y_train, dtype=np.float64).reshape(-1, 1)
    n, n_features = xtr.shape
    n_classes = np.array([2], dtype=np.intp)
    mtry = _max_features(max_features, n_features)
    forest_rng = np.random.RandomState(random_state)
    tree_seeds = [forest_rng.randint(np.iinfo(np.int32).max) for _ in range(n_trees)]
    total = np.zeros((len(xte), 2))
    for tree_seed in tree_seeds:
        boot = np.random.RandomState(tree_seed).randint(0, n, n).astype(np.int32)
        weight = np.bincount(boot, minlength=n).astype(np.float64)
        splitter = BestSplitter(Gini(1, n_classes), mtry, 1, 0.0, np.random.RandomState(tree_seed), None)
        tree = Tree(n_features, n_classes, 1)
        DepthFirstTreeBuilder(splitter, 2, 1, 0.0, np.iinfo(np.int32).max, 0.0).build(tree, xtr, y, weight, None)
        total += tree.predict(xte).reshape(len(xte), -1)[:, :2]  # class shares of the leaf, as predict_proba
    total /= n_trees
    return total[:, 1]


def _subsample_auc(
    x: np.ndarray, y: np.ndarray, *, n_folds: int, n_trees: int, max_features: int | float | str,
    rng: np.random.Generator,
) -> float:
    """Mean over ``n_folds`` stratified folds of the held-out AUC of a random forest."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    x = x[:, x.var(0) > 0]  # constant within the draw: no split can use it
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=int(rng.integers(2**31)))
    aucs = []
    for train, test in folds.split(x, y):
        proba = _forest_proba(x[train], y[train], x[test], n_trees=n_trees, max_features=max_features,
                              random_state=int(rng.integers(2**31)))
        aucs.append(roc_auc_score(y[test], proba))
    return float(np.mean(aucs))


def augur(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    split_by: str = "cell_type",
    perturbations: Sequence[str] | None = None,
    layer: str | None = None,
    subsample_size: int | None = 20,
    n_subsamples: int = 50,
    n_folds: int = 3,
    n_trees: int = 100,
    max_features: int | float | str = 2,
    feature_selection: FeatureSelection = "augur",
    var_quantile: float = 0.5,
    span: float = 0.75,
    feature_fraction: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """Cell-type prioritisation by cross-validated random-forest AUC, as Augur computes it.

    For each cell type (and perturbation), following R Augur's ``calculate_auc`` and
    pertpy's ``Augur``:

    1. **Variance filter, once per cell type**, on all its control and perturbed cells
       (``feature_selection="augur"``): genes are scored by the loess residual of
       ``mean / sd`` against the mean expression (``span``; raw or log mean, chosen by a
       Cox test), and genes above the ``var_quantile`` quantile of residuals are kept.
       Note the ratio: it is the *inverse* coefficient of variation, so the filter keeps
       genes **less** variable than genes of similar mean and drops the most variable ones
       (strongly induced genes among them). This is what R Augur and pertpy compute;
       their documentation describes the opposite intent, which ``"cv"`` implements
       (residuals of ``sd / mean``). ``"none"`` keeps every non-constant gene.
    2. **Subsamples**: ``n_subsamples`` times, draw ``subsample_size`` control and as many
       perturbed cells and a random ``feature_fraction`` of the kept genes.
    3. **Cross-validated forest**: ``n_folds`` stratified folds; a random forest of
       ``n_trees`` trees trying ``max_features`` genes per split (Augur's ``mtry = 2``);
       the AUC of each held-out fold, averaged over folds, is the subsample's score.

    The AUC (mean over subsamples) ranks cell types: 0.5 is no separable response, 1 a
    perfectly separable one. Drawing the same number of cells everywhere is what makes AUCs
    comparable across cell types of different abundance. With matched settings the AUCs
    agree with pertpy 1.0.3 within the subsampling noise (``benchmarks/principles.py``).

    Parameters
    ----------
    adata
        Log-normalised cells (``X`` or ``layers[layer]``), as Augur's default input.
    groupby, control, split_by, perturbations
        Perturbation column, control label, cell-type column, labels to test.
    layer
        Use this layer instead of ``X``.
    subsample_size
        Cells drawn per condition in each subsample; ``None`` uses all cells of both
        conditions in one draw per subsample (the cell-number-biased variant, Augur's
        ``n_subsamples = 0``).
    n_subsamples
        Subsamples averaged per cell type (Augur's default 50; fewer only add noise).
    n_folds, n_trees
        Cross-validation folds; trees per forest.
    max_features
        Genes tried at each split (scikit-learn's ``max_features``; Augur's ``mtry`` = 2).
    feature_selection
        ``"augur"`` (Augur's filter), ``"cv"`` (the documented intent: keep genes more
        variable than expected) or ``"none"``; see step 1.
    var_quantile, span
        Residual quantile below which genes are dropped; loess span.
    feature_fraction
        Fraction of the kept genes drawn at random for each subsample (``floor``; 1 uses
        them all).
    seed
        Random seed (subsamples, genes, folds, forests).

    Returns
    -------
    DataFrame
        One row per (cell type, perturbation): ``split_by``, ``perturbation``, ``auc``
        (mean over subsamples), ``auc_sd`` (SD over subsamples), ``n_control``,
        ``n_perturbed`` (cells available), ``cells_per_draw`` (per condition),
        ``n_genes`` and ``genes`` (number and tuple of names of the genes passing the
        variance filter). ``adata`` is not modified.

    Raises
    ------
    ValueError
        ``subsample_size`` larger than the smaller condition of some cell type, or too
        small for ``n_folds`` (naming it); an unknown ``feature_selection``; the errors of
        the design checks (missing control, NaN, ...).

    References
    ----------
    Skinnider MA et al. (2021) Cell type prioritization in single-cell data. Nat Biotechnol
    39:30-34.

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cells=30, seed=0)
    >>> sc.pp.normalize_total(adata); sc.pp.log1p(adata)
    >>> res = pk.tl.augur(adata, n_subsamples=5, n_trees=50, feature_selection="cv")
    >>> res.sort_values("auc", ascending=False)["cell_type"].tolist()
    ['type0', 'type1', 'type2']
    """
    if n_subsamples < 1 or n_folds < 2 or n_trees < 1:
        raise ValueError("n_subsamples >= 1, n_folds >= 2 and n_trees >= 1 are required")
    if feature_selection not in ("augur", "cv", "none"):
        raise ValueError(f"feature_selection must be 'augur', 'cv' or 'none', got {feature_selection!r}")
    if not (0 <= var_quantile < 1 and 0 < feature_fraction <= 1 and 0 < span <= 1):
        raise ValueError("var_quantile must be in [0, 1), feature_fraction and span in (0, 1]")
    if subsample_size is not None and subsample_size < 2 * n_folds:
        # Augur's own rule: at least two cells of each condition in every fold
        raise ValueError(f"subsample_size={subsample_size} is below 2 * n_folds = {2 * n_folds}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    x_all = as_dense(adata.X if layer is None else adata.layers[layer])
    check_finite(x_all, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    rng = np.random.default_rng(seed)
    rows = []
    for c in contrasts(adata, groupby=groupby, control=control, split_by=split_by,
                       perturbations=perturbations, min_cells=n_folds):
        n_c, n_p = len(c.control_idx), len(c.perturbed_idx)
        if subsample_size is not None and subsample_size > min(n_c, n_p):
            raise ValueError(
                f"subsample_size={subsample_size} but {split_by}={c.split!r} has {n_c} control and "
                f"{n_p} {c.perturbation!r} cells; lower subsample_size"
            )
        x_ct = x_all[np.concatenate([c.control_idx, c.perturbed_idx])]
        genes = _select_genes(x_ct, method=feature_selection, var_quantile=var_quantile, span=span)
        n_draw = max(2, int(np.floor(feature_fraction * len(genes))))
        aucs = []
        for _ in range(n_subsamples):
            if subsample_size is None:
                ic, ip = np.arange(n_c), n_c + np.arange(n_p)
            else:
                ic = rng.choice(n_c, size=subsample_size, replace=False)
                ip = n_c + rng.choice(n_p, size=subsample_size, replace=False)
            feats = np.sort(rng.choice(genes, size=min(n_draw, len(genes)), replace=False))
            y = np.r_[np.zeros(len(ic)), np.ones(len(ip))]
            aucs.append(_subsample_auc(x_ct[np.ix_(np.concatenate([ic, ip]), feats)], y, n_folds=n_folds,
                                       n_trees=n_trees, max_features=max_features, rng=rng))
        rows.append({
            split_by: c.split,
            "perturbation": c.perturbation,
            "auc": float(np.mean(aucs)),
            "auc_sd": float(np.std(aucs, ddof=1)) if len(aucs) > 1 else np.nan,
            "n_control": n_c,
            "n_perturbed": n_p,
            "cells_per_draw": subsample_size if subsample_size is not None else min(n_c, n_p),
            "n_genes": len(genes),
            "genes": tuple(adata.var_names[genes]),
        })
    return pd.DataFrame(rows)
