"""Two foundation-model recipes at toy scale, each with its own tokens, objective and
fine-tuning task: scBERT-style (binned expression tokens, masked-language-model
pre-training, cell-type fine-tuning) and scGPT-style (gene tokens plus value embeddings,
generative pre-training under scGPT's attention mask, perturbation fine-tuning). No
pretrained weights: both are trained here, on the cells given."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._seeding import seeds_torch, torch_seed
from ..._validate import as_dense, check_adata, check_finite, check_obs

__all__ = ["scbert_annotate"]


def _bins(x: np.ndarray, n_bins: int, top: float) -> np.ndarray:
    """scBERT's expression tokens: 0 for a zero value, else one of ``n_bins - 1`` equal-width
    bins of the log-normalised value up to ``top`` (values above land in the last bin)."""
    width = top / (n_bins - 1)
    return np.where(x > 0, np.minimum(np.floor(x / width).astype(int) + 1, n_bins - 1), 0)


def _encoder(torch, dim: int, n_layers: int, n_heads: int):
    layer = torch.nn.TransformerEncoderLayer(dim, n_heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True)
    return torch.nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)


def _batches(n: int, batch_size: int, gen, torch):
    perm = torch.randperm(n, generator=gen)
    return [perm[s:s + batch_size] for s in range(0, n, batch_size)]


def scbert_annotate(
    adata: AnnData,
    *,
    cell_type_key: str = "cell_type",
    n_genes: int = 64,
    n_bins: int = 7,
    dim: int = 32,
    n_layers: int = 2,
    n_heads: int = 2,
    pretrain_epochs: int = 5,
    finetune_epochs: int = 5,
    mask_fraction: float = 0.15,
    test_fraction: float = 0.3,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """scBERT's recipe at toy scale: pre-train on binned expression tokens with a masked
    language model, fine-tune to annotate cell types, against baselines.

    Tokens, as in scBERT (Yang et al. 2022): each of the ``n_genes`` most variable genes is a
    token whose embedding is a learned gene embedding plus an embedding of its **binned**
    expression (bin 0: not detected; ``n_bins - 1`` equal-width bins of the log-normalised
    value). Pre-training: ``mask_fraction`` of the tokens get a mask token and the model
    predicts their bin (cross-entropy, a masked language model over expression "words"), on
    the training cells without labels. Fine-tuning: the mean of the output tokens feeds a
    linear classifier of cell types, and the whole network is trained on the training cells'
    labels. Scored on held-out cells (``test_fraction``, stratified), against the same
    network fine-tuned **without** pre-training and a logistic regression on the same genes.

    What is scaled down: scBERT uses 16,906 genes, a Performer (linear attention) of six
    layers with gene2vec gene embeddings, pre-trained on over a million cells; here standard
    attention, learned gene embeddings, ``n_genes`` genes and the cells given.

    Parameters
    ----------
    adata
        Log-normalised cells with ``obs[cell_type_key]``.
    cell_type_key
        Cell-type labels to predict.
    n_genes, n_bins
        Vocabulary (most variable genes) and expression bins (>= 3).
    dim, n_layers, n_heads
        Transformer width, depth and heads.
    pretrain_epochs, finetune_epochs
        Epochs of each phase (``pretrain_epochs=0`` skips pre-training entirely).
    mask_fraction
        Share of tokens masked per cell and step, in (0, 1).
    test_fraction
        Share of cells held out for scoring, in (0, 1).
    batch_size, lr
        Adam schedule.
    seed
        Seeds the split, initialisation, masks and batch order.
    progress
        tqdm bars.

    Returns
    -------
    DataFrame
        One row per method (``"scbert (pre-trained + fine-tuned)"``, ``"scbert (fine-tuned
        only)"``, ``"logistic regression (baseline)"``): ``method``, ``accuracy`` and
        ``macro_f1`` on the held-out cells, and on every row ``pretrain_loss_first``,
        ``pretrain_loss_last`` (masked cross-entropy per token, nats), ``chance_loss``
        (cross-entropy of predicting the training bin frequencies), ``n_test`` (int).

    References
    ----------
    Yang F et al. (2022) scBERT as a large-scale pretrained deep language model for cell type
    annotation of single-cell RNA-seq data. Nat Mach Intell 4:852-866.

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cells=20, n_genes=40, seed=0)
    >>> sc.pp.normalize_total(adata); sc.pp.log1p(adata)
    >>> res = pk.tl.scbert_annotate(adata, n_genes=16, dim=8, pretrain_epochs=1, finetune_epochs=1)
    >>> res["method"].tolist()
    ['scbert (pre-trained + fine-tuned)', 'scbert (fine-tuned only)', 'logistic regression (baseline)']
    """
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split
    from tqdm.auto import tqdm

    check_adata(adata)
    check_obs(adata, cell_type_key)
    for name, v in {"mask_fraction": mask_fraction, "test_fraction": test_fraction}.items():
        if not 0 < v < 1:
            raise ValueError(f"{name} must be in (0, 1), got {v}")
    if n_bins < 3:
        raise ValueError(f"n_bins must be >= 3 (zero plus two expression bins), got {n_bins}")
    if dim % n_heads:
        raise ValueError(f"dim ({dim}) must be divisible by n_heads ({n_heads})")
    labels = adata.obs[cell_type_key].astype(str).to_numpy()
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"obs[{cell_type_key!r}] has one label {classes.tolist()}; need >= 2 cell types")
    x_all = check_finite(as_dense(adata.X), name="adata.X")
    idx_train, idx_test = train_test_split(np.arange(adata.n_obs), test_size=test_fraction, stratify=y,
                                           random_state=seed)
    # vocabulary chosen on the training cells only
    genes = np.sort(np.argsort(-x_all[idx_train].var(0), kind="stable")[:min(n_genes, adata.n_vars)])
    x = x_all[:, genes]
    top = float(np.quantile(x[idx_train][x[idx_train] > 0], 0.99)) if (x[idx_train] > 0).any() else 1.0
    tokens = _bins(x, n_bins, top)
    mask_id = n_bins  # one extra "word": the mask token
    freq = np.bincount(tokens[idx_train].ravel(), minlength=n_bins) / tokens[idx_train].size
    chance = float(-(freq[freq > 0] * np.log(freq[freq > 0])).sum())
    nn = torch.nn

    class _BERT(nn.Module):
        def __init__(self):
            super().__init__()
            self.gene = nn.Embedding(len(genes), dim)
            self.bin = nn.Embedding(n_bins + 1, dim)
            self.encoder = _encoder(torch, dim, n_layers, n_heads)
            self.mlm = nn.Linear(dim, n_bins)
            self.classify = nn.Linear(dim, len(classes))

        def forward(self, tok):
            h = self.encoder(self.gene(torch.arange(tok.shape[1]))[None] + self.bin(tok))
            return h

    tok_t = torch.as_tensor(tokens, dtype=torch.long)
    y_t = torch.as_tensor(y, dtype=torch.long)
    train_t = torch.as_tensor(idx_train)

    def train(pretrain: bool) -> tuple[np.ndarray, list[float]]:
        gen = torch.Generator().manual_seed(seed)
        with torch_seed(seed):  # layers initialise from torch's global generator: the caller's is restored
            model = _BERT()
        losses: list[float] = []
        if pretrain:
            opt = torch.optim.Adam(model.parameters(), lr=lr)
            for _ in tqdm(range(pretrain_epochs), desc="scBERT pre-training", disable=not progress, mininterval=10):
                total, count = 0.0, 0
                for b in _batches(len(train_t), batch_size, gen, torch):
                    tok = tok_t[train_t[b]]
                    masked = torch.rand(tok.shape, generator=gen) < mask_fraction
                    if not masked.any():
                        continue
                    logits = model.mlm(model(torch.where(masked, mask_id, tok)))
                    loss = nn.functional.cross_entropy(logits[masked], tok[masked])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * int(masked.sum())
                    count += int(masked.sum())
                losses.append(total / max(count, 1))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        for _ in tqdm(range(finetune_epochs), desc="scBERT fine-tuning", disable=not progress, mininterval=10):
            for b in _batches(len(train_t), batch_size, gen, torch):
                rows = train_t[b]
                loss = nn.functional.cross_entropy(model.classify(model(tok_t[rows]).mean(1)), y_t[rows])
                opt.zero_grad()
                loss.backward()
                opt.step()
        model.eval()
        with torch.no_grad():
            pred = model.classify(model(tok_t[torch.as_tensor(idx_test)]).mean(1)).argmax(1).numpy()
        return pred, losses

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pred_pre, losses = train(pretrain=pretrain_epochs > 0)
        pred_scratch, _ = train(pretrain=False)
    finally:
        torch.set_num_threads(threads)
    xs = (x - x[idx_train].mean(0)) / np.where(x[idx_train].std(0) > 0, x[idx_train].std(0), 1.0)
    pred_lr = LogisticRegression(max_iter=2000).fit(xs[idx_train], y[idx_train]).predict(xs[idx_test])
    truth = y[idx_test]
    rows: list[dict[str, Any]] = []
    for method, pred in [("scbert (pre-trained + fine-tuned)", pred_pre), ("scbert (fine-tuned only)", pred_scratch),
                         ("logistic regression (baseline)", pred_lr)]:
        rows.append({"method": method, "accuracy": float((pred == truth).mean()),
                     "macro_f1": float(f1_score(truth, pred, average="macro"))})
    out = pd.DataFrame(rows)
    out["pretrain_loss_first"] = losses[0] if losses else np.nan
    out["pretrain_loss_last"] = losses[-1] if losses else np.nan
    out["chance_loss"] = chance
    out["n_test"] = len(idx_test)
    return out


@seeds_torch
def fit_scgpt(
    x: np.ndarray, pert: np.ndarray, cell_type: np.ndarray, *, dim: int = 32, n_layers: int = 2, n_heads: int = 2,
    pretrain_epochs: int = 5, finetune_epochs: int = 10, unknown_fraction: float = 0.3, batch_size: int = 64,
    lr: float = 1e-3, seed: int = 0, progress: bool = False,
):
    """scGPT's recipe at toy scale, for the held-out-cell-type task of
    :func:`perturbkit.tl.predict_response` (``method="scgpt"``).

    Tokens: a learned gene embedding plus a value embedding (a projection of the
    standardised expression) per gene, and a cell token. **Generative pre-training** on every
    training cell, as scGPT's masked-attention objective: in each batch a random
    ``unknown_fraction`` of genes carry their gene embedding only; an attention mask lets
    known genes attend to known genes only and each unknown gene to the known genes and
    itself, and the model generates the unknown genes' values (MSE). **Perturbation
    fine-tuning**, as scGPT's: a perturbation token joins the sequence of a *control* cell, and
    the model predicts the expression of a perturbed cell of the same cell type drawn at
    random (scGPT pairs control and perturbed cells the same way, since cells are never
    measured twice). Returns ``(predict, losses)``: ``predict(control_cells)`` gives their
    predicted perturbed expression; ``losses`` has ``"pretrain"`` and ``"finetune"`` lists."""
    import torch
    from tqdm.auto import tqdm

    nn = torch.nn
    n_genes = x.shape[1]
    if n_genes > 256:
        raise ValueError(f"{n_genes} genes: the toy scGPT attends over every gene token; give it a panel of "
                         "at most 256 genes (e.g. the most variable ones)")
    center, scale = x.mean(0), np.where(x.std(0) > 0, x.std(0), 1.0)
    xs = torch.as_tensor((x - center) / scale, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)

    class _GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.gene = nn.Embedding(n_genes, dim)
            self.value = nn.Sequential(nn.Linear(1, dim), nn.ReLU(), nn.Linear(dim, dim))
            self.cell = nn.Parameter(torch.zeros(dim))
            self.perturb = nn.Parameter(torch.zeros(dim))
            self.encoder = _encoder(torch, dim, n_layers, n_heads)
            self.head = nn.Linear(dim, 1)

        def forward(self, v, known=None, perturbed=False):
            """``v``: cells x genes (standardised); ``known``: bool per gene (None: all known)."""
            n = v.shape[0]
            tok = self.gene(torch.arange(n_genes))[None] + self.value(v[..., None])
            mask = None
            if known is not None:
                tok = torch.where(known[None, :, None], tok, self.gene(torch.arange(n_genes))[None].expand(n, -1, -1))
                # scGPT's attention mask: every token sees the cell token and the known genes;
                # an unknown gene also sees itself; nobody sees another unknown gene
                allowed = torch.cat([torch.ones(1, dtype=torch.bool), known])[None].expand(n_genes + 1, -1).clone()
                allowed[torch.arange(1, n_genes + 1), torch.arange(1, n_genes + 1)] = True
                mask = ~allowed
            first = (self.cell + (self.perturb if perturbed else 0))[None, None].expand(n, 1, -1)
            h = self.encoder(torch.cat([first, tok], 1), mask=mask)
            return self.head(h[:, 1:]).squeeze(-1)

    model = _GPT()
    losses: dict[str, list[float]] = {"pretrain": [], "finetune": []}
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in tqdm(range(pretrain_epochs), desc="scGPT generative pre-training", disable=not progress, mininterval=10):
        total = 0.0
        for b in _batches(len(xs), batch_size, gen, torch):
            known = torch.rand(n_genes, generator=gen) >= unknown_fraction
            if known.all() or not known.any():
                continue
            pred = model(xs[b], known)
            loss = ((pred - xs[b])[:, ~known] ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        losses["pretrain"].append(total / len(xs))
    # fine-tuning pairs: each control cell of a type with perturbed cells, a random one per epoch
    pairs = {k: (np.flatnonzero((cell_type == k) & (pert == 0)), np.flatnonzero((cell_type == k) & (pert == 1)))
             for k in np.unique(cell_type[pert == 1])}
    src = np.concatenate([c for c, p in pairs.values() if len(c) and len(p)])
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in tqdm(range(finetune_epochs), desc="scGPT perturbation fine-tuning", disable=not progress, mininterval=10):
        target = np.concatenate([rng.choice(p, size=len(c)) for c, p in pairs.values() if len(c) and len(p)])
        total = 0.0
        for b in _batches(len(src), batch_size, gen, torch):
            bi = b.numpy()
            pred = model(xs[src[bi]], perturbed=True)
            loss = ((pred - xs[target[bi]]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        losses["finetune"].append(total / len(src))
    model.eval()

    def predict(ctrl: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            v = torch.as_tensor((ctrl - center) / scale, dtype=torch.float32)
            return model(v, perturbed=True).numpy() * scale + center

    return predict, losses
