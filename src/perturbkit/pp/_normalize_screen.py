"""Library-size normalisation of pooled-screen count tables (sgRNA x sample)."""

from __future__ import annotations

import numpy as np
from anndata import AnnData

from .._keys import NORMALIZED
from .._validate import as_dense, check_adata, check_counts

__all__ = ["normalize_screen"]


def _counts(adata: AnnData, layer: str | None) -> np.ndarray:
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    x = as_dense(adata.layers[layer] if layer is not None else adata.X)
    check_counts(x, name=f"sgRNA counts ({'layers[' + repr(layer) + ']' if layer else 'X'})")
    return x


def size_factors(counts: np.ndarray, method: str = "median") -> np.ndarray:
    """Per-sample size factors of an sgRNA x sample count matrix.

    ``"median"``: DESeq-style median ratio, as MAGeCK's ``--norm-method median``: each
    sample's factor is the median, over sgRNAs with no zero count, of its count divided by
    the sgRNA's geometric mean across samples. ``"total"``: total reads over their mean.
    """
    if method == "median":
        positive = np.all(counts > 0, axis=1)
        if positive.sum() < 10:
            raise ValueError(
                f"median-ratio normalisation needs sgRNAs counted in every sample; only "
                f"{int(positive.sum())} have no zero count (use method='total')"
            )
        logc = np.log(counts[positive])
        ratios = logc - logc.mean(axis=1, keepdims=True)
        return np.exp(np.median(ratios, axis=0))
    if method == "total":
        total = counts.sum(axis=0)
        if np.any(total == 0):
            raise ValueError(f"sample(s) with zero reads: positions {np.flatnonzero(total == 0).tolist()}")
        return total / total.mean()
    raise ValueError(f"method must be 'median' or 'total', got {method!r}")


def normalize_screen(
    adata: AnnData,
    *,
    method: str = "median",
    layer: str | None = "counts",
    key_added: str = NORMALIZED,
    copy: bool = False,
) -> AnnData | None:
    """Normalise a pooled-screen count table for sequencing depth.

    Expects sgRNAs as observations and samples as variables (as returned by
    ``pk.data.load("pooled_crispr_mageck_leukemia")`` or
    :func:`perturbkit.data.simulate_pooled_screen`). Median-ratio size factors follow
    MAGeCK {cite}`li2014mageck`, which borrowed them from DESeq.

    Parameters
    ----------
    adata
        sgRNA x sample AnnData with raw counts.
    method
        ``"median"`` (median ratio to the geometric mean) or ``"total"`` (total reads).
    layer
        Layer with raw counts (``None``: ``X``).
    key_added
        Name of the layer written.
    copy
        Return a normalised copy instead of writing to ``adata``.

    Returns
    -------
    None or AnnData
        Writes ``layers[key_added]`` (float64, counts / size factor),
        ``var["size_factor"]`` (float64) and ``uns[key_added]["params"]``.

    Raises
    ------
    ValueError
        Negative, fractional or non-finite counts; a sample without reads.

    Examples
    --------
    >>> import perturbkit as pk
    >>> screen = pk.data.simulate_pooled_screen(n_genes=50, seed=0)
    >>> pk.pp.normalize_screen(screen)
    >>> screen.var["size_factor"].round(2).tolist()  # doctest: +SKIP
    """
    check_adata(adata)
    counts = _counts(adata, layer)
    sf = size_factors(counts, method)
    out = adata.copy() if copy else adata
    out.layers[key_added] = counts / sf[None, :]
    out.var["size_factor"] = sf
    out.uns[key_added] = {"params": {"method": method, "layer": layer}}
    return out if copy else None
