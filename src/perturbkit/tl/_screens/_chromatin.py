"""Perturbation effects on chromatin: differential accessibility, motif deviations, peak-to-gene links.

The input is a cells x peaks matrix of fragment counts (scATAC-seq, the ATAC half of
sci-CAR, or CUT&Tag reads over the peaks of a mark); only whether a peak has a fragment
in a cell is used, which is what sparse single-cell chromatin data can tell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse, stats
from scipy.special import expit

from ..._validate import as_dense, check_adata, check_counts, check_finite, check_group, check_obs
from ...metrics import bh_adjust

__all__ = ["differential_accessibility", "motif_deviation", "peak_gene_links"]


def _binary(adata: AnnData, layer: str | None) -> np.ndarray:
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    x = adata.layers[layer] if layer is not None else adata.X
    check_counts(x, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    return (as_dense(x) > 0).astype(float)


def _groups(adata: AnnData, groupby: str, control: str, targets: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    check_obs(adata, groupby)
    check_group(adata, groupby, control, role="control (non-targeting) group")
    labels = adata.obs[groupby].astype(str).to_numpy()
    present = list(dict.fromkeys(labels[labels != str(control)]))
    if targets is None:
        order = adata.obs[groupby].cat.categories if hasattr(adata.obs[groupby], "cat") else sorted(present)
        targets = [str(t) for t in order if str(t) in present]
    for t in targets:
        check_group(adata, groupby, t, role="target")
    return labels, list(targets)


def _log_depth(adata: AnnData, depth_key: str) -> np.ndarray:
    check_obs(adata, depth_key)
    depth = check_finite(adata.obs[depth_key], name=f"adata.obs[{depth_key!r}]")
    if (depth <= 0).any():
        raise ValueError(f"adata.obs[{depth_key!r}] must be > 0 (fragments per cell); min is {depth.min()}")
    return np.log(depth)


def _logistic_irls(z: np.ndarray, y: np.ndarray, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regressions of every column of ``y`` on the same design ``z`` at once.

    Returns coefficients (peaks x k) and log-likelihoods (peaks). A tiny ridge keeps
    peaks with complete separation (never open in one group) finite.
    """
    n, k = z.shape
    frac = np.clip(y.mean(axis=0), 0.5 / n, 1 - 0.5 / n)
    beta = np.zeros((y.shape[1], k))
    beta[:, 0] = np.log(frac / (1 - frac))
    ridge = 1e-6 * np.eye(k)
    for _ in range(max_iter):
        mu = expit(np.clip(z @ beta.T, -30, 30))
        w = np.maximum(mu * (1 - mu), 1e-10)
        h = np.empty((y.shape[1], k, k))
        for a in range(k):
            for b in range(a, k):
                h[:, a, b] = h[:, b, a] = (z[:, a] * z[:, b]) @ w
        g = (z.T @ (y - mu)).T - beta @ ridge
        step = np.linalg.solve(h + ridge, g[..., None])[..., 0]
        beta += np.clip(step, -5, 5)
        if np.abs(step).max() < 1e-8:
            break
    mu = np.clip(expit(np.clip(z @ beta.T, -30, 30)), 1e-12, 1 - 1e-12)
    ll = (y * np.log(mu) + (1 - y) * np.log(1 - mu)).sum(axis=0)
    return beta, ll


