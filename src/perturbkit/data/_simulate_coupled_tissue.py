"""Seeded tissue drawn from Celcomen's energy with planted intra- and inter-cellular
gene-gene interaction matrices (``uns["truth"]``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from .._keys import SPATIAL_UNIT
from .._tissue_energy import colour_classes, knn_weights, metropolis_sweeps

__all__ = ["simulate_coupled_tissue"]

#: Genes of the simulation and what couples them.
COUPLED_GENES = ("TF", "TARGET", "LIGAND", "RESPONSE", "NICHE", "FREE")


def simulate_coupled_tissue(
    n_side: int = 24,
    *,
    intra_strength: float = 3.0,
    inter_strength: float = 8.0,
    niche_strength: float = 6.0,
    n_neighbors: int = 4,
    spacing_um: float = 10.0,
    n_sweeps: int = 150,
    seed: int = 0,
) -> AnnData:
    """A square tissue whose expression is a sample of Celcomen's energy with planted matrices.

    Cells sit on an ``n_side x n_side`` lattice (jittered). Six genes, each cell's vector on
    the positive unit sphere, drawn by Metropolis sampling (colour classes of the spatial
    graph updated in turn, ``n_sweeps`` sweeps from a random start) from

    ``log p(X) = sum_i x_i' A x_i + sum_{i<j} w_ij x_i' B x_j``

    with the planted **intra-cellular** matrix ``A``: ``TF`` and ``TARGET`` raise each other
    inside a cell (``intra_strength``); and the planted **inter-cellular** matrix ``B``:
    ``LIGAND`` in a cell raises ``RESPONSE`` in its neighbours and vice versa
    (``inter_strength``), and ``NICHE`` is shared between neighbours (``niche_strength``, on
    the diagonal). ``FREE`` is coupled to nothing. ``w`` is the symmetrised
    ``n_neighbors``-nearest-neighbour graph with weights ``1 / sqrt(d_i d_j)``, as
    :func:`perturbkit.tl.celcomen` builds it. Cell types are three vertical bands (labels
    only: they do not change expression), so a knockout's neighbours can be named by type.

    Parameters
    ----------
    n_side
        Cells per side.
    intra_strength, inter_strength, niche_strength
        Planted couplings (log-probability per unit of co-expression).
    n_neighbors
        Neighbours per cell of the spatial graph.
    spacing_um
        Lattice spacing (µm).
    n_sweeps
        Metropolis sweeps over all cells.
    seed
        Seeds the jitter, the start and the sampler.

    Returns
    -------
    AnnData
        ``X`` float32 (cells x 6), each row of unit norm; ``obsm["spatial"]`` µm;
        ``obs["cell_type"]`` (``"Tumor"``, ``"Fibroblast"``, ``"T cell"`` bands);
        ``uns["truth"]``: ``intra`` and ``inter`` (DataFrames, genes x genes, the planted
        ``A`` and ``B``), ``n_neighbors``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_coupled_tissue(12, n_sweeps=20, seed=0)
    >>> tissue.shape
    (144, 6)
    >>> float(tissue.uns["truth"]["inter"].loc["LIGAND", "RESPONSE"])
    8.0
    """
    if n_side < 3:
        raise ValueError(f"n_side must be at least 3, got {n_side}")
    rng = np.random.default_rng(seed)
    genes = list(COUPLED_GENES)
    g = len(genes)
    a = np.zeros((g, g))
    a[0, 1] = a[1, 0] = intra_strength
    b = np.zeros((g, g))
    b[2, 3] = b[3, 2] = inter_strength
    b[4, 4] = niche_strength
    ii, jj = np.meshgrid(np.arange(n_side), np.arange(n_side), indexing="ij")
    xy = np.column_stack([jj.ravel(), ii.ravel()]).astype(float) * spacing_um
    xy += rng.normal(scale=0.05 * spacing_um, size=xy.shape)
    w = knn_weights(xy, n_neighbors)
    x = np.abs(rng.normal(size=(len(xy), g)))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x = metropolis_sweeps(x, a, b, w, colour_classes(w), rng, n_sweeps=n_sweeps)
    band = np.minimum(3 * jj.ravel() // n_side, 2)
    types = np.array(["Tumor", "Fibroblast", "T cell"])[band]
    obs = pd.DataFrame({"cell_type": pd.Categorical(types, categories=["Tumor", "Fibroblast", "T cell"])},
                       index=[f"cell{i}" for i in range(len(xy))])
    truth = {"intra": pd.DataFrame(a, index=genes, columns=genes),
             "inter": pd.DataFrame(b, index=genes, columns=genes), "n_neighbors": n_neighbors}
    return AnnData(X=x.astype(np.float32), obs=obs, var=pd.DataFrame(index=genes),
                   obsm={"spatial": xy}, uns={"truth": truth, SPATIAL_UNIT: "um"})
