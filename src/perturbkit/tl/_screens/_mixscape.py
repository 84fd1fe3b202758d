"""Mixscape: separate cells where a knockout took effect from cells that escaped it."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse, stats

from ..._chunked import _mixscape as _mix_chunks
from ..._chunked import _signature as _sig_chunks
from ..._chunked import wants_chunks
from ..._keys import MIXSCAPE, PERTURBATION_SIGNATURE, obs_key
from ..._validate import check_adata, check_counts, check_group, check_obs

__all__ = ["mixscape", "perturbation_signature"]


def _lognorm(adata: AnnData, layer: str | None) -> np.ndarray:
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    x = adata.layers[layer] if layer is not None else adata.X
    check_counts(x, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    x = np.asarray(x.toarray() if sparse.issparse(x) else x, dtype=float)
    return np.log1p(x / np.maximum(x.sum(1, keepdims=True), 1.0) * 1e4)


def _neighbour_average(neighbours: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n: int) -> sparse.csr_matrix:
    """Cells x cells CSR with ``1/k`` at each cell's control neighbours, in kneighbors order."""
    per_row = np.zeros(n, dtype=np.int64)
    for cells, _, idx in neighbours:
        per_row[cells] = idx.shape[1]
    indptr = np.concatenate([[0], np.cumsum(per_row)])
    indices = np.empty(indptr[-1], dtype=np.int64)
    data = np.empty(indptr[-1])
    for cells, ctrl, idx in neighbours:
        slots = indptr[cells][:, None] + np.arange(idx.shape[1])
        indices[slots] = ctrl[idx]
        data[slots] = 1.0 / idx.shape[1]
    return sparse.csr_matrix((data, indices, indptr), shape=(n, n))


#: ``nn_method="auto"`` searches exactly up to this many (cell, control) pairs per split.
EXACT_PAIRS = 10**9


def _control_neighbours(ctrl_emb: np.ndarray, query: np.ndarray, k: int, method: str) -> np.ndarray:
    """Indices (rows of ``ctrl_emb``) of each query row's ``k`` nearest controls."""
    if method == "auto":
        method = "exact" if ctrl_emb.shape[0] * query.shape[0] <= EXACT_PAIRS else "approximate"
    if method == "exact" or ctrl_emb.shape[0] <= 4 * k:
        from sklearn.neighbors import NearestNeighbors

        return NearestNeighbors(n_neighbors=k).fit(ctrl_emb).kneighbors(query)[1]
    from pynndescent import NNDescent

    # seeded: the same numbers on every run (pynndescent then builds the graph single-threaded)
    index = NNDescent(ctrl_emb, n_neighbors=max(k, 15), random_state=0, low_memory=True)
    return index.query(query, k=k)[0]