def differential_accessibility(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    targets: Sequence[str] | None = None,
    depth_key: str = "total_fragments",
    layer: str | None = None,
) -> pd.DataFrame:
    """Test every peak for a change in accessibility between each target's cells and controls.

    Two tests per peak and target, on whether the peak has a fragment in a cell:

    - the **model**: a logistic regression (binomial GLM) of the peak's 0/1 state on the
      group indicator with the cell's log total fragments as covariate, tested by a
      likelihood-ratio test of the group term (chi-squared, 1 df). A cell with twice the
      fragments has more of its open peaks seen; the covariate takes that out, so a
      target whose cells were sequenced shallower is not called "closed" everywhere;
    - the **naive baseline**: a two-proportion z-test on the share of cells with a
      fragment, which ignores depth.

    Parameters
    ----------
    adata
        Cells x peaks fragment counts in ``X`` (or ``layers[layer]``); binarised.
    groupby, control
        ``obs`` column of perturbation labels and the label of non-targeting cells.
    targets
        Targets to test (default every other label).
    depth_key
        ``obs`` column with each cell's total fragments (> 0), in and outside the peaks.
    layer
        Layer with the counts (``None``: ``X``).

    Returns
    -------
    DataFrame
        One row per (target, peak): ``target``, ``peak``, ``n_target``, ``n_control``
        (cells), ``frac_target``, ``frac_control`` (share of cells with a fragment),
        ``log_odds`` (GLM coefficient of the target at equal depth; negative = closes),
        ``pvalue``, ``padj`` (BH within target), ``pvalue_naive``, ``padj_naive``.
        ``adata`` is not modified.

    Raises
    ------
    KeyError
        ``groupby`` or ``depth_key`` missing from ``obs``.
    ValueError
        No ``control`` cells; an unknown target; negative or non-integer counts; a
        depth <= 0.

    References
    ----------
    Buenrostro et al. 2015 (scATAC-seq) :cite:`buenrostro2015`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> mo = pk.data.simulate_multiome_screen(n_cells=600, seed=0)
    >>> da = pk.tl.differential_accessibility(mo, targets=["TF1"])
    >>> closed = mo.uns["truth"]["peak_effects"].loc["TF1"] < 0
    >>> hits = da.set_index("peak").loc[lambda d: d["padj"] < 0.05].index
    >>> bool(closed[hits].mean() > 0.9)
    True
    """
    check_adata(adata)
    labels, targets = _groups(adata, groupby, control, targets)
    y_all = _binary(adata, layer)
    logd = _log_depth(adata, depth_key)
    is_ctrl = labels == str(control)
    rows = []
    for t in targets:
        cells = is_ctrl | (labels == t)
        y = y_all[cells]
        g = (labels[cells] == t).astype(float)
        d = logd[cells] - logd[cells].mean()
        z1 = np.column_stack([np.ones_like(g), d, g])
        beta, ll1 = _logistic_irls(z1, y)
        _, ll0 = _logistic_irls(z1[:, :2], y)
        lrt = np.maximum(2 * (ll1 - ll0), 0.0)
        n1, n0 = int(g.sum()), int((1 - g).sum())
        p1, p0 = y[g == 1].mean(axis=0), y[g == 0].mean(axis=0)
        pooled = (p1 * n1 + p0 * n0) / (n1 + n0)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        with np.errstate(divide="ignore", invalid="ignore"):
            zstat = np.where(se > 0, (p1 - p0) / se, 0.0)
        p_glm = stats.chi2.sf(lrt, 1)
        p_naive = 2 * stats.norm.sf(np.abs(zstat))
        rows.append(pd.DataFrame({
            "target": t, "peak": adata.var_names.to_numpy(), "n_target": n1, "n_control": n0,
            "frac_target": p1, "frac_control": p0, "log_odds": beta[:, 2],
            "pvalue": p_glm, "padj": bh_adjust(p_glm), "pvalue_naive": p_naive, "padj_naive": bh_adjust(p_naive),
        }))
    return pd.concat(rows, ignore_index=True)


