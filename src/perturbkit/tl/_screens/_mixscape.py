"""Mixscape: separate cells where a knockout took effect from cells that escaped it."""

from __future__ import annotations

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


def perturbation_signature(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    split_by: str | None = "replicate",
    n_neighbors: int = 20,
    n_pcs: int = 15,
    layer: str | None = "counts",
    key_added: str = PERTURBATION_SIGNATURE,
    copy: bool = False,
) -> AnnData | None:
    """Each cell's expression minus that of its nearest control cells (Mixscape step 1).

    Expression is log-normalised (counts per 10k, ``log1p``); cells are embedded with PCA
    on standardised genes; for every cell the ``n_neighbors`` nearest control cells *of the
    same* ``split_by`` level (replicate) are found in that space and their mean expression
    is subtracted. What remains is the part of the cell's state that its neighbours
    without a perturbation do not share: replicate shifts, cell cycle and other
    confounders largely cancel, the perturbation's effect stays.

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
        Principal components of the embedding.
    layer
        Raw counts (``None``: ``X``).
    key_added
        Layer name of the signature.
    copy
        Return a modified copy.

    A lazy ``layers[layer]`` (:func:`perturbkit.data.read_lazy`), a backed one or a dense one
    over 2**26 entries is processed in passes over blocks of cells with the same numbers; the
    signature of a lazy input is itself a lazy dask array. Cost: linear in cells (PCA through
    a genes x genes matrix, neighbours in the PC space).

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
    from sklearn.neighbors import NearestNeighbors

    check_adata(adata)
    check_group(adata, groupby, control, role="control label")
    if split_by is not None:
        check_obs(adata, split_by)
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
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
        nn = NearestNeighbors(n_neighbors=k).fit(emb[ctrl])
        _, idx = nn.kneighbors(emb[cells])
        neighbours.append((cells, ctrl, idx))
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
            sig[cells] = (y[cells] - avg @ y[ctrl]).astype(np.float32)
    out = adata.copy() if copy else adata
    out.layers[key_added] = sig
    out.uns[key_added] = {"params": {"groupby": groupby, "control": control, "split_by": split_by,
                                     "n_neighbors": n_neighbors, "n_pcs": n_comp, "layer": layer}}
    return out if copy else None


def _fit_ko(score_t: np.ndarray, mu0: float, sd0: float, max_iter: int = 100) -> tuple[np.ndarray, float, float, float]:
    """Two-component normal mixture on the target cells' scores, control component fixed."""
    mu1, sd1 = score_t.mean(), score_t.std() + 1e-9
    if abs(mu1 - mu0) < 1e-9:
        mu1 = mu0 + sd0
    w = 0.5
    post = np.full(score_t.size, 0.5)
    for _ in range(max_iter):
        l1 = w * stats.norm.pdf(score_t, mu1, sd1)
        l0 = (1 - w) * stats.norm.pdf(score_t, mu0, sd0)
        new = l1 / np.maximum(l1 + l0, 1e-300)
        tot = new.sum()
        if tot < 1e-6:
            post = new
            break
        w = float(np.clip(tot / score_t.size, 1e-3, 1 - 1e-3))
        mu1 = float((new * score_t).sum() / tot)
        sd1 = float(np.sqrt((new * (score_t - mu1) ** 2).sum() / tot)) + 1e-9
        if np.max(np.abs(new - post)) < 1e-6:
            post = new
            break
        post = new
    return post, w, mu1, sd1