def perturbation_signature(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    split_by: str | None = "replicate",
    n_neighbors: int = 20,
    n_pcs: int = 15,
    layer: str | None = "counts",
    nn_method: str = "auto",
    key_added: str = PERTURBATION_SIGNATURE,
    copy: bool = False,
) -> AnnData | None:
    """Each cell's expression minus that of its nearest control cells (Mixscape step 1).

    Expression is log-normalised (counts per 10k, ``log1p``); cells are embedded with PCA
    on standardised genes; for every cell the ``n_neighbors`` nearest control cells *of the
    same* ``split_by`` level (replicate) are found in that space and their mean expression
    is subtracted (averaged as ``log1p`` of the mean of ``expm1``, as Seurat's
    ``CalcPerturbSig``; Seurat stores neighbours minus cell, the opposite sign, which
    leaves every Mixscape score unchanged). What remains is the part of the cell's state
    that its neighbours without a perturbation do not share: replicate shifts, cell cycle
    and other confounders largely cancel, the perturbation's effect stays. Unlike Seurat's
    ``ScaleData``, the standardised genes are not clipped at 10 before the PCA.

    Run first: :func:`perturbkit.tl.assign_guides` (or any ``obs[groupby]`` labels).

    Parameters
    ----------
    adata
        Cells x genes with raw counts in ``layers[layer]``.
    groupby, control
        Label column and control label (non-targeting cells).
    split_by
        Neighbours are searched within each level of this column (``None``: all cells).
    n_neighbors
        Control neighbours per cell (capped at the controls available in the split).
    n_pcs
        Principal components of the embedding (Seurat's ``ndims``; its Mixscape vignette
        uses 40).
    layer
        Raw counts (``None``: ``X``).
    nn_method
        ``"exact"``: every cell against every control of its split (scikit-learn), time
        cells x controls, so quadratic in cells. ``"approximate"``: a nearest-neighbour
        descent graph (pynndescent, seeded; Seurat's ``FindNeighbors`` also searches
        approximately, with Annoy), about linear in cells. ``"auto"``:
        exact while cells x controls within every split stays at or below 1e9 (about
        70,000 cells with 20% controls), approximate above.
    key_added
        Layer name of the signature.
    copy
        Return a modified copy.

    A lazy ``layers[layer]`` (:func:`perturbkit.data.read_lazy`), a backed one or a dense one
    over 2**26 entries is processed in passes over blocks of cells with the same numbers; the
    signature of a lazy input is itself a lazy dask array. Cost: linear in cells (PCA through
    a genes x genes matrix) plus the neighbour search (see ``nn_method``).

    Returns
    -------
    ``None`` or the copy; writes ``layers[key_added]`` (float32 dense, cells x genes; a dask
    array when the input is lazy) and ``uns[key_added]["params"]``.

    Raises
    ------
    ValueError
        No control cells, or a ``split_by`` level without control cells.

    References
    ----------
    Papalexi et al. 2021 :cite:`papalexi2021`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=400, n_genes=30, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> pk.tl.perturbation_signature(adata)
    >>> adata.layers["perturbation_signature"].shape
    (400, 30)
    """
    check_adata(adata)
    check_group(adata, groupby, control, role="control label")
    if split_by is not None:
        check_obs(adata, split_by)
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    if nn_method not in ("auto", "exact", "approximate"):
        raise ValueError(f"nn_method must be 'auto', 'exact' or 'approximate', got {nn_method!r}")
    counts = adata.layers[layer] if layer is not None else adata.X
    chunked = wants_chunks(counts)
    if chunked:  # lazy, backed or large: passes over blocks of cells (perturbkit._chunked._signature)
        name = f"adata.layers[{layer!r}]" if layer else "adata.X"
        emb, n_comp = _sig_chunks.pca_embedding(counts, n_pcs, name=name)
    else:
        y = _lognorm(adata, layer)
        sd = y.std(0)
        z = (y - y.mean(0)) / np.where(sd > 0, sd, 1.0)
        n_comp = int(min(n_pcs, z.shape[1] - 1, z.shape[0] - 1))
        # PCA through the genes x genes covariance: panels are small, cells are many
        evals, evecs = np.linalg.eigh(z.T @ z / z.shape[0])
        vecs = evecs[:, np.argsort(evals)[::-1][:n_comp]]
        vecs *= np.sign(vecs[np.abs(vecs).argmax(0), np.arange(n_comp)])  # deterministic signs
        emb = z @ vecs
    is_ctrl = adata.obs[groupby].astype(str).to_numpy() == str(control)
    splits = adata.obs[split_by].astype(str).to_numpy() if split_by is not None else np.zeros(adata.n_obs, dtype=str)
    neighbours = []
    for s in np.unique(splits):
        cells = np.flatnonzero(splits == s)
        ctrl = cells[is_ctrl[cells]]
        if ctrl.size == 0:
            raise ValueError(f"no control cells ({control!r}) in {split_by}={s!r}; cannot build signatures there")
        k = min(n_neighbors, ctrl.size)
        neighbours.append((cells, ctrl, _control_neighbours(emb[ctrl], emb[cells], k, nn_method)))
    if chunked:
        sig = _sig_chunks.signature(counts, _neighbour_average(neighbours, adata.n_obs), name=name)
    else:
        sig = np.empty_like(y, dtype=np.float32)
        for cells, ctrl, idx in neighbours:
            k = idx.shape[1]
            # neighbour means as a sparse averaging matrix: no cells x k x genes array
            avg = sparse.csr_matrix(
                (np.full(idx.size, 1.0 / k), idx.ravel(), np.arange(0, idx.size + 1, k)), shape=(cells.size, ctrl.size)
            )
            # Seurat's PerturbDiff averages the neighbours on the count scale, then logs
            sig[cells] = (y[cells] - np.log1p(avg @ np.expm1(y[ctrl]))).astype(np.float32)
    out = adata.copy() if copy else adata
    out.layers[key_added] = sig
    out.uns[key_added] = {"params": {"groupby": groupby, "control": control, "split_by": split_by,
                                     "n_neighbors": n_neighbors, "n_pcs": n_comp, "layer": layer,
                                     "nn_method": nn_method}}
    return out if copy else None