def motif_deviation(
    adata: AnnData,
    *,
    motifs: str = "motifs",
    groupby: str = "perturbation",
    control: str = "control",
    targets: Sequence[str] | None = None,
    n_background: int = 50,
    n_bins: int = 10,
    layer: str | None = None,
    key_added: str | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """chromVAR-style motif accessibility per cell, compared between each target and controls.

    For each cell and motif, the fragments in the motif's peaks are compared with the
    number expected from the cell's fragments in all peaks and each peak's share of all
    fragments: ``(observed - expected) / expected``. The same deviation is computed for
    ``n_background`` random peak sets matched to the motif's peaks on overall
    accessibility (``n_bins`` quantile bins), and the cell's deviation is reported as a
    z-score against them. Because it is relative to the cell's own fragments, the score
    does not move with sequencing depth. Each target's cells are then compared with the
    controls by a Welch t-test. The **naive baseline** counts the raw fragments in the
    motif's peaks per cell and compares means the same way, with no expectation.

    Parameters
    ----------
    adata
        Cells x peaks fragment counts; ``varm[motifs]`` a peaks x motifs 0/1 matrix
        (DataFrame with motif names as columns, or array with names in
        ``uns[motifs + "_names"]``).
    motifs
        ``varm`` key of the motif annotation.
    groupby, control, targets
        Perturbation labels, the non-targeting label, targets to compare (default all).
    n_background, n_bins
        Background peak sets per motif and accessibility bins used to match them.
    layer
        Layer with the counts (``None``: ``X``).
    key_added
        If given, the per-cell z-scores are written to ``adata.obsm[key_added]`` (the only
        change made to ``adata``); ``None`` leaves ``adata`` untouched.
    seed
        Seed of the background sets.

    Returns
    -------
    DataFrame
        One row per (target, motif): ``target``, ``motif``, ``n_peaks``, ``n_target``,
        ``n_control``, ``deviation`` (mean z of the target's cells minus the controls';
        negative = the motif's peaks lost accessibility), ``t``, ``pvalue``, ``padj`` (BH
        within target), ``raw_log2fc`` (naive: log2 ratio of mean fragments in the
        motif's peaks), ``pvalue_raw``, ``padj_raw``. With ``key_added``,
        ``adata.obsm[key_added]``: cells x motifs DataFrame of z-scores (float64).

    Raises
    ------
    KeyError
        ``varm[motifs]`` or ``groupby`` missing.
    ValueError
        No ``control`` cells; a motif without peaks; negative or non-integer counts.

    References
    ----------
    Schep et al. 2017 (chromVAR) :cite:`schep2017`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> mo = pk.data.simulate_multiome_screen(n_cells=600, seed=0)
    >>> dev = pk.tl.motif_deviation(mo, n_background=20)
    >>> dev[dev["target"] == "TF2"].nsmallest(1, "deviation")["motif"].item()
    'TF2'
    """
    check_adata(adata)
    if motifs not in adata.varm:
        raise KeyError(f"adata.varm has no {motifs!r} (peaks x motifs annotation); available: {list(adata.varm)}")
    ann = adata.varm[motifs]
    if isinstance(ann, pd.DataFrame):
        names, m = [str(c) for c in ann.columns], ann.to_numpy(dtype=float)
    else:
        m = np.asarray(ann, dtype=float)
        names = [str(c) for c in adata.uns.get(f"{motifs}_names", [f"motif{k}" for k in range(m.shape[1])])]
    m = (m > 0).astype(float)
    empty = [n for n, s in zip(names, m.sum(axis=0), strict=True) if s == 0]
    if empty:
        raise ValueError(f"motif(s) {empty} annotate no peak in adata.varm[{motifs!r}]")
    labels, targets = _groups(adata, groupby, control, targets)
    x = _binary(adata, layer)
    rng = np.random.default_rng(seed)

    n_cell = x.sum(axis=1)
    share = x.sum(axis=0) / max(x.sum(), 1.0)
    edges = np.quantile(share, np.linspace(0, 1, n_bins + 1)[1:-1])
    bins = np.searchsorted(edges, share, side="right")
    members = {b: np.flatnonzero(bins == b) for b in np.unique(bins)}
    # background sets: each motif peak swapped for a random peak of the same accessibility bin
    rows, cols = [], []
    for k in range(m.shape[1]):
        peaks_k = np.flatnonzero(m[:, k])
        for b in range(n_background):
            for bb, cnt in zip(*np.unique(bins[peaks_k], return_counts=True), strict=True):
                rows.append(rng.choice(members[bb], cnt, replace=True))
                cols.append(np.full(cnt, k * n_background + b))
    bg = sparse.csr_matrix((np.ones(sum(r.size for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(x.shape[1], m.shape[1] * n_background))

    def dev(weights: np.ndarray | sparse.spmatrix) -> np.ndarray:
        obs = np.asarray(x @ weights)
        exp = n_cell[:, None] * np.asarray(share @ weights).ravel()[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(exp > 0, (obs - exp) / exp, 0.0)

    d_obs = dev(m)
    d_bg = dev(bg).reshape(x.shape[0], m.shape[1], n_background)
    sd = d_bg.std(axis=2)
    z = np.where(sd > 0, (d_obs - d_bg.mean(axis=2)) / np.where(sd > 0, sd, 1.0), 0.0)
    raw = x @ m

    is_ctrl = labels == str(control)
    out = []
    for t in targets:
        is_t = labels == t
        tz = stats.ttest_ind(z[is_t], z[is_ctrl], equal_var=False)
        tr = stats.ttest_ind(raw[is_t], raw[is_ctrl], equal_var=False)
        p, pr = np.nan_to_num(tz.pvalue, nan=1.0), np.nan_to_num(tr.pvalue, nan=1.0)
        out.append(pd.DataFrame({
            "target": t, "motif": names, "n_peaks": m.sum(axis=0).astype(int),
            "n_target": int(is_t.sum()), "n_control": int(is_ctrl.sum()),
            "deviation": z[is_t].mean(axis=0) - z[is_ctrl].mean(axis=0), "t": tz.statistic,
            "pvalue": p, "padj": bh_adjust(p),
            "raw_log2fc": np.log2(raw[is_t].mean(axis=0) / np.maximum(raw[is_ctrl].mean(axis=0), 1e-12)),
            "pvalue_raw": pr, "padj_raw": bh_adjust(pr),
        }))
    if key_added is not None:
        adata.obsm[key_added] = pd.DataFrame(z, index=adata.obs_names, columns=names)
    return pd.concat(out, ignore_index=True)


def _residuals(values: np.ndarray, design: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return values - design @ coef


def peak_gene_links(
    adata: AnnData,
    *,
    rna_key: str = "rna",
    genes: pd.DataFrame | None = None,
    window: int = 50_000,
    groupby: str | None = "perturbation",
    depth_key: str = "total_fragments",
    layer: str | None = None,
) -> pd.DataFrame:
    """Link peaks to the genes they may regulate, from RNA and chromatin measured in the same cells.

    For every gene and every peak within ``window`` bp of its TSS, the peak's 0/1 state
    is correlated across cells with the gene's log-normalised expression (log1p of counts
    per 10,000). The **model** is a partial correlation: both are first regressed on the
    cell's log total fragments, its log RNA library size and (with ``groupby``) its
    perturbation label, so that cells are compared only within their group and at equal
    depth; co-variation left over is what a regulatory link predicts (sci-CAR's joint
    profiles make it measurable cell by cell). p-values come from the t-distribution of a
    partial correlation. Two baselines come in the same table: the plain (unadjusted)
    correlation and the **nearest-peak rule** (each gene linked to the closest peak).

    Parameters
    ----------
    adata
        Cells x peaks fragment counts; ``var["position"]`` (bp) and ``obsm[rna_key]``
        (cells x genes RNA counts DataFrame) of the same cells.
    rna_key
        ``obsm`` key of the RNA counts.
    genes
        DataFrame with ``gene`` and ``tss`` columns (default ``uns["genes"]``); peaks
        and genes are assumed to lie on one coordinate axis (one chromosome).
    window
        Largest TSS-to-peak distance tested.
    groupby
        ``obs`` column of perturbation labels regressed out (``None``: not adjusted).
    depth_key
        ``obs`` column of total fragments per cell.
    layer
        Layer with the fragment counts (``None``: ``X``).

    Returns
    -------
    DataFrame
        One row per candidate pair: ``gene``, ``peak``, ``distance`` (bp, peak minus
        TSS), ``nearest`` (bool: closest candidate of the gene), ``r`` (partial
        correlation; positive = open peak, more RNA), ``pvalue``, ``padj`` (BH over all
        pairs), ``r_unadjusted``, ``pvalue_unadjusted``, ``padj_unadjusted``. ``adata``
        is not modified.

    Raises
    ------
    KeyError
        ``obsm[rna_key]``, ``var["position"]``, ``groupby`` or ``depth_key`` missing.
    ValueError
        Negative or non-integer counts; no candidate pair within ``window``.

    References
    ----------
    Cao et al. 2018 (sci-CAR) :cite:`cao2018`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> mo = pk.data.simulate_multiome_screen(n_cells=600, seed=0)
    >>> links = pk.tl.peak_gene_links(mo)
    >>> planted = set(map(tuple, mo.uns["truth"]["links"][["peak", "gene"]].to_numpy()))
    >>> top = links.nsmallest(60, "pvalue")
    >>> bool(sum((p, g) in planted for p, g in zip(top["peak"], top["gene"])) >= 50)
    True
    """
    check_adata(adata)
    if rna_key not in adata.obsm:
        raise KeyError(f"adata.obsm has no {rna_key!r} (RNA counts of the same cells); available: {list(adata.obsm)}")
    if "position" not in adata.var:
        raise KeyError(f"adata.var has no 'position' column (peak coordinate); available: {list(adata.var.columns)}")
    genes = adata.uns.get("genes") if genes is None else genes
    if genes is None or not {"gene", "tss"} <= set(genes.columns):
        raise KeyError("pass genes= (or set adata.uns['genes']) as a DataFrame with 'gene' and 'tss' columns")
    rna_df = adata.obsm[rna_key]
    rna = as_dense(rna_df.to_numpy() if isinstance(rna_df, pd.DataFrame) else rna_df)
    gene_names = [str(c) for c in rna_df.columns] if isinstance(rna_df, pd.DataFrame) else [str(g) for g in genes["gene"]]
    check_counts(rna, name=f"adata.obsm[{rna_key!r}]")
    x = _binary(adata, layer)
    logd = _log_depth(adata, depth_key)
    lib = rna.sum(axis=1)
    expr = np.log1p(rna / np.maximum(lib, 1.0)[:, None] * 1e4)

    pos = adata.var["position"].to_numpy(dtype=float)
    col = {g: i for i, g in enumerate(gene_names)}
    pairs = []
    for g, tss in zip(genes["gene"].astype(str), genes["tss"].to_numpy(dtype=float), strict=True):
        if g not in col:
            continue
        near = np.flatnonzero(np.abs(pos - tss) <= window)
        if near.size:
            closest = near[np.argmin(np.abs(pos[near] - tss))]
            pairs += [(g, p, pos[p] - tss, p == closest) for p in near]
    if not pairs:
        raise ValueError(f"no peak lies within window={window} bp of any gene's TSS")
    gi = np.array([col[g] for g, *_ in pairs])
    pi = np.array([p for _, p, *_ in pairs])

    design = [np.ones(adata.n_obs), logd, np.log(np.maximum(lib, 1.0))]
    if groupby is not None:
        check_obs(adata, groupby)
        dummies = pd.get_dummies(adata.obs[groupby].astype(str), drop_first=True, dtype=float).to_numpy()
        design.append(dummies)
    full = np.column_stack(design)

    def corr(design_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rx, re = _residuals(x, design_), _residuals(expr, design_)
        num = (rx[:, pi] * re[:, gi]).sum(axis=0)
        den = np.sqrt((rx[:, pi] ** 2).sum(axis=0) * (re[:, gi] ** 2).sum(axis=0))
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
        dof = adata.n_obs - design_.shape[1] - 1
        t = r * np.sqrt(dof / np.maximum(1 - r**2, 1e-12))
        return r, 2 * stats.t.sf(np.abs(t), dof)

    r, p = corr(full)
    r0, p0 = corr(np.ones((adata.n_obs, 1)))
    return pd.DataFrame({
        "gene": [g for g, *_ in pairs], "peak": adata.var_names[pi].to_numpy(),
        "distance": np.array([d for _, _, d, _ in pairs]).astype(np.int64),
        "nearest": np.array([n for *_, n in pairs], dtype=bool),
        "r": r, "pvalue": p, "padj": bh_adjust(p), "r_unadjusted": r0, "pvalue_unadjusted": p0, "padj_unadjusted": bh_adjust(p0),
    })