def mixscape(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    signature_key: str = PERTURBATION_SIGNATURE,
    min_de_genes: int = 5,
    de_pvalue: float = 1e-3,
    min_detected: float = 0.1,
    posterior_threshold: float = 0.5,
    max_iter: int = 10,
    key_added: str = MIXSCAPE,
    copy: bool = False,
) -> AnnData | None:
    """Classify each targeted cell as knockout (KO) or not perturbed (NP), per target.

    For each target: genes that differ between the target's cells and the controls in
    the perturbation signature (Welch t, ``p < de_pvalue``, detected in at least
    ``min_detected`` of those cells) define a direction, the mean signature of the target
    cells minus that of the controls. Every cell is projected on it; the controls'
    projections are a fixed normal component, and a second normal component is fitted to
    the target cells (EM). Cells with KO posterior >= ``posterior_threshold`` and a score
    above the control mean are KO; the
    direction is re-estimated from the KO cells and the fit repeated until the labels
    settle. A target with fewer than ``min_de_genes`` genes is all NP: no detectable effect.

    Run first: :func:`perturbation_signature`.

    Parameters
    ----------
    adata
        Screen with ``layers[signature_key]`` and ``obs[groupby]``.
    groupby, control
        Label column and control label. Labels ``"multiple"`` and ``"unassigned"`` are
        left out (class ``NA``).
    signature_key
        Layer written by :func:`perturbation_signature`.
    min_de_genes, de_pvalue, min_detected
        Selection of the genes that carry a target's effect.
    posterior_threshold
        KO posterior above which a cell is KO.

    A lazy signature (from :func:`perturbation_signature` on :func:`perturbkit.data.read_lazy`
    data) or one over 2**26 entries is read in blocks of cells: the per-gene Welch tests come
    from per-group moments, then only each target's cells on its DE genes are gathered for the
    EM; the classes and scores are the in-memory ones. Cost: linear in cells.
    max_iter
        Rounds of re-estimating the direction.
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
        KO posterior (float; 0 for controls and NA cells).
    ``obs[f"{key_added}_score"]``
        projection on the target's direction (float; controls: on their own
        target-free scale, NaN for NA).
    ``uns[key_added]``
        ``{"params": ..., "summary": DataFrame}``: per target ``n_cells``, ``n_de_genes``,
        ``n_ko``, ``ko_fraction``, ``ko_mean``, ``control_mean``, ``control_sd``
        (score scale), ``separation`` ((KO mean - control mean) / control sd: below ~2
        the two populations overlap and the KO fraction is unreliable), ``de_genes``
        (";"-joined, at most 50).

    Raises
    ------
    KeyError
        ``layers[signature_key]`` missing (run :func:`perturbation_signature`).
    ValueError
        No control cells.

    References
    ----------
    Papalexi et al. 2021 :cite:`papalexi2021`.

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
    sig_layer = adata.layers[signature_key]
    labels = adata.obs[groupby].astype(str).to_numpy()
    is_ctrl = labels == str(control)
    counts = adata.layers["counts"] if "counts" in adata.layers else adata.X
    targets = [t for t in pd.unique(labels) if t not in (str(control), "multiple", "unassigned")]
    chunked = wants_chunks(sig_layer)
    if chunked:  # lazy or large: per-gene tests from group moments, block by block
        tests = _mix_chunks.welch_tests(sig_layer, counts, labels, sorted(targets), str(control))
    else:
        sig = np.asarray(sig_layer, dtype=float)
        detected = (counts > 0) if sparse.issparse(counts) else sparse.csr_matrix(np.asarray(counts) > 0)
        ctrl_sig = sig[is_ctrl]
    cls = np.where(is_ctrl, str(control), "NA").astype(object)
    glob = cls.copy()
    post_all = np.zeros(adata.n_obs)
    score_all = np.full(adata.n_obs, np.nan)
    rows = []
    de_by_target: dict[str, np.ndarray] = {}
    for t in sorted(targets):
        n1 = int((labels == t).sum())
        if n1 >= 3 and chunked:
            p, det = tests[t]
        elif n1 >= 3:
            cells = np.flatnonzero(labels == t)
            _, p = stats.ttest_ind(sig[cells], ctrl_sig, equal_var=False)
            det = np.asarray(detected[cells].mean(0)).ravel()
        if n1 >= 3:
            de = np.flatnonzero((np.nan_to_num(p, nan=1.0) < de_pvalue) & (det >= min_detected))
        else:
            de = np.array([], dtype=int)
        de_by_target[t] = de
    # what the EM reads: each target's cells on its DE genes, the controls on the same genes
    kept = {t: de for t, de in de_by_target.items() if de.size >= min_de_genes}
    if chunked:
        st_de, ctrl_union, union = _mix_chunks.gather(sig_layer, labels, kept, str(control))
        column = {g: i for i, g in enumerate(union)}
    for t in sorted(targets):
        cells = np.flatnonzero(labels == t)
        n1 = cells.size
        de = de_by_target[t]
        row = {"target": t, "n_cells": int(n1), "n_de_genes": 0, "n_ko": 0, "ko_fraction": 0.0,
               "ko_mean": np.nan, "control_mean": np.nan, "control_sd": np.nan, "separation": np.nan,
               "de_genes": ""}
        row["n_de_genes"] = int(de.size)
        row["de_genes"] = ";".join(adata.var_names[de][:50])
        if de.size < min_de_genes:
            cls[cells], glob[cells] = f"{t} NP", "NP"
            rows.append(row)
            continue
        if chunked:
            st, ctrl_de = st_de[t], ctrl_union[:, [column[g] for g in de]]
        else:
            st, ctrl_de = sig[cells][:, de], ctrl_sig[:, de]
        ko = np.ones(n1, dtype=bool)
        for _ in range(max_iter):
            direction = st[ko].mean(0) - ctrl_de.mean(0)
            norm2 = float(direction @ direction)
            if norm2 <= 0:
                break
            s_t = st @ direction / norm2
            s_c = ctrl_de @ direction / norm2
            mu0, sd0 = float(s_c.mean()), float(s_c.std() + 1e-9)
            post, _, mu1, _ = _fit_ko(s_t, mu0, sd0)
            # one-sided: a knockout moves a cell along the direction, never against it
            new = (post >= posterior_threshold) & (s_t > mu0)
            if mu1 <= mu0:  # the fitted component is not shifted towards the effect
                new[:] = False
            if np.array_equal(new, ko) or not new.any():
                ko = new
                break
            ko = new
        cls[cells] = np.where(ko, f"{t} KO", f"{t} NP")
        glob[cells] = np.where(ko, "KO", "NP")
        post_all[cells] = post
        score_all[cells] = s_t
        row.update({"n_ko": int(ko.sum()), "ko_fraction": float(ko.mean()),
                    "ko_mean": float(s_t[ko].mean()) if ko.any() else np.nan,
                    "control_mean": mu0, "control_sd": sd0,
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
                 "separation", "de_genes"])
    out.uns[key_added] = {
        "params": {"groupby": groupby, "control": control, "signature_key": signature_key,
                   "min_de_genes": min_de_genes, "de_pvalue": de_pvalue, "min_detected": min_detected,
                   "posterior_threshold": posterior_threshold},
        "summary": summary,
    }
    return out if copy else None
