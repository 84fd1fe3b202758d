"""A foundation model scaled down: a small transformer over gene tokens, pre-trained by
masked-expression prediction, with a checkpoint format and a loader for its weights.

Two architectures: ``"full"`` (one encoder over every gene token, as scBERT/scGPT) and
``"asymmetric"`` (scFoundation's xTrimoGene design: the encoder reads only the expressed,
unmasked genes; a lighter decoder fills in every gene position)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from anndata import AnnData

from ..._seeding import torch_seed
from ..._validate import as_dense, check_adata, check_finite

__all__ = ["expression_transformer", "transformer_embed"]

_FORMAT = "perturbkit-expression-transformer/1"
ARCHITECTURES = ("full", "asymmetric")


def _code_version() -> str:
    """perturbkit's version plus a hash of this module: a changed model or loop retrains."""
    # read the installed version directly: importing the package here would close an import cycle
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("perturbkit")
    except PackageNotFoundError:
        __version__ = "0.0.0"
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    return f"{__version__}+{digest}"


def _training_key(params: dict[str, Any], x: np.ndarray, genes: list[str]) -> dict[str, Any]:
    """What produced a checkpoint: every training parameter (seed included), the data, the code."""
    h = hashlib.sha256(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    h.update("\0".join(genes).encode())
    return {"params": params, "data_sha256": h.hexdigest(), "code_version": _code_version()}


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file of this process, then rename: readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _reusable(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The saved config if ``path`` holds a checkpoint trained with exactly ``key``, else None."""
    weights, meta = path.with_suffix(".pt"), path.with_suffix(".json")
    if not (weights.is_file() and meta.is_file()):
        return None
    try:
        config = json.loads(meta.read_text())
    except ValueError:
        return None
    if config.get("format") != _FORMAT or config.get("trained_with") != key:
        return None
    if config.get("weights_sha256") != _file_sha256(weights):
        return None  # weights replaced after this config was written
    return config


def _build(config: dict[str, Any]):
    if config.get("architecture", "full") == "asymmetric":
        return _build_asymmetric(config)
    import torch
    from torch import nn

    class _Model(nn.Module):
        """Token = gene embedding + projected expression value; masked values use a learned
        mask vector. A transformer encoder mixes tokens; a head reads each token's value back."""

        def __init__(self, n_genes: int, dim: int, n_layers: int, n_heads: int):
            super().__init__()
            self.gene = nn.Embedding(n_genes, dim)
            self.value = nn.Linear(1, dim)
            self.mask = nn.Parameter(torch.zeros(dim))
            layer = nn.TransformerEncoderLayer(dim, n_heads, dim_feedforward=2 * dim, dropout=0.0,
                                               batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
            self.head = nn.Linear(dim, 1)

        def forward(self, x, masked):
            ids = torch.arange(x.shape[1])
            tok = self.gene(ids)[None] + torch.where(masked[..., None], self.mask, self.value(x[..., None]))
            h = self.encoder(tok)
            return self.head(h).squeeze(-1), h

    return _Model(len(config["genes"]), config["dim"], config["n_layers"], config["n_heads"])


def _build_asymmetric(config: dict[str, Any]):
    import torch
    from torch import nn

    class _Asymmetric(nn.Module):
        """xTrimoGene-style: the encoder sees a cell token plus the expressed, unmasked genes
        (padded per batch, with a key-padding mask); the decoder sees all gene positions, where
        encoded genes carry the encoder's output and the others their (zero) value token or,
        if masked, the mask vector."""

        def __init__(self, n_genes: int, dim: int, n_layers: int, n_heads: int, decoder_layers: int):
            super().__init__()
            self.gene = nn.Embedding(n_genes, dim)
            self.value = nn.Linear(1, dim)
            self.mask = nn.Parameter(torch.zeros(dim))
            self.cell = nn.Parameter(torch.zeros(dim))

            def stack(n, ff):
                layer = nn.TransformerEncoderLayer(dim, n_heads, dim_feedforward=ff, dropout=0.0, batch_first=True)
                return nn.TransformerEncoder(layer, n, enable_nested_tensor=False)

            self.encoder = stack(n_layers, 2 * dim)
            self.decoder = stack(decoder_layers, dim)  # lighter: fewer layers, narrower feed-forward
            self.head = nn.Linear(dim, 1)

        def encode(self, x, expressed):
            """Encoder outputs (cell token first), gene index of each slot and padding mask."""
            n_cells = x.shape[0]
            counts = expressed.sum(1)
            width = int(counts.max()) if n_cells else 0
            # expressed genes first, in vocabulary order (stable sort of "not expressed")
            order = torch.sort((~expressed).to(torch.int8), dim=1, stable=True).indices[:, :width]
            pad = torch.arange(width)[None] >= counts[:, None]
            tok = self.gene(order) + self.value(torch.gather(x, 1, order)[..., None])
            tok = torch.cat([self.cell.expand(n_cells, 1, -1), tok], 1)
            pad = torch.cat([torch.zeros(n_cells, 1, dtype=torch.bool), pad], 1)
            return self.encoder(tok, src_key_padding_mask=pad), order, pad

        def forward(self, x, masked, expressed):
            visible = expressed & ~masked
            h, order, pad = self.encode(x, visible)
            ids = torch.arange(x.shape[1])
            full = self.gene(ids)[None] + torch.where(masked[..., None], self.mask, self.value(x[..., None]))
            # encoder outputs back to their gene positions (padding slots land on genes not
            # encoded, which the where() below ignores)
            placed = torch.zeros_like(full).scatter(1, order[..., None].expand(-1, -1, full.shape[2]), h[:, 1:])
            full = torch.where(visible[..., None], placed, full)
            out = self.decoder(torch.cat([h[:, :1], full], 1))
            # cell embedding: mean of the encoder's non-padded outputs (cell token included)
            keep = (~pad).float()[..., None]
            emb = (h * keep).sum(1) / keep.sum(1)
            return self.head(out[:, 1:]).squeeze(-1), emb

    return _Asymmetric(len(config["genes"]), config["dim"], config["n_layers"], config["n_heads"],
                       config["decoder_layers"])


def _forward(model, xs, masked, raw):
    """Predicted values and cell embeddings of either architecture; ``raw`` (unscaled
    values) decides which genes are expressed."""
    if hasattr(model, "encode"):
        return model(xs, masked, raw > 0)
    pred, h = model(xs, masked)
    return pred, h.mean(1)


def _matrix(adata: AnnData, genes: list[str], layer: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Cells x vocabulary matrix (scaled as in training) and a mask of genes absent from adata."""
    x = check_finite(as_dense(adata.X if layer is None else adata.layers[layer]), name="expression")
    pos = {g: i for i, g in enumerate(adata.var_names)}
    out = np.zeros((adata.n_obs, len(genes)), dtype=np.float32)
    absent = np.ones(len(genes), dtype=bool)
    for j, g in enumerate(genes):
        if g in pos:
            out[:, j] = x[:, pos[g]]
            absent[j] = False
    return out, absent


def _embed(model, x: np.ndarray, absent: np.ndarray, center: np.ndarray, scale: np.ndarray,
           batch_size: int = 256) -> np.ndarray:
    import torch

    xs = torch.as_tensor((x - center) / scale, dtype=torch.float32)
    raw = torch.as_tensor(x, dtype=torch.float32)
    masked_all = torch.as_tensor(np.broadcast_to(absent, x.shape).copy())
    model.eval()
    parts = []
    with torch.no_grad():
        for s in range(0, len(xs), batch_size):
            b = slice(s, s + batch_size)
            _, emb = _forward(model, xs[b], masked_all[b], raw[b])
            parts.append(emb.numpy())
    return np.vstack(parts)


def expression_transformer(
    adata: AnnData,
    *,
    n_genes: int = 64,
    dim: int = 32,
    n_layers: int = 2,
    n_heads: int = 2,
    architecture: str = "full",
    decoder_layers: int = 1,
    mask_fraction: float = 0.15,
    n_epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    layer: str | None = None,
    checkpoint: str | Path | None = None,
    key_added: str = "X_transformer",
    seed: int = 0,
    progress: bool = True,
    copy: bool = False,
) -> AnnData | None:
    """Pre-train a small transformer on cells by masked-expression prediction and embed them.

    Each cell is a sequence of ``n_genes`` tokens (the most variable genes): a learned gene
    embedding plus a projection of the gene's expression. ``mask_fraction`` of the values are
    hidden and the model predicts them from the other genes (the pre-training objective of
    scGPT/scFoundation/scBERT, at a ten-thousandth of their size). The cell embedding is the
    mean of the output tokens with no value masked.

    ``architecture="asymmetric"`` is scFoundation's design (xTrimoGene) at toy scale: the
    encoder reads only the genes a cell expresses (non-zero value) and that are not masked,
    plus a cell token, padded per batch and ignored through a key-padding mask; a lighter
    decoder (``decoder_layers`` layers, half the feed-forward width) receives every gene
    position, the encoder's output at the encoded genes and value or mask tokens elsewhere,
    and predicts the masked values, expressed or zero. The cell embedding is the mean of the
    encoder's outputs over the cell token and the expressed genes. Since most values of a
    single cell are zero, the expensive encoder runs on a fraction of the tokens.
    scFoundation's read-depth tokens are not modelled.

    Parameters
    ----------
    adata
        Log-normalised cells.
    n_genes
        Vocabulary: the ``n_genes`` genes of highest variance.
    dim, n_layers, n_heads
        Model width, (encoder) depth and attention heads.
    architecture
        ``"full"`` (every gene token through one encoder) or ``"asymmetric"`` (see above).
    decoder_layers
        Depth of the asymmetric model's decoder (ignored for ``"full"``).
    mask_fraction
        Fraction of values masked per cell and step.
    n_epochs, batch_size, lr
        Training schedule (Adam).
    layer
        Use this layer instead of ``X``.
    checkpoint
        If given, the model's path (``.pt`` weights plus a ``.json`` config with the gene
        vocabulary); :func:`transformer_embed` loads it. A checkpoint already there is reused,
        without training, only when it was trained with the same parameters and seed, on the
        same data (sha256 of the values of its genes) and by the same code (perturbkit version
        and a hash of this module); otherwise the model is trained and the checkpoint replaced.
        Files are written through temporary files and renamed, so a run beside another one
        never reads half a checkpoint.
    key_added
        ``obsm`` key of the embedding.
    seed
        Seeds initialisation, masks and batch order.
    progress
        tqdm progress bar over epochs.
    copy
        Return a modified copy.

    Returns
    -------
    AnnData or None
        ``obsm[key_added]``: float32 array cells x ``dim``; ``uns[key_added]``: ``params``,
        ``genes`` (vocabulary), ``loss`` (per-epoch masked MSE, list of float),
        ``baseline_loss`` (MSE of predicting each gene's mean), ``checkpoint`` (path or None),
        ``checkpoint_reused`` (bool: weights loaded from a matching checkpoint, not trained).

    References
    ----------
    Cui H et al. (2024) scGPT. Nat Methods. Hao M et al. (2024) scFoundation. Nat Methods
    21:1481-1491. Yang F et al. (2022) scBERT. Nat Mach Intell 4:852-866.

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cells=10, n_genes=40, seed=0)
    >>> sc.pp.normalize_total(adata); sc.pp.log1p(adata)
    >>> pk.tl.expression_transformer(adata, n_genes=16, dim=8, n_epochs=2, progress=False)
    >>> adata.obsm["X_transformer"].shape
    (180, 8)
    >>> pk.tl.expression_transformer(adata, n_genes=16, dim=8, n_epochs=2, architecture="asymmetric",
    ...                              key_added="X_asym", progress=False)
    >>> adata.uns["X_asym"]["params"]["architecture"], adata.obsm["X_asym"].shape
    ('asymmetric', (180, 8))
    """
    import torch
    from tqdm.auto import tqdm

    check_adata(adata)
    if not 0 < mask_fraction < 1:
        raise ValueError(f"mask_fraction must be in (0, 1), got {mask_fraction}")
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    if decoder_layers < 1:
        raise ValueError(f"decoder_layers must be >= 1, got {decoder_layers}")
    if dim % n_heads:
        raise ValueError(f"dim ({dim}) must be divisible by n_heads ({n_heads})")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    x_all = check_finite(as_dense(adata.X if layer is None else adata.layers[layer]), name="expression")
    n_genes = min(n_genes, adata.n_vars)
    order = np.argsort(-x_all.var(0), kind="stable")[:n_genes]
    genes = [str(adata.var_names[i]) for i in sorted(order)]
    config = {"format": _FORMAT, "genes": genes, "dim": dim, "n_layers": n_layers, "n_heads": n_heads,
              "architecture": architecture, "decoder_layers": decoder_layers}
    x, _ = _matrix(adata, genes, layer)
    # standardised values: the model learns structure, not each gene's offset
    center = x.mean(0).astype(np.float32)
    scale = np.where(x.std(0) > 0, x.std(0), 1.0).astype(np.float32)
    config["center"], config["scale"] = center.tolist(), scale.tolist()

    params = {"n_genes": n_genes, "dim": dim, "n_layers": n_layers, "n_heads": n_heads,
              "architecture": architecture, "decoder_layers": decoder_layers,
              "mask_fraction": mask_fraction, "n_epochs": n_epochs, "seed": seed}
    key = _training_key({**params, "batch_size": batch_size, "lr": lr, "layer": layer}, x, genes)
    path = None if checkpoint is None else Path(checkpoint)
    saved_config = None if path is None else _reusable(path, key)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch_seed(seed):  # layers initialise from torch's global generator: the caller's is restored
            model = _build(config)
        if saved_config is not None:
            model.load_state_dict(torch.load(path.with_suffix(".pt"), weights_only=True))
            losses = list(saved_config["loss"])
            emb = _embed(model, x, np.zeros(len(genes), bool), center, scale)
            return _write(adata, emb, params, genes, losses, str(path.with_suffix(".pt")), True, key_added, copy)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        xt = torch.as_tensor((x - center) / scale, dtype=torch.float32)
        raw = torch.as_tensor(x, dtype=torch.float32)
        losses = []
        # at most one update per 10 s: executed notebooks keep a short record, not hundreds of lines
        for _ in tqdm(range(n_epochs), desc="masked-expression pre-training", disable=not progress, mininterval=10):
            model.train()
            perm = torch.randperm(len(xt), generator=gen)
            total, count = 0.0, 0
            for s in range(0, len(xt), batch_size):
                idx = perm[s:s + batch_size]
                xb = xt[idx]
                masked = torch.rand(xb.shape, generator=gen) < mask_fraction
                pred, _ = _forward(model, xb, masked, raw[idx])
                loss = ((pred - xb)[masked] ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * int(masked.sum())
                count += int(masked.sum())
            losses.append(total / max(count, 1))
        emb = _embed(model, x, np.zeros(len(genes), bool), center, scale)
    finally:
        torch.set_num_threads(threads)
    saved = None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        weights = path.with_suffix(".pt")
        _atomic_write(weights, lambda tmp: torch.save(model.state_dict(), tmp))
        meta = {**config, "trained_with": key, "loss": losses, "weights_sha256": _file_sha256(weights)}
        _atomic_write(path.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(meta)))
        saved = str(weights)
    return _write(adata, emb, params, genes, losses, saved, False, key_added, copy)


def _write(adata: AnnData, emb: np.ndarray, params: dict[str, Any], genes: list[str], losses: list[float],
           saved: str | None, reused: bool, key_added: str, copy: bool) -> AnnData | None:
    out = adata.copy() if copy else adata
    out.obsm[key_added] = emb.astype(np.float32)
    out.uns[key_added] = {
        "params": params, "genes": genes, "loss": losses,
        "baseline_loss": 1.0,  # predicting each gene's mean of standardised values
        "checkpoint": saved, "checkpoint_reused": reused,
    }
    return out if copy else None


def transformer_embed(
    adata: AnnData,
    checkpoint: str | Path,
    *,
    layer: str | None = None,
    key_added: str = "X_transformer",
    copy: bool = False,
) -> AnnData | None:
    """Embed cells with a saved expression transformer (the loading path for pre-trained weights).

    Genes are matched to the checkpoint's vocabulary by name; vocabulary genes missing from
    ``adata`` enter as masked tokens, as foundation models treat unmeasured genes (the
    asymmetric encoder simply does not see them). This is
    the step that would load published weights, given them in this format.

    Parameters
    ----------
    adata
        Log-normalised cells (same normalisation as in pre-training).
    checkpoint
        Path written by :func:`expression_transformer` (``.pt`` and ``.json`` side by side).
    layer, key_added, copy
        As in :func:`expression_transformer`.

    Returns
    -------
    AnnData or None
        ``obsm[key_added]`` (float32 cells x dim) and ``uns[key_added]`` with ``checkpoint``,
        ``architecture`` and ``n_missing_genes``.

    Raises
    ------
    FileNotFoundError
        The checkpoint files do not exist. ``ValueError``: not a checkpoint of this format,
        or no vocabulary gene is present in ``adata``.

    Examples
    --------
    >>> import tempfile, scanpy as sc, perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(n_cells=10, n_genes=40, seed=0)
    >>> sc.pp.normalize_total(adata); sc.pp.log1p(adata)
    >>> ckpt = tempfile.mkdtemp() + "/tiny"
    >>> pk.tl.expression_transformer(adata, n_genes=16, dim=8, n_epochs=1, checkpoint=ckpt, progress=False)
    >>> again = pk.tl.transformer_embed(adata, ckpt, key_added="reloaded", copy=True)
    >>> bool((again.obsm["reloaded"] == adata.obsm["X_transformer"]).all())
    True
    """
    import torch

    check_adata(adata)
    path = Path(checkpoint)
    weights, meta = path.with_suffix(".pt"), path.with_suffix(".json")
    if not weights.is_file() or not meta.is_file():
        raise FileNotFoundError(f"checkpoint needs {weights} and {meta}")
    config = json.loads(meta.read_text())
    if config.get("format") != _FORMAT:
        raise ValueError(f"{meta} is not a {_FORMAT} checkpoint (format={config.get('format')!r})")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    x, absent = _matrix(adata, config["genes"], layer)
    if absent.all():
        raise ValueError("none of the checkpoint's genes is in adata.var_names (symbols vs ids?)")
    if "weights_sha256" in config and config["weights_sha256"] != _file_sha256(weights):
        raise ValueError(f"{weights} does not match the sha256 recorded in {meta}: the weights were "
                         "replaced after the config was written (another run saving to the same path?); "
                         "train again or give each run its own checkpoint path")
    with torch_seed(0):  # the initial weights are replaced by the checkpoint's; do not draw from the caller's stream
        model = _build(config)
    model.load_state_dict(torch.load(weights, weights_only=True))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        emb = _embed(model, x, absent, np.asarray(config["center"], dtype=np.float32),
                     np.asarray(config["scale"], dtype=np.float32))
    finally:
        torch.set_num_threads(threads)
    out = adata.copy() if copy else adata
    out.obsm[key_added] = emb.astype(np.float32)
    out.uns[key_added] = {"checkpoint": str(weights), "architecture": config.get("architecture", "full"),
                          "n_missing_genes": int(absent.sum())}
    return out if copy else None
