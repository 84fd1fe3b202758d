"""PerturbNet-style prediction of unseen perturbations: a cell-state VAE, and a conditional
normalising flow that maps a perturbation's prior-knowledge representation to a
distribution over the VAE's latent cell states (Yu and Welch 2022)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._seeding import seeds_torch
from ..._validate import as_dense, check_finite, check_group, check_obs
from ._generative import _mlp, _torch, _Trainer, fit_vae

__all__ = ["perturbnet_benchmark", "target_features"]

PERTURBNET_METHODS = ("control_mean", "mean_of_seen", "nearest_target", "perturbnet")


def target_features(
    targets: Sequence[str],
    *,
    ontology: dict[str, pd.DataFrame] | None = None,
    regulons: pd.DataFrame | None = None,
    genes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Describe knockout targets by prior knowledge: their Gene Ontology terms and regulons.

    A target annotated to a GO term belongs to every ancestor term too, so the direct
    annotations are propagated up the DAG; a transcription factor with a regulon gets one
    signed column per regulated gene (its mode of regulation, +1 or -1). Only columns that
    at least one target has are kept. A target with neither annotation is a row of zeros,
    with ``annotated == 0``: nothing is known about it, and a model can only treat it as
    an average perturbation.

    Parameters
    ----------
    targets
        Gene symbols of the perturbed genes.
    ontology
        ``{"terms": parent/child edges, "genes": term/gene edges}`` as returned by
        ``pk.data.load("ontology_drugcell")``; ``None`` for no GO columns.
    regulons
        Long table with columns ``source`` (TF), ``target`` and ``weight`` (mode of
        regulation), e.g. ``pk.data.load("regulons_dorothea")``; ``None`` for none.
    genes
        Keep only regulon targets among these genes (e.g. the measured ones).

    Returns
    -------
    DataFrame
        Indexed by target; columns ``annotated`` (1 if any annotation), ``go:<term>``
        (0/1) and ``regulon:<gene>`` (mode of regulation, 0 when not regulated).

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> ont = {"terms": pd.DataFrame({"parent": ["GO:1"], "child": ["GO:2"]}),
    ...        "genes": pd.DataFrame({"term": ["GO:2"], "gene": ["JAK2"]})}
    >>> f = pk.tl.target_features(["JAK2", "XYZ"], ontology=ont)
    >>> f.loc["JAK2"].tolist(), f.loc["XYZ"].tolist()
    ([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])
    """
    targets = [str(t) for t in targets]
    if len(targets) == 0:
        raise ValueError("targets is empty")
    if len(set(targets)) != len(targets):
        raise ValueError("targets contains duplicates")
    blocks: list[pd.DataFrame] = []
    if ontology is not None:
        for key, cols in (("terms", {"parent", "child"}), ("genes", {"term", "gene"})):
            if key not in ontology or not cols <= set(ontology[key].columns):
                raise KeyError(f"ontology[{key!r}] must be a DataFrame with columns {sorted(cols)}")
        parents: dict[str, list[str]] = {}
        for p, c in zip(ontology["terms"]["parent"], ontology["terms"]["child"], strict=True):
            parents.setdefault(str(c), []).append(str(p))
        direct = ontology["genes"].groupby("gene")["term"].agg(list).to_dict()
        rows = {}
        for t in targets:
            seen: set[str] = set()
            stack = [str(term) for term in direct.get(t, [])]
            while stack:
                term = stack.pop()
                if term not in seen:
                    seen.add(term)
                    stack.extend(parents.get(term, []))
            rows[t] = dict.fromkeys((f"go:{term}" for term in seen), 1.0)
        blocks.append(pd.DataFrame.from_dict(rows, orient="index").reindex(targets).fillna(0.0))
    if regulons is not None:
        if not {"source", "target", "weight"} <= set(regulons.columns):
            raise KeyError("regulons must have columns 'source', 'target', 'weight'")
        net = regulons[regulons["source"].astype(str).isin(targets)]
        if genes is not None:
            net = net[net["target"].astype(str).isin(set(map(str, genes)))]
        wide = net.pivot_table(index="source", columns="target", values="weight", aggfunc="mean")
        wide.columns = [f"regulon:{g}" for g in wide.columns]
        blocks.append(wide.reindex(targets).fillna(0.0))
    out = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=targets)
    out = out.loc[:, (out != 0).any(axis=0)].sort_index(axis=1)
    out.insert(0, "annotated", (out != 0).any(axis=1).astype(float))
    out.index.name = "target"
    return out.astype(float)


