"""Predict the response of a held-out cell type (the scGen task), with baselines and scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import as_dense, check_finite, check_obsm
from .._stats._contrasts import contrasts
from .._stats._edistance import energy_distance

__all__ = ["METHODS", "embedding_shift", "predict_response", "response_benchmark"]

#: Predictors, baselines first.
METHODS = ("control_mean", "mean_shift", "linear", "scgen", "cvae", "trvae", "cpa", "cyclecdr", "ot", "cellot")
#: Also accepted, not run by default: the toy scGPT attends over every gene (a panel of <= 256).
EXTRA_METHODS = ("scgpt",)

_DEFAULTS: dict[str, Any] = {
    "latent_dim": 10, "hidden": 128, "n_epochs": 60, "batch_size": 128, "lr": 1e-3,
    "beta": 0.05, "adv_weight": 1.0, "cycle_weight": 1.0, "align_weight": 1.0, "ot_reg": 0.05,
    "n_pcs": 20, "ridge": 1.0, "mmd_weight": 3.0,
    "cellot_hidden": 64, "cellot_iters": 250, "cellot_inner": 2, "cellot_lr": 3e-3,
    "scgpt_pretrain_epochs": 5, "scgpt_finetune_epochs": 10,
}
_EMBEDDING_DEFAULTS: dict[str, Any] = {"decoder_alpha": 1.0, "residual": True}


class _Split:
    """Cells of a hold-out experiment: training set, held-out controls and truth."""

    def __init__(self, adata: AnnData, holdout: str, groupby: str, control: str, split_by: str,
                 perturbation: str | None, layer: str | None):
        chosen = [c for c in contrasts(adata, groupby=groupby, control=control, split_by=split_by,
                                       perturbations=None if perturbation is None else [perturbation])]
        labels = {c.perturbation for c in chosen}
        if len(labels) != 1:
            raise ValueError(f"several perturbations {sorted(labels)}; pass perturbation=")
        types = [c.split for c in chosen]
        if holdout not in types:
            raise ValueError(f"holdout {holdout!r} is not a {split_by!r} with control and perturbed "
                             f"cells; choose from {types}")
        if len(types) < 2:
            raise ValueError("need at least one cell type besides the held-out one to learn from")
        x = as_dense(adata.X if layer is None else adata.layers[layer])
        self.x = check_finite(x, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
        self.types = types
        self.perturbation = labels.pop()
        self.by_type = {c.split: c for c in chosen}
        ho = self.by_type[holdout]
        self.holdout = holdout
        self.ctrl_ho = self.x[ho.control_idx]
        self.stim_ho = self.x[ho.perturbed_idx]
        self.train_idx = np.concatenate(
            [np.r_[c.control_idx, c.perturbed_idx] for t, c in self.by_type.items() if t != holdout]
            + [ho.control_idx]
        )
        self.train_pert = np.concatenate(
            [np.r_[np.zeros(len(c.control_idx)), np.ones(len(c.perturbed_idx))]
             for t, c in self.by_type.items() if t != holdout] + [np.zeros(len(ho.control_idx))]
        ).astype(int)
        type_codes = {t: i for i, t in enumerate(types)}
        self.train_type = np.concatenate(
            [np.full(len(c.control_idx) + len(c.perturbed_idx), type_codes[t])
             for t, c in self.by_type.items() if t != holdout] + [np.full(len(ho.control_idx), type_codes[holdout])]
        )
        self.holdout_code = type_codes[holdout]
        self.var_names = adata.var_names
        self.adata = adata
        self.n_obs = adata.n_obs
        self._pcas: dict[int, Any] = {}

    def training_pca(self, n_pcs: int) -> Any:
        """PCA of the training cells (at most ``n_pcs`` components), fitted once per split:
        the scores, "ot" and "cellot" all use it, for every seed."""
        from sklearn.decomposition import PCA

        xtr = self.x[self.train_idx]
        k = min(n_pcs, xtr.shape[1], xtr.shape[0] - 1)
        if k not in self._pcas:
            self._pcas[k] = PCA(n_components=k, svd_solver="full").fit(xtr)
        return self._pcas[k]

    def type_means(self) -> tuple[np.ndarray, np.ndarray]:
        """Control and perturbed mean expression of each training cell type (rows)."""
        ctrl = np.vstack([self.x[c.control_idx].mean(0) for t, c in self.by_type.items() if t != self.holdout])
        stim = np.vstack([self.x[c.perturbed_idx].mean(0) for t, c in self.by_type.items() if t != self.holdout])
        return ctrl, stim


def _mean_shift(s: _Split) -> np.ndarray:
    ctrl, stim = s.type_means()
    return s.ctrl_ho + (stim - ctrl).mean(0)


def _linear(s: _Split, ridge: float) -> np.ndarray:
    """Gene-wise ridge regression of the change on the control level, across cell types."""
    ctrl, stim = s.type_means()
    delta = stim - ctrl
    c_mean = ctrl.mean(0)
    xc = ctrl - c_mean
    slope = (xc * (delta - delta.mean(0))).sum(0) / ((xc**2).sum(0) + ridge)
    pred_delta = delta.mean(0) + slope * (s.ctrl_ho.mean(0) - c_mean)
    return s.ctrl_ho + pred_delta


def _scgen(s: _Split, hp: dict[str, Any], seed: int, progress: bool) -> np.ndarray:
    from ._generative import fit_vae

    xtr = s.x[s.train_idx]
    encode, decode, _, _ = fit_vae(xtr, None, latent_dim=hp["latent_dim"], hidden=hp["hidden"],
                                n_epochs=hp["n_epochs"], batch_size=hp["batch_size"], lr=hp["lr"],
                                beta=hp["beta"], seed=seed, progress=progress, desc="scGen VAE")
    z = encode(xtr)
    # latent perturbation vector: per-type mean differences, averaged over training types
    deltas = [z[(s.train_type == k) & (s.train_pert == 1)].mean(0) - z[(s.train_type == k) & (s.train_pert == 0)].mean(0)
              for k in np.unique(s.train_type[s.train_pert == 1])]
    return decode(encode(s.ctrl_ho) + np.mean(deltas, axis=0))


def _cvae(s: _Split, hp: dict[str, Any], seed: int, progress: bool,
          mmd_weight: float = 0.0) -> tuple[np.ndarray, dict[str, Any]]:
    from ._generative import fit_vae

    xtr = s.x[s.train_idx]
    encode, decode, _, layer_mmd = fit_vae(
        xtr, s.train_pert, latent_dim=hp["latent_dim"], hidden=hp["hidden"], n_epochs=hp["n_epochs"],
        batch_size=hp["batch_size"], lr=hp["lr"], beta=hp["beta"], seed=seed, progress=progress,
        desc="trVAE (MMD)" if mmd_weight else "conditional VAE", mmd_weight=mmd_weight)
    n = len(s.ctrl_ho)
    # how condition-dependent the first decoder layer stayed (trVAE drives this towards 0)
    return decode(encode(s.ctrl_ho, np.zeros(n)), np.ones(n)), {"layer_mmd": layer_mmd(xtr, s.train_pert)}


def _cpa(s: _Split, hp: dict[str, Any], seed: int, progress: bool) -> np.ndarray:
    from ._generative import fit_cpa

    predict, _, _ = fit_cpa(s.x[s.train_idx], s.train_pert, s.train_type, latent_dim=hp["latent_dim"],
                            hidden=hp["hidden"], n_epochs=hp["n_epochs"], batch_size=hp["batch_size"],
                            lr=hp["lr"], adv_weight=hp["adv_weight"], seed=seed, progress=progress,
                            desc="CPA-style AE")
    return predict(s.ctrl_ho, np.full(len(s.ctrl_ho), s.holdout_code), 1)


def _cyclecdr(s: _Split, hp: dict[str, Any], seed: int, progress: bool) -> tuple[np.ndarray, dict[str, Any]]:
    from ._generative import fit_cyclecdr

    translate, delta, losses = fit_cyclecdr(
        s.x[s.train_idx], s.train_pert, s.train_type, latent_dim=hp["latent_dim"], hidden=hp["hidden"],
        n_epochs=hp["n_epochs"], batch_size=hp["batch_size"], lr=hp["lr"], cycle_weight=hp["cycle_weight"],
        align_weight=hp["align_weight"], seed=seed, progress=progress, desc="cycleCDR-style AEs")
    return translate(s.ctrl_ho), {"losses": losses, "latent_shift": delta}


def _ot(s: _Split, hp: dict[str, Any], seed: int) -> np.ndarray:
    """Entropic OT from control to perturbed cells within each training type (PCA space);
    the barycentric displacement of each control cell is extended to new cells by
    k-nearest-neighbour regression (CellOT learns a neural map instead)."""
    import ot
    from sklearn.neighbors import KNeighborsRegressor

    xtr = s.x[s.train_idx]
    pca = s.training_pca(hp["n_pcs"])
    src, disp = [], []
    for k in np.unique(s.train_type[s.train_pert == 1]):
        a = pca.transform(xtr[(s.train_type == k) & (s.train_pert == 0)])
        b = pca.transform(xtr[(s.train_type == k) & (s.train_pert == 1)])
        cost = ot.dist(a, b)
        plan = ot.sinkhorn(np.full(len(a), 1 / len(a)), np.full(len(b), 1 / len(b)),
                           cost / cost.max(), reg=hp["ot_reg"], numItermax=2000)
        target = (plan @ b) / plan.sum(1, keepdims=True)
        src.append(a)
        disp.append(target - a)
    knn = KNeighborsRegressor(n_neighbors=15).fit(np.vstack(src), np.vstack(disp))
    zc = pca.transform(s.ctrl_ho)
    moved = zc + knn.predict(zc)
    # back to genes: keep each cell's out-of-PCA residual, move only within the PCA space
    residual = s.ctrl_ho - pca.inverse_transform(zc)
    return pca.inverse_transform(moved) + residual


def _cellot(s: _Split, hp: dict[str, Any], seed: int, progress: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """CellOT: one learned transport map (the gradient of an input-convex network) from the
    control to the perturbed cells of the training cell types, in the PCA space of the
    training cells, applied to the held-out controls (which the map never saw)."""
    from ._cellot import fit_cellot

    xtr = s.x[s.train_idx]
    pca = s.training_pca(hp["n_pcs"])
    seen = s.train_type != s.holdout_code
    transport, losses = fit_cellot(
        pca.transform(xtr[seen & (s.train_pert == 0)]), pca.transform(xtr[seen & (s.train_pert == 1)]),
        hidden=hp["cellot_hidden"], n_iters=hp["cellot_iters"], n_inner=hp["cellot_inner"], lr=hp["cellot_lr"],
        batch_size=hp["batch_size"], seed=seed, progress=progress)
    zc = pca.transform(s.ctrl_ho)
    # as for "ot": move within the PCA space, keep each cell's out-of-PCA residual
    residual = s.ctrl_ho - pca.inverse_transform(zc)
    return pca.inverse_transform(transport(zc)) + residual, {"cellot_losses": losses}


def _scgpt(s: _Split, hp: dict[str, Any], seed: int, progress: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """scGPT-style: generative pre-training on every training cell, perturbation fine-tuning
    on the training types' (control, perturbed) pairs, the held-out controls then given the
    perturbation token."""
    from ._foundation_models import fit_scgpt

    predict, losses = fit_scgpt(s.x[s.train_idx], s.train_pert, s.train_type,
                                pretrain_epochs=hp["scgpt_pretrain_epochs"],
                                finetune_epochs=hp["scgpt_finetune_epochs"], batch_size=hp["batch_size"],
                                lr=hp["lr"], seed=seed, progress=progress)
    return predict(s.ctrl_ho), {"scgpt_losses": losses}


def _embedding(s: _Split, obsm_key: str) -> np.ndarray:
    z = check_obsm(s.adata, obsm_key, hint="compute it first, e.g. sc.pp.pca or pk.tl.expression_transformer")
    if z.ndim != 2 or z.shape[0] != s.n_obs or z.shape[1] < 1:
        raise ValueError(f"adata.obsm[{obsm_key!r}] must be a 2-D array of {s.n_obs} cells x >= 1 "
                         f"dimensions, got shape {z.shape}")
    return check_finite(z, name=f"adata.obsm[{obsm_key!r}]")


def _embedding_shift(s: _Split, z: np.ndarray, decoder_alpha: float, residual: bool) -> np.ndarray:
    """scGen's latent arithmetic in a given (frozen) embedding, ridge decoder back to genes."""
    from sklearn.linear_model import Ridge

    ztr, xtr = z[s.train_idx], s.x[s.train_idx]
    # standardise the embedding on the training cells so decoder_alpha means the same for any scale
    mu, sd = ztr.mean(0), ztr.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    zs = (ztr - mu) / sd
    deltas = [zs[(s.train_type == k) & (s.train_pert == 1)].mean(0) - zs[(s.train_type == k) & (s.train_pert == 0)].mean(0)
              for k in np.unique(s.train_type[s.train_pert == 1])]
    delta = np.mean(deltas, axis=0)
    decoder = Ridge(alpha=decoder_alpha).fit(zs, xtr)
    zc = (z[s.by_type[s.holdout].control_idx] - mu) / sd
    if residual:
        # linear decoder: decode(z + delta) - decode(z) is the same gene shift for every cell
        return s.ctrl_ho + decoder.coef_ @ delta
    return decoder.predict(zc + delta)