def _candidates(mean_t: np.ndarray, mean_c: np.ndarray, pct_t: np.ndarray, pct_c: np.ndarray, *,
                logfc_threshold: float, min_pct: float) -> np.ndarray:
    """Genes Seurat's ``FindMarkers`` tests: detected in ``min_pct`` of either group (shares
    rounded to 3 digits) and ``|log2 FC| >= logfc_threshold``, the fold change taken as log2 of
    the mean of ``expm1`` + 1 (the LogNormalize convention)."""
    fc = np.log2(mean_t + 1) - np.log2(mean_c + 1)
    alpha = np.maximum(np.round(pct_t, 3), np.round(pct_c, 3))
    return np.flatnonzero((alpha >= min_pct) & (np.abs(fc) >= logfc_threshold))


def _wilcoxon_keep(y_t: np.ndarray, y_c: np.ndarray, n_genes: int, pval_cutoff: float) -> np.ndarray:
    """Two-sided Wilcoxon rank-sum (normal approximation with continuity and tie correction, as
    R's ``wilcox.test`` on tied data), Bonferroni over all ``n_genes``: which columns pass."""
    if y_t.shape[1] == 0:
        return np.zeros(0, dtype=bool)
    p = stats.mannwhitneyu(y_t, y_c, alternative="two-sided", use_continuity=True, method="asymptotic",
                           axis=0).pvalue
    return np.minimum(np.nan_to_num(p, nan=1.0) * n_genes, 1.0) < pval_cutoff


def _fit_ko(x: np.ndarray, mu0: float, sd0: float, mu1: float, sd1: float,
            maxit: int = 5000, epsilon: float = 1e-8) -> tuple[float, float]:
    """Two-component normal mixture on all scores, component 0 fixed (``mixtools::normalmixEM``
    with ``mean.constr``/``sd.constr``): EM on the weight and the free component's mean and sd."""
    lam = 0.5
    sd1 = max(sd1, 1e-9)
    dens0 = stats.norm.pdf(x, mu0, sd0)
    old = -np.inf
    for _ in range(maxit):
        l0 = (1 - lam) * dens0
        l1 = lam * stats.norm.pdf(x, mu1, sd1)
        tot = np.maximum(l0 + l1, 1e-300)
        loglik = float(np.log(tot).sum())
        w = l1 / tot
        sw = w.sum()
        if sw < 1e-9:
            break
        lam = float(sw / x.size)
        mu1 = float((w * x).sum() / sw)
        sd1 = max(float(np.sqrt((w * (x - mu1) ** 2).sum() / sw)), 1e-9)
        if abs(loglik - old) < epsilon:
            break
        old = loglik
    return mu1, sd1