@seeds_torch
def _fit_flow(z: np.ndarray, cond: np.ndarray, *, n_blocks: int, hidden: int, n_epochs: int, lr: float,
              weight_decay: float, seed: int, progress: bool):
    """Conditional RealNVP on ``z`` given ``cond``: alternating affine couplings whose scale and
    shift networks see the untouched half of ``z`` and the condition. Returns ``sample(cond_row,
    n, rng) -> z`` (inverse pass from standard normal noise) and the per-epoch mean NLL."""
    torch = _torch()
    d, n_c = z.shape[1], cond.shape[1]
    masks = [torch.arange(d) % 2 == (b % 2) for b in range(n_blocks)]
    nets = torch.nn.ModuleList(
        [_mlp(torch, int(m.sum()) + n_c, hidden, 2 * int((~m).sum())) for m in masks])
    zt = torch.as_tensor(z, dtype=torch.float32)
    ct = torch.as_tensor(cond, dtype=torch.float32)

    def forward(x, c):
        logdet = torch.zeros(len(x))
        for m, net in zip(masks, nets, strict=True):
            s, t = net(torch.cat([x[:, m], c], 1)).chunk(2, dim=1)
            s = torch.tanh(s)  # bounded log-scales keep the inverse stable
            y = x.clone()
            y[:, ~m] = x[:, ~m] * torch.exp(s) + t
            x, logdet = y, logdet + s.sum(1)
        return x, logdet

    def step(idx, epoch):
        u, logdet = forward(zt[idx], ct[idx])
        return (0.5 * (u**2).sum(1) - logdet).mean()

    opt_params = list(nets.parameters())
    trainer = _Trainer(n_epochs=n_epochs, batch_size=256, lr=lr, seed=seed, progress=progress, desc="PerturbNet flow")
    if weight_decay > 0:
        # few distinct conditions: shrink the condition pathways so unseen ones stay near the seen ones
        def step_wd(idx, epoch):
            return step(idx, epoch) + weight_decay * sum((p**2).sum() for p in opt_params)
        losses = trainer.run(opt_params, len(z), step_wd)
    else:
        losses = trainer.run(opt_params, len(z), step)
    nets.eval()

    def sample(c_row: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        with torch.no_grad():
            x = torch.as_tensor(rng.standard_normal((n, d)), dtype=torch.float32)
            c = torch.as_tensor(np.tile(c_row, (n, 1)), dtype=torch.float32)
            for m, net in zip(masks[::-1], list(nets)[::-1], strict=True):
                s, t = net(torch.cat([x[:, m], c], 1)).chunk(2, dim=1)
                y = x.clone()
                y[:, ~m] = (x[:, ~m] - t) * torch.exp(-torch.tanh(s))
                x = y
            return x.numpy()

    return sample, losses


def _condition_matrix(f: np.ndarray, train_rows: np.ndarray, n_components: int) -> np.ndarray:
    """Perturbation representation for the flow: ``[perturbed, annotated, SVD of the
    standardised annotation columns]``; control is the zero vector. Scaling and SVD are fitted
    on the training perturbations only."""
    ann = f[:, 0:1]
    cols = f[:, 1:]
    mu = cols[train_rows].mean(0)
    sd = cols[train_rows].std(0)
    sd = np.where(sd > 0, sd, 1.0)
    std = (cols - mu) / sd
    std[ann[:, 0] == 0] = 0.0  # nothing known: no position in annotation space
    k = min(n_components, len(train_rows) - 1, std.shape[1])
    if k > 0:
        _, s, vt = np.linalg.svd(std[train_rows], full_matrices=False)
        emb = std @ vt[:k].T / np.maximum(s[:k], 1e-9) * np.sqrt(len(train_rows))
    else:
        emb = np.zeros((len(f), 0))
    return np.hstack([np.ones((len(f), 1)), ann, emb])


def _shift_explained(pred: np.ndarray, obs: np.ndarray) -> float:
    return float(1.0 - ((pred - obs) ** 2).sum() / (obs**2).sum())


def perturbnet_benchmark(
    adata: AnnData,
    features: pd.DataFrame,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    n_folds: int = 5,
    folds: Sequence[int] | None = None,
    methods: Sequence[str] = PERTURBNET_METHODS,
    latent_dim: int = 8,
    hidden: int = 128,
    n_epochs: int = 40,
    flow_epochs: int = 80,
    flow_blocks: int = 4,
    n_components: int = 6,
    n_pcs: int = 20,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """Predict the cells of perturbations never seen in training, PerturbNet-style.

    The perturbations are split into ``n_folds`` groups; each group in turn is held out and
    every model is trained on control cells and the other perturbations' cells only.
    PerturbNet {Yu and Welch 2022} has two parts, both here: a VAE of cell states trained on
    the training cells, and a conditional normalising flow (affine couplings, RealNVP) that
    maps a perturbation's representation to a distribution over the VAE's latent space,
    trained by maximum likelihood on the training cells' latent codes. The representation is
    ``features`` (e.g. :func:`target_features`), standardised and reduced to
    ``n_components`` SVD axes on the training perturbations, plus a "perturbed" and an
    "annotated" flag (control is the zero vector). For a held-out perturbation the flow is
    inverted from Gaussian noise under its representation and the latent cells are decoded,
    each with Gaussian noise of the per-gene residual variance of the training cells (the
    VAE's likelihood), giving as many cells as were observed. Baselines, each a set of cells:

    ``control_mean``
        the control cells themselves (no change);
    ``mean_of_seen``
        control cells plus the average mean shift of the training perturbations;
    ``nearest_target``
        control cells plus the mean shift of the training perturbation whose annotation is
        most similar (cosine); without annotation, the mean of seen.

    Parameters
    ----------
    adata
        Log-normalised cells with ``obs[groupby]``.
    features
        DataFrame indexed by perturbation label (every non-control label) whose first column
        is ``annotated`` (0/1) and the others numeric, as :func:`target_features` returns.
    groupby, control
        Perturbation column and control label.
    n_folds
        Number of groups of held-out perturbations (each perturbation is held out once).
    folds
        Run only these folds (0-based), e.g. to save time; ``None`` runs all.
    methods
        Any of ``"control_mean"``, ``"mean_of_seen"``, ``"nearest_target"``, ``"perturbnet"``.
    latent_dim, hidden, n_epochs
        VAE latent size, hidden units and epochs.
    flow_epochs, flow_blocks, n_components
        Flow epochs, coupling blocks and SVD axes of the representation.
    n_pcs
        Principal components (fitted on each fold's training cells) for the energy distance.
    seed
        Seed of the fold split, the models and the sampling.
    progress
        Show training progress bars.

    Returns
    -------
    DataFrame
        One row per (held-out perturbation, method): ``perturbation``, ``fold``, ``method``,
        ``annotated``, ``n_cells``, ``edistance`` (unbiased energy distance between predicted
        and observed cells in the training PCs; lower is better), ``shift_explained``
        (``1 - |d_pred - d_obs|^2 / |d_obs|^2`` for the mean shifts from the control mean over
        genes: 0 for predicting no change, 1 for the exact shift, negative when worse than no
        change), ``pearson_delta`` (correlation of predicted and observed shift over genes),
        ``sse`` and ``obs_ss`` (the two sums of squares of ``shift_explained``; pooled over
        perturbations, ``1 - sum(sse) / sum(obs_ss)``), ``obs_shift_norm`` (length of the
        observed shift).

    References
    ----------
    Yu H, Welch JD (2022) PerturbNet predicts single-cell responses to unseen chemical and
    genetic perturbations. bioRxiv 2022.07.20.500854.

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> lib = pk.data.simulate_perturbation_library(n_perturbations=12, n_cells=40, seed=0)
    >>> sc.pp.normalize_total(lib); sc.pp.log1p(lib)
    >>> feats = lib.uns["features"].assign(annotated=1.0)[["annotated", *lib.uns["features"].columns]]
    >>> res = pk.tl.perturbnet_benchmark(lib, feats, n_folds=3, folds=[0], n_epochs=5, flow_epochs=5)
    >>> sorted(res["method"].unique())
    ['control_mean', 'mean_of_seen', 'nearest_target', 'perturbnet']
    """
    bad = sorted(set(methods) - set(PERTURBNET_METHODS))
    if bad:
        raise ValueError(f"unknown methods {bad}; choose from {list(PERTURBNET_METHODS)}")
    check_obs(adata, groupby)
    check_group(adata, groupby, control, role="control label")
    labels = adata.obs[groupby].astype(str).to_numpy()
    perts = sorted(p for p in pd.unique(labels) if p != str(control))
    if not isinstance(features, pd.DataFrame):
        raise TypeError("features must be a DataFrame indexed by perturbation label")
    if features.shape[1] < 2 or features.columns[0] != "annotated":
        raise ValueError("features must start with an 'annotated' column (see pk.tl.target_features)")
    missing = [p for p in perts if p not in features.index]
    if missing:
        raise KeyError(f"features has no row for perturbations {missing[:5]} (column {groupby!r})")
    if not 2 <= n_folds <= len(perts) - 1:
        raise ValueError(f"n_folds must be between 2 and {len(perts) - 1} (perturbations - 1), got {n_folds}")
    f = check_finite(features.loc[perts].to_numpy(dtype=float), name="features")
    x = check_finite(as_dense(adata.X).astype(np.float32), name="adata.X")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(perts), dtype=int)
    fold_of[rng.permutation(len(perts))] = np.arange(len(perts)) % n_folds
    run = range(n_folds) if folds is None else [int(k) for k in folds]
    for k in run:
        if not 0 <= k < n_folds:
            raise ValueError(f"fold {k} outside 0..{n_folds - 1}")
    torch = _torch()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: threads only add contention on a shared machine
    try:
        return _run_folds(x, f, labels, perts, str(control), fold_of, run, methods, latent_dim=latent_dim,
                          hidden=hidden, n_epochs=n_epochs, flow_epochs=flow_epochs, flow_blocks=flow_blocks,
                          n_components=n_components, n_pcs=n_pcs, seed=seed, progress=progress)
    finally:
        torch.set_num_threads(threads)


def _run_folds(x, f, labels, perts, control, fold_of, run, methods, *, latent_dim, hidden, n_epochs, flow_epochs,
               flow_blocks, n_components, n_pcs, seed, progress) -> pd.DataFrame:
    from sklearn.decomposition import PCA

    from .._stats._edistance import energy_distance

    is_ctrl = labels == control
    pert_idx = {p: np.flatnonzero(labels == p) for p in perts}
    rows = []
    for k in run:
        test = np.flatnonzero(fold_of == k)
        train = np.flatnonzero(fold_of != k)
        train_cells = is_ctrl | np.isin(labels, [perts[i] for i in train])
        ctrl_x = x[is_ctrl]
        ctrl_mean = ctrl_x.mean(0)
        deltas = {i: x[pert_idx[perts[i]]].mean(0) - ctrl_mean for i in range(len(perts))}
        pca = PCA(n_components=min(n_pcs, x.shape[1] - 1), random_state=seed).fit(x[train_cells])
        preds: dict[str, dict[int, np.ndarray]] = {m: {} for m in methods}
        shifts: dict[str, dict[int, np.ndarray]] = {m: {} for m in methods}  # exact for the baselines
        fold_rng = np.random.default_rng([seed, k])
        mean_seen = np.mean([deltas[i] for i in train], axis=0)
        ann = f[:, 1:]
        norms = np.linalg.norm(ann, axis=1)
        for i in test:
            n = len(pert_idx[perts[i]])
            base = ctrl_x[fold_rng.choice(len(ctrl_x), size=n, replace=len(ctrl_x) < n)]
            if "control_mean" in methods:
                preds["control_mean"][i], shifts["control_mean"][i] = base, np.zeros_like(ctrl_mean)
            if "mean_of_seen" in methods:
                preds["mean_of_seen"][i], shifts["mean_of_seen"][i] = base + mean_seen, mean_seen
            if "nearest_target" in methods:
                cand = train[norms[train] > 0]
                if f[i, 0] > 0 and norms[i] > 0 and len(cand):
                    cos = ann[cand] @ ann[i] / (norms[cand] * norms[i])
                    shifts["nearest_target"][i] = deltas[int(cand[np.argmax(cos)])]
                else:
                    shifts["nearest_target"][i] = mean_seen
                preds["nearest_target"][i] = base + shifts["nearest_target"][i]
        if "perturbnet" in methods:
            cond = _condition_matrix(f, train, n_components)
            xtr = x[train_cells]
            code = {p: j for j, p in enumerate(perts)}
            ctr = np.vstack([np.zeros(cond.shape[1]) if lab == control else cond[code[lab]]
                             for lab in labels[train_cells]])
            encode, decode, _, _ = fit_vae(xtr, None, latent_dim=latent_dim, hidden=hidden, n_epochs=n_epochs,
                                           batch_size=128, lr=1e-3, beta=0.5, seed=seed + k, progress=progress,
                                           desc=f"PerturbNet VAE (fold {k})")
            ztr = encode(xtr)
            resid_sd = (xtr - decode(ztr)).std(0)
            sample, _ = _fit_flow(ztr, ctr, n_blocks=flow_blocks, hidden=64, n_epochs=flow_epochs, lr=1e-3,
                                  weight_decay=1e-5, seed=seed + k, progress=progress)
            for i in test:
                n = len(pert_idx[perts[i]])
                z = sample(cond[i], n, fold_rng)
                preds["perturbnet"][i] = decode(z) + fold_rng.standard_normal((n, x.shape[1])) * resid_sd
                shifts["perturbnet"][i] = preds["perturbnet"][i].mean(0) - ctrl_mean
        for i in test:
            obs = x[pert_idx[perts[i]]]
            obs_pc = pca.transform(obs)
            for m in methods:
                pred, d_pred = preds[m][i], shifts[m][i]
                d_obs = deltas[i]
                r = 0.0 if d_pred.std() == 0 else float(np.corrcoef(d_pred, d_obs)[0, 1])
                rows.append({
                    "perturbation": perts[i], "fold": k, "method": m, "annotated": bool(f[i, 0] > 0),
                    "n_cells": len(obs), "edistance": energy_distance(pca.transform(pred), obs_pc),
                    "shift_explained": _shift_explained(d_pred, d_obs), "pearson_delta": r,
                    "sse": float(((d_pred - d_obs) ** 2).sum()), "obs_ss": float((d_obs**2).sum()),
                    "obs_shift_norm": float(np.linalg.norm(d_obs)),
                })
    return pd.DataFrame(rows)