def embedding_shift(
    adata: AnnData,
    *,
    holdout: str,
    obsm_key: str,
    groupby: str = "perturbation",
    control: str = "control",
    split_by: str = "cell_type",
    perturbation: str | None = None,
    layer: str | None = None,
    decoder_alpha: float = 1.0,
    residual: bool = True,
) -> AnnData:
    """Predict a held-out cell type's response by latent arithmetic in a given embedding.

    scGen's recipe with the encoder swapped for any cell representation already in
    ``adata.obsm`` (a frozen pre-trained model's embedding, or PCA): the perturbation vector
    is the stimulated-minus-control mean of the embedding in each training cell type,
    averaged over types; it is added to the held-out control cells' embedding and brought
    back to genes by a ridge-regression decoder (embedding -> expression) fitted on the
    training cells. Training cells are those of :func:`predict_response`: all cells of the
    other types and the *control* cells of ``holdout``. The decoder and the perturbation
    vector never see the held-out perturbed cells, but the embedding is used as given: it
    must itself have been fitted without them (pre-train on the training cells only), or
    the prediction leaks the answer.

    With ``residual=True`` (default) each held-out control cell keeps its own expression
    and receives ``decode(z + delta) - decode(z)``; the decoder being linear, that is one
    gene-space shift shared by all held-out cells (the response as seen through the
    embedding). With ``residual=False`` the cells are decoded from the shifted embedding
    alone, as scGen does, so the decoder's reconstruction error enters the prediction.

    Parameters
    ----------
    adata
        Log-normalised cells with ``obs[groupby]``, ``obs[split_by]`` and the embedding.
    holdout
        Cell type whose perturbed cells are hidden and predicted.
    obsm_key
        Key of the embedding in ``adata.obsm`` (2-D, cells x dimensions).
    groupby, control, split_by, perturbation, layer
        As in :func:`predict_response`.
    decoder_alpha
        Ridge penalty of the decoder (on the embedding standardised over training cells).
    residual
        Keep each control cell's own expression and add the decoded latent shift (see above).

    Returns
    -------
    AnnData
        Predicted perturbed cells, one per held-out control cell, ``X`` float32 in the
        space of ``X`` (or ``layer``); ``obs[split_by]`` and ``obs[groupby]``;
        ``uns["prediction"]`` with ``method="embedding_shift"``, ``obsm_key``, ``holdout``,
        ``perturbation``, ``decoder_alpha``, ``residual``.

    Raises
    ------
    KeyError
        ``obsm_key`` is not in ``adata.obsm`` (the message lists the keys present).
    ValueError
        The embedding is not 2-D with one row per cell, or holds NaN; the design problems of
        :func:`predict_response` (unknown holdout, which lists the cell types, ...).

    References
    ----------
    Lotfollahi M, Wolf FA, Theis FJ (2019) scGen. Nat Methods 16:715-721.

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cells=30, n_genes=50, n_shared=10, seed=0)
    >>> sc.pp.normalize_total(adata); sc.pp.log1p(adata); sc.pp.pca(adata, n_comps=10)
    >>> pred = pk.tl.embedding_shift(adata, holdout="type1", obsm_key="X_pca")
    >>> pred.shape, pred.uns["prediction"]["obsm_key"]
    ((90, 50), 'X_pca')
    """
    s = _Split(adata, holdout, groupby, control, split_by, perturbation, layer)
    x = _embedding_shift(s, _embedding(s, obsm_key), decoder_alpha, residual)
    ho = s.by_type[holdout]
    out = AnnData(X=np.asarray(x, dtype=np.float32),
                  obs=adata.obs.iloc[ho.control_idx][[split_by]].copy(),
                  var=pd.DataFrame(index=adata.var_names.copy()))
    out.obs[groupby] = s.perturbation
    out.uns["prediction"] = {"method": "embedding_shift", "obsm_key": obsm_key, "holdout": holdout,
                             "perturbation": s.perturbation, "decoder_alpha": decoder_alpha,
                             "residual": residual}
    return out