def mixscape(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    signature_key: str = PERTURBATION_SIGNATURE,
    layer: str | None = "counts",
    min_de_genes: int = 5,
    min_cells: int = 5,
    logfc_threshold: float = 0.25,
    min_pct: float = 0.1,
    pval_cutoff: float = 0.05,
    iter_num: int = 10,
    key_added: str = MIXSCAPE,
    copy: bool = False,
) -> AnnData | None:
    """Classify each targeted cell as knockout (KO) or not perturbed (NP), per target.

    Follows Seurat's ``RunMixscape`` (``slot="scale.data"``, the vignette's setting). For
    each target:

    1. *DE genes*: Wilcoxon rank-sum test of the target's cells against all control
       cells on log-normalised expression (``layers[layer]``, not the signature), genes
       detected in at least ``min_pct`` of either group with ``|log2 FC| >=
       logfc_threshold``, Bonferroni over all genes, ``padj < pval_cutoff``. Fewer than
       ``min_de_genes``: all the target's cells are NP (no detectable effect).
    2. *Score*: the signature of those genes, centred and scaled per gene over the
       target's and the control cells (values above 10 clipped, as ``ScaleData``); the
       direction is the mean of the cells currently called KO (at first all the target's
       cells) minus the controls' mean; each cell's score is its projection on the
       direction divided by the direction's squared length (the cells that defined the
       direction then average 1 above the controls).
    3. *Mixture*: a two-component normal mixture is fitted to the scores of target *and*
       control cells, the first component fixed at the controls' mean and sd; a target
       cell is KO when its likelihood ratio favours the second component (posterior > 0.5
       with equal weights). Fewer than ``min_cells`` KO cells: all NP. Steps 2-3 repeat
       until the labels settle or ``iter_num`` rounds have run.

    Run first: :func:`perturbation_signature`.

    Parameters
    ----------
    adata
        Screen with ``layers[signature_key]``, raw counts in ``layers[layer]`` and
        ``obs[groupby]``.
    groupby, control
        Label column and control label. Labels ``"multiple"`` and ``"unassigned"`` are
        left out (class ``NA``).
    signature_key
        Layer written by :func:`perturbation_signature`.
    layer
        Raw counts for the DE test (``None``: ``X``).
    min_de_genes, min_cells
        Seurat's ``min.de.genes`` and ``min.cells`` (both 5).
    logfc_threshold, min_pct, pval_cutoff
        Seurat's ``logfc.threshold`` (0.25, log2 units), ``min.pct`` (0.1) and the
        Bonferroni cut-off of ``TopDEGenesMixscape`` (0.05).
    iter_num
        Seurat's ``iter.num``: rounds of re-estimating the direction.
    key_added
        Prefix of the ``obs`` columns and the ``uns`` key.
    copy
        Return a modified copy.

    Returns
    -------
    ``None`` or the copy; writes

    ``obs[f"{key_added}_class"]``
        ``"<target> KO"``, ``"<target> NP"``, ``control`` or ``"NA"`` (categorical).
    ``obs[f"{key_added}_class_global"]``
        ``"KO"``, ``"NP"``, ``control`` or ``"NA"`` (categorical).
    ``obs[f"{key_added}_posterior"]``
        KO posterior of the last round (float; 0 for controls, NA cells and targets
        without DE genes).
    ``obs[f"{key_added}_score"]``
        score of the last round (float; controls 0, NaN for NA cells and for targets
        without DE genes).
    ``uns[key_added]``
        ``{"params": ..., "summary": DataFrame, "control_scores": DataFrame}``. The
        summary has per target ``n_cells``, ``n_de_genes``, ``n_ko``, ``ko_fraction``,
        ``ko_mean``, ``control_mean``, ``control_sd`` (score scale), ``separation`` ((KO
        mean - control mean) / control sd: below ~2 the two populations overlap and the
        KO fraction is unreliable), ``n_iterations`` and ``de_genes`` (";"-joined, at
        most 50). ``control_scores``: control cells x classified targets, each control
        cell's score on that target's final direction (for :func:`perturbkit.pl.mixscape`).

    Raises
    ------
    KeyError
        ``layers[signature_key]`` or ``layers[layer]`` missing.
    ValueError
        No control cells; NaN or infinite values in the signature (naming the layer and cells).

    Warns
    -----
    UserWarning
        A target with fewer than 3 cells (its ``ko_fraction`` is NaN, naming the target).

    A lazy signature or counts layer (:func:`perturbkit.data.read_lazy`), or one over 2**26
    entries, is read in blocks of cells: group means and detection for the DE step, then
    each target's cells on its candidate and DE genes are gathered; the numbers are the
    in-memory ones. Cost: linear in cells.

    References
    ----------
    Papalexi et al. 2021 :cite:`papalexi2021`; Seurat's ``RunMixscape``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=800, n_genes=40, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> pk.tl.perturbation_signature(adata)
    >>> pk.tl.mixscape(adata)
    >>> float(adata.uns["mixscape"]["summary"].loc["T0", "ko_fraction"]) > 0.5
    True
    """
    check_adata(adata)
    check_group(adata, groupby, control, role="control label")
    if signature_key not in adata.layers:
        raise KeyError(f"adata.layers has no {signature_key!r}; run pk.tl.perturbation_signature(adata) first")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    counts = adata.layers[layer] if layer is not None else adata.X
    sig_layer = adata.layers[signature_key]
    labels = adata.obs[groupby].astype(str).to_numpy()
    is_ctrl = labels == str(control)
    ctrl = np.flatnonzero(is_ctrl)
    targets = sorted(t for t in pd.unique(labels) if t not in (str(control), "multiple", "unassigned"))
    chunked = wants_chunks(sig_layer) or wants_chunks(counts)
    # step 1, DE genes on log-normalised expression: group moments, then ranks on the candidates
    if chunked:  # lazy or large: moments and the gathered candidates block by block
        mean_expm1, pct = _mix_chunks.expression_moments(counts, labels, [*targets, str(control)])
    else:
        y = _lognorm(adata, layer)
        sig = np.asarray(sig_layer.toarray() if sparse.issparse(sig_layer) else sig_layer, dtype=float)
        bad = ~np.isfinite(sig).all(1)
        if bad.any():
            # one NaN row among the controls would shift every target's direction and mixture silently
            names = ", ".join(map(str, adata.obs_names[bad][:5]))
            raise ValueError(f"adata.layers[{signature_key!r}] has NaN or infinite values in {int(bad.sum())} "
                             f"cell(s) (first: {names}); recompute it with pk.tl.perturbation_signature "
                             "or drop those cells")
        mean_expm1 = np.array([np.expm1(y[labels == g]).mean(0) for g in [*targets, str(control)]])
        pct = np.array([(y[labels == g] > 0).mean(0) for g in [*targets, str(control)]])
    n_cells = {t: int((labels == t).sum()) for t in targets}
    cand = {t: _candidates(mean_expm1[i], mean_expm1[-1], pct[i], pct[-1], logfc_threshold=logfc_threshold,
                           min_pct=min_pct) for i, t in enumerate(targets) if n_cells[t] >= 3}
    if chunked:
        y_t, y_c, union = _mix_chunks.gather(counts, labels, cand, str(control), transform=_sig_chunks.lognorm_block)
        column = {g: i for i, g in enumerate(union)}
    de_by_target = {}
    for t in targets:
        c = cand.get(t, np.array([], dtype=int))
        if chunked:
            keep = _wilcoxon_keep(y_t[t], y_c[:, [column[g] for g in c]], adata.n_vars, pval_cutoff)
        else:
            keep = _wilcoxon_keep(y[labels == t][:, c], y[ctrl][:, c], adata.n_vars, pval_cutoff)
        de_by_target[t] = c[keep]
    # steps 2-3 read each target's cells and the controls on its DE genes of the signature
    kept = {t: de for t, de in de_by_target.items() if de.size >= min_de_genes}
    if chunked:
        st_de, ctrl_union, union = _mix_chunks.gather(sig_layer, labels, kept, str(control))
        column = {g: i for i, g in enumerate(union)}
    cls = np.where(is_ctrl, str(control), "NA").astype(object)
    glob = cls.copy()
    post_all = np.zeros(adata.n_obs)
    score_all = np.full(adata.n_obs, np.nan)
    control_scores = {}
    rows = []
    for t in sorted(targets):
        cells = np.flatnonzero(labels == t)
        n1 = cells.size
        row = {"target": t, "n_cells": int(n1), "n_de_genes": 0, "n_ko": 0, "ko_fraction": 0.0,
               "ko_mean": np.nan, "control_mean": np.nan, "control_sd": np.nan, "separation": np.nan,
               "n_iterations": 0, "de_genes": ""}
        de = de_by_target[t]
        row["n_de_genes"] = int(de.size)
        row["de_genes"] = ";".join(adata.var_names[de][:50])
        cls[cells], glob[cells] = f"{t} NP", "NP"
        if n1 < 3:  # no DE test or mixture on fewer than 3 cells: NaN, never a silent 0
            warnings.warn(f"mixscape: target {t!r} has {n1} cell(s) (< 3); its ko_fraction is NaN "
                          "and its cells are classed NP", UserWarning, stacklevel=2)
            row["ko_fraction"] = np.nan
            rows.append(row)
            continue
        if de.size < min_de_genes:
            rows.append(row)
            continue
        # ScaleData over the target's and the control cells: centre, scale (sd, n - 1), clip at 10
        if chunked:
            dat = np.vstack([st_de[t], ctrl_union[:, [column[g] for g in de]]])
        else:
            dat = sig[np.r_[cells, ctrl]][:, de]
        sd = dat.std(0, ddof=1)
        dat = np.minimum((dat - dat.mean(0)) / np.where(sd > 0, sd, 1.0), 10.0)
        d_t, d_c = dat[:n1], dat[n1:]
        ko = np.ones(n1, dtype=bool)
        for it in range(iter_num):
            direction = d_t[ko].mean(0) - d_c.mean(0)
            norm2 = float(direction @ direction)
            if norm2 <= 0:
                ko[:] = False
                break
            s_t, s_c = d_t @ direction / norm2, d_c @ direction / norm2
            mu0, sd0 = float(s_c.mean()), float(s_c.std(ddof=1))
            mu1, sd1 = _fit_ko(np.r_[s_c, s_t], mu0, sd0, float(s_t[ko].mean()), float(s_t[ko].std(ddof=1)))
            l0, l1 = stats.norm.pdf(s_t, mu0, sd0), stats.norm.pdf(s_t, mu1, sd1)
            post = l1 / np.maximum(l0 + l1, 1e-300)
            # Seurat leaves a cell's label unchanged at a posterior of exactly 0.5
            new = np.where(post > 0.5, True, np.where(post < 0.5, False, ko))
            row["n_iterations"] = it + 1
            if new.sum() < min_cells:
                ko = np.zeros(n1, dtype=bool)
                break
            if np.array_equal(new, ko):
                break
            ko = new
        cls[cells] = np.where(ko, f"{t} KO", f"{t} NP")
        glob[cells] = np.where(ko, "KO", "NP")
        # the score on the scale of the last round: controls' mean at 0
        post_all[cells] = post
        score_all[cells] = s_t - mu0
        control_scores[t] = s_c - mu0
        row.update({"n_ko": int(ko.sum()), "ko_fraction": float(ko.mean()),
                    "ko_mean": float(s_t[ko].mean() - mu0) if ko.any() else np.nan,
                    "control_mean": 0.0, "control_sd": sd0,
                    "separation": float((s_t[ko].mean() - mu0) / sd0) if ko.any() else np.nan})
        rows.append(row)
    score_all[is_ctrl] = 0.0
    out = adata.copy() if copy else adata
    out.obs[obs_key(key_added, "class")] = pd.Categorical(cls.astype(str))
    out.obs[obs_key(key_added, "class_global")] = pd.Categorical(glob.astype(str))
    out.obs[obs_key(key_added, "posterior")] = post_all
    out.obs[obs_key(key_added, "score")] = score_all
    summary = pd.DataFrame(rows).set_index("target") if rows else pd.DataFrame(
        columns=["n_cells", "n_de_genes", "n_ko", "ko_fraction", "ko_mean", "control_mean", "control_sd",
                 "separation", "n_iterations", "de_genes"])
    out.uns[key_added] = {
        "params": {"groupby": groupby, "control": control, "signature_key": signature_key, "layer": layer,
                   "min_de_genes": min_de_genes, "min_cells": min_cells, "logfc_threshold": logfc_threshold,
                   "min_pct": min_pct, "pval_cutoff": pval_cutoff, "iter_num": iter_num},
        "summary": summary,
        "control_scores": pd.DataFrame(control_scores, index=adata.obs_names[ctrl]),
    }
    return out if copy else None