def predict_response(
    adata: AnnData,
    *,
    holdout: str,
    method: str = "scgen",
    groupby: str = "perturbation",
    control: str = "control",
    split_by: str = "cell_type",
    perturbation: str | None = None,
    layer: str | None = None,
    seed: int = 0,
    progress: bool = True,
    **hyperparams: Any,
) -> AnnData:
    """Predict the perturbed state of a cell type whose perturbed cells were never seen.

    Training data: every cell of the other cell types (control and perturbed) and the
    *control* cells of ``holdout``. The predictors, all in the space of ``X``
    (log-normalised expression):

    ``control_mean``
        No change: the held-out control cells themselves (baseline).
    ``mean_shift``
        Control cells plus the mean change of the training cell types (baseline; scGen's
        arithmetic without a latent space).
    ``linear``
        Control cells plus a gene-wise ridge regression of the change on the control
        expression level across training cell types (baseline).
    ``scgen``
        VAE; the latent perturbation vector (stimulated minus control mean, averaged over
        training cell types) is added to the held-out controls' latent codes, then decoded.
    ``cvae``
        Conditional VAE: encode with condition "control", decode with condition "perturbed".
    ``trvae``
        trVAE: the same conditional VAE plus trVAE's MMD penalty (weight ``mmd_weight``) that
        makes the first decoder layer's output distributed alike in both conditions, so the
        condition acts only after it (Lotfollahi et al. 2020). ``uns["prediction"]["layer_mmd"]``
        (also for ``cvae``) is that layer's MMD between conditions on the training cells.
    ``cpa``
        CPA-style compositional autoencoder: an adversary removes the perturbation from the
        basal latent state; decoding adds a learned perturbation embedding and a cell-type
        embedding.
    ``cyclecdr``
        cycleCDR-style: one autoencoder for control and one for perturbed cells, sharing a
        latent space in which the perturbation is a learned shift; trained on unpaired cells
        with reconstruction, cycle-consistency (control -> perturbed -> control and back) and
        per-cell-type mean-matching losses. Held-out controls are encoded by the control
        encoder, shifted, and decoded by the perturbed decoder.
    ``ot``
        Optimal transport with neighbours: entropic OT plans within each training cell type
        in PCA space, extended to new cells by nearest-neighbour regression of displacements.
    ``cellot``
        CellOT (Bunne et al. 2023): a transport map learned as the gradient of an
        input-convex neural network, trained by the min-max dual of W2 optimal transport
        (Makkuva et al. 2020) from the training types' control to their perturbed cells in
        the PCA space of the training cells; the held-out controls are pushed through it.
        ``uns["prediction"]["cellot_losses"]`` holds the per-iteration ``g`` and ``f`` losses.
    ``scgpt``
        scGPT-style foundation-model recipe at toy scale (not in the default list; at most 256
        genes): gene tokens plus value embeddings, generative pre-training under scGPT's
        attention mask on the training cells, then perturbation fine-tuning that predicts a
        perturbed cell of the same type from a control cell plus a perturbation token; the
        held-out controls get the token. ``uns["prediction"]["scgpt_losses"]`` holds the
        per-epoch ``pretrain`` and ``finetune`` losses.

    Parameters
    ----------
    adata
        Log-normalised cells with ``obs[groupby]`` and ``obs[split_by]``.
    holdout
        Cell type whose perturbed cells are hidden and predicted.
    method
        One of :data:`METHODS`.
    groupby, control, split_by, perturbation
        Design columns; ``perturbation`` picks a label when there are several.
    layer
        Use this layer instead of ``X``.
    seed
        Seeds torch, the mini-batch order and the model initialisation.
    progress
        Show a tqdm progress bar while training.
    **hyperparams
        ``latent_dim`` (10), ``hidden`` (128), ``n_epochs`` (60), ``batch_size`` (128),
        ``lr`` (1e-3), ``beta`` (KL weight, 0.05), ``adv_weight`` (1.0), ``cycle_weight`` and
        ``align_weight`` (cycleCDR's cycle-consistency and mean-matching weights, 1.0 each),
        ``ot_reg`` (0.05), ``n_pcs`` (20), ``ridge`` (1.0), ``mmd_weight`` (trVAE, 3.0),
        ``cellot_hidden`` (64), ``cellot_iters`` (250 outer iterations), ``cellot_inner``
        (2 map steps per potential step), ``cellot_lr`` (3e-3), ``scgpt_pretrain_epochs`` (5),
        ``scgpt_finetune_epochs`` (10).

    Returns
    -------
    AnnData
        Predicted perturbed cells, one per held-out control cell (``obs_names`` of those
        controls), ``X`` float32; ``uns["prediction"]`` holds ``method``, ``holdout``,
        ``perturbation``, ``seed`` and the hyper-parameters; for ``cyclecdr`` also
        ``losses`` (dict of per-epoch ``total``, ``reconstruction``, ``cycle``, ``alignment``,
        lists of float) and ``latent_shift`` (float32 array of ``latent_dim``).

    References
    ----------
    Lotfollahi M, Wolf FA, Theis FJ (2019) scGen. Nat Methods 16:715-721.
    Lotfollahi M et al. (2020) trVAE. Bioinformatics 36:i610-i617.
    Lotfollahi M et al. (2023) CPA. Mol Syst Biol 19:e11517.
    Huang W, Liu H (2024) cycleCDR. Bioinformatics 40:i462-i470.
    Bunne C et al. (2023) CellOT. Nat Methods 20:1759-1768.
    Makkuva A et al. (2020) Optimal transport mapping via input convex neural networks. ICML.
    Cui H et al. (2024) scGPT. Nat Methods 21:1470-1480.

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cells=30, n_genes=50, n_shared=10, seed=0)
    >>> sc.pp.normalize_total(adata); sc.pp.log1p(adata)
    >>> pred = pk.tl.predict_response(adata, holdout="type1", method="mean_shift")
    >>> pred.shape
    (90, 50)
    """
    if method not in METHODS + EXTRA_METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {list(METHODS + EXTRA_METHODS)}")
    unknown = sorted(set(hyperparams) - set(_DEFAULTS))
    if unknown:
        raise TypeError(f"unknown hyper-parameters {unknown}; known: {sorted(_DEFAULTS)}")
    hp = {**_DEFAULTS, **hyperparams}
    s = _Split(adata, holdout, groupby, control, split_by, perturbation, layer)
    x, extra = _run(s, method, hp, seed, progress)
    ho = s.by_type[holdout]
    out = AnnData(X=np.asarray(x, dtype=np.float32),
                  obs=adata.obs.iloc[ho.control_idx][[split_by]].copy(),
                  var=pd.DataFrame(index=adata.var_names.copy()))
    out.obs[groupby] = s.perturbation
    out.uns["prediction"] = {"method": method, "holdout": holdout, "perturbation": s.perturbation,
                             "seed": seed, **hp, **extra}
    return out


def _run(s: _Split, method: str, hp: dict[str, Any], seed: int,
         progress: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """The prediction and any extra training record (losses) of one method."""
    if method == "control_mean":
        return s.ctrl_ho.copy(), {}
    if method == "mean_shift":
        return _mean_shift(s), {}
    if method == "linear":
        return _linear(s, hp["ridge"]), {}
    if method == "ot":
        return _ot(s, hp, seed), {}
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models: one thread is faster and bit-reproducible
    try:
        if method == "cyclecdr":
            return _cyclecdr(s, hp, seed, progress)
        if method == "cellot":
            return _cellot(s, hp, seed, progress)
        if method == "scgpt":
            return _scgpt(s, hp, seed, progress)
        if method in ("cvae", "trvae"):
            return _cvae(s, hp, seed, progress, mmd_weight=hp["mmd_weight"] if method == "trvae" else 0.0)
        fn = {"scgen": _scgen, "cpa": _cpa}[method]
        return fn(s, hp, seed, progress), {}
    finally:
        torch.set_num_threads(threads)


def _r2(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1] ** 2)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return 0.0  # a prediction of "no change" carries no direction
    return float(np.corrcoef(a, b)[0, 1])


def _scores(pred: np.ndarray, ctrl: np.ndarray, truth: np.ndarray, top: np.ndarray,
            proj: np.ndarray, pick: np.ndarray) -> dict[str, float]:
    """Mean-based scores on every predicted cell, the energy distance on the ``pick`` rows."""
    pm, tm, cm = pred.mean(0), truth.mean(0), ctrl.mean(0)
    return {
        "r2_all": _r2(pm, tm),
        "r2_top100": _r2(pm[top], tm[top]),
        "pearson_delta": _pearson(pm - cm, tm - cm),
        "edistance": energy_distance(pred[pick] @ proj, truth @ proj),
    }


def response_benchmark(
    adata: AnnData,
    *,
    holdout: str,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0, 1, 2),
    groupby: str = "perturbation",
    control: str = "control",
    split_by: str = "cell_type",
    perturbation: str | None = None,
    layer: str | None = None,
    n_top: int = 100,
    n_genes: int | None = None,
    genes_from: Literal["training", "all"] = "training",
    embeddings: Mapping[str, str] | None = None,
    progress: bool = True,
    **hyperparams: Any,
) -> pd.DataFrame:
    """Score every predictor on a held-out cell type, against a noise ceiling, over seeds.

    For each seed, the observed perturbed cells of ``holdout`` are split at random into
    halves A and B. Every predictor (:func:`predict_response`) is scored against B; the
    **noise ceiling** scores half A as if it were a prediction of B, i.e. how well an
    independent measurement of the truth does. The energy distance uses the same number of
    cells on the predicted side for every row: ``k = min(|A|, n predicted)`` cells drawn at
    random (seeded) from half A and from each prediction, so that the ceiling and the
    models carry the same small-sample noise. Metrics: ``r2_all`` (squared Pearson of
    predicted vs observed mean expression over all genes, as reported by scGen),
    ``r2_top100`` (same over the ``n_top`` genes that change most in the held-out type,
    chosen on half A so that B stays unseen), ``pearson_delta`` (Pearson of predicted vs
    observed mean change from control; 0 for a prediction of no change) and
    ``edistance`` (unbiased energy distance, :func:`energy_distance`, of predicted to
    observed cells in the first 20 principal components of the training cells; lower is
    better).

    Nothing fitted sees the held-out perturbed cells: with ``n_genes`` the genes are the
    ``n_genes`` most variable ones (scanpy's ``highly_variable_genes``, Seurat flavour, on
    log-normalised values) **among the training cells**, and the PCA of the distance is
    fitted on training cells. ``genes_from="all"`` chooses the genes on every cell instead,
    the held-out perturbed cells included: a leak, kept to measure what it changes.

    Parameters
    ----------
    adata, holdout, groupby, control, split_by, perturbation, layer, progress, **hyperparams
        As in :func:`predict_response`.
    methods
        Predictors to run (default all of :data:`METHODS`).
    seeds
        One repetition per seed (model initialisation and the A/B split).
    n_top
        Number of most-changed genes for ``r2_top100``.
    n_genes
        Keep only this many highly variable genes, chosen on the cells of ``genes_from``
        (``None``: every gene of ``adata``, which must then be chosen without the held-out
        perturbed cells).
    genes_from
        ``"training"`` (default) or ``"all"`` (leaky; see above).
    embeddings
        Extra predictors by latent arithmetic in a given embedding (:func:`embedding_shift`):
        row label -> ``adata.obsm`` key, e.g. ``{"pca_shift": "X_pca"}``. Scored on the same
        splits; ``decoder_alpha`` and ``residual`` may be passed in ``**hyperparams``.

    Returns
    -------
    DataFrame
        One row per (seed, method), plus ``method == "noise_ceiling"`` per seed: ``seed``,
        ``method``, ``r2_all``, ``r2_top100``, ``pearson_delta``, ``edistance``,
        ``layer_mmd`` (float; ``cvae``/``trvae`` only, else NaN: see :func:`predict_response`);
        ``n_genes`` and ``n_cells_scored`` (int, the same on every row).
        Summarise with ``df.groupby("method").agg(["mean", "std"])``.

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cells=30, n_genes=50, n_shared=10, seed=0)
    >>> sc.pp.normalize_total(adata); sc.pp.log1p(adata)
    >>> res = pk.tl.response_benchmark(adata, holdout="type1", methods=["control_mean", "mean_shift"],
    ...                                seeds=[0], n_top=20)
    >>> r = res.set_index("method")["pearson_delta"]
    >>> bool(r["mean_shift"] > r["control_mean"])
    True
    """

    bad = sorted(set(methods) - set(METHODS + EXTRA_METHODS))
    if bad:
        raise ValueError(f"unknown methods {bad}; choose from {list(METHODS + EXTRA_METHODS)}")
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    embeddings = dict(embeddings or {})
    clash = sorted(set(embeddings) & {*METHODS, *EXTRA_METHODS, "noise_ceiling"})
    if clash:
        raise ValueError(f"embedding labels {clash} clash with method names; choose other labels")
    emb_hp = {k: hyperparams.pop(k) if k in hyperparams else v for k, v in _EMBEDDING_DEFAULTS.items()}
    hp = {**_DEFAULTS, **hyperparams}
    if genes_from not in ("training", "all"):
        raise ValueError(f"genes_from must be 'training' or 'all', got {genes_from!r}")
    s = _Split(adata, holdout, groupby, control, split_by, perturbation, layer)
    if n_genes is not None:
        genes = _select_genes(adata, s.train_idx if genes_from == "training" else np.arange(adata.n_obs),
                             n_genes=n_genes, layer=layer)
        s = _Split(adata[:, genes], holdout, groupby, control, split_by, perturbation, layer)
    latent = {label: _embedding(s, key) for label, key in embeddings.items()}  # fail before training
    if len(s.stim_ho) < 4:
        raise ValueError(f"{len(s.stim_ho)} perturbed cells of {holdout!r}; need >= 4 to split in halves")
    proj = s.training_pca(20).components_.T
    rows = []
    truth_all = s.stim_ho
    for seed in seeds:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(truth_all))
        half_a, half_b = truth_all[order[: len(order) // 2]], truth_all[order[len(order) // 2:]]
        top = np.argsort(-np.abs(half_a.mean(0) - s.ctrl_ho.mean(0)))[:n_top]
        # equal cells on the predicted side of the energy distance: the ceiling and every model
        # carry the same small-sample noise
        k = min(len(half_a), len(s.ctrl_ho))
        pick = rng.choice(len(s.ctrl_ho), size=k, replace=False)
        pick_a = rng.choice(len(half_a), size=k, replace=False)
        rows.append({"seed": seed, "method": "noise_ceiling", **_scores(half_a, s.ctrl_ho, half_b, top, proj, pick_a)})
        for m in methods:
            pred, extra = _run(s, m, hp, seed, progress)
            rows.append({"seed": seed, "method": m, **_scores(pred, s.ctrl_ho, half_b, top, proj, pick),
                         "layer_mmd": extra.get("layer_mmd", np.nan)})
        for label, z in latent.items():
            pred = _embedding_shift(s, z, emb_hp["decoder_alpha"], emb_hp["residual"])
            rows.append({"seed": seed, "method": label, **_scores(pred, s.ctrl_ho, half_b, top, proj, pick)})
    out = pd.DataFrame(rows)
    out["n_genes"], out["n_cells_scored"] = s.x.shape[1], k
    return out


def _select_genes(adata: AnnData, cells: np.ndarray, *, n_genes: int, layer: str | None = None) -> pd.Index:
    """The ``n_genes`` most variable genes (Seurat flavour) among ``cells`` (integer indices)."""
    import scanpy as sc

    if n_genes < 2:
        raise ValueError(f"n_genes must be >= 2, got {n_genes}")
    sub = AnnData(X=as_dense(adata.X if layer is None else adata.layers[layer])[cells],
                  var=pd.DataFrame(index=adata.var_names.copy()))
    if n_genes >= sub.n_vars:
        return adata.var_names.copy()
    hv = sc.pp.highly_variable_genes(sub, n_top_genes=n_genes, inplace=False)
    return adata.var_names[np.asarray(hv["highly_variable"])]
