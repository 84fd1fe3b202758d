"""Simcomen: a counterfactual knockout simulated through Celcomen's learnt matrices."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ..._tissue_energy import knn_weights
from ..._validate import check_obs
from ...pp._spatial_neighbors import check_coordinates
from ._celcomen import _expression_on_sphere

__all__ = ["simcomen"]


def _relax(x, a, b, w, *, n_steps, step_size, clamp):
    """Projected gradient ascent of log p(X) on the positive unit sphere (the partition
    function does not depend on X, so the unnormalised energy's gradient is exact)."""
    x = x.copy()
    # in units of the largest field the matrices can make, so that step_size means the same
    # on a tissue with weak couplings and on one with strong ones
    eta = step_size / max(2 * np.linalg.norm(a, 2) + np.linalg.norm(b, 2), 1e-12)
    for _ in range(n_steps):
        grad = 2 * x @ a + (w @ x) @ b
        x = np.maximum(x + eta * grad, 0.0)
        if clamp is not None:
            x[clamp] = 0.0
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def _hops(w: sparse.csr_matrix, mask: np.ndarray, max_hops: int) -> np.ndarray:
    """Graph distance (edges) from the nearest masked cell, capped at ``max_hops``."""
    adj = (w > 0).astype(float)
    hop = np.full(len(mask), max_hops)
    hop[mask] = 0
    reached, frontier = mask.copy(), mask.astype(float)
    for h in range(1, max_hops):
        new = (adj @ frontier > 0) & ~reached
        hop[new] = h
        reached |= new
        frontier = new.astype(float)
    return hop


def simcomen(
    adata: AnnData,
    gene: str,
    cells: str | Sequence[bool] | np.ndarray,
    *,
    key: str = "celcomen",
    cell_type_key: str = "cell_type",
    n_steps: int = 30,
    step_size: float = 0.5,
    max_hops: int = 3,
) -> pd.DataFrame:
    """Knock ``gene`` out in ``cells`` and let the tissue settle under Celcomen's matrices.

    Celcomen's counterfactual step (Simcomen): keep the learnt intra- and inter-cellular
    interaction matrices fixed, set the gene to zero in the perturbed cells, and move every
    cell's expression up the model's log-probability by gradient ascent on the unit sphere,
    the knocked-out entries held at zero. The same relaxation without the knockout (a sham)
    is the reference, so ``delta = knockout - sham`` isolates the knockout's effect from the
    relaxation itself. Cells are grouped by their distance in graph hops from the nearest
    knocked-out cell: hop 0 the knockout cells, hop 1 their neighbours, ..., ``max_hops``
    that many hops or more. Only ``B`` carries an effect to other cells: with the
    intra-only model every ``delta`` at hop >= 1 is 0.

    Must run first: :func:`perturbkit.tl.celcomen` (writes ``uns[key]``).

    Parameters
    ----------
    adata
        The tissue the model was fitted on (same genes, coordinates and layer).
    gene
        Gene to knock out; one of the model's genes.
    cells
        Boolean mask (length ``n_obs``) or the name of a boolean ``obs`` column: the
        knocked-out cells.
    key
        ``uns`` key written by :func:`perturbkit.tl.celcomen`.
    cell_type_key
        ``obs`` column of cell types (rows of the result).
    n_steps, step_size
        Gradient-ascent steps and their size, relative to the largest field the matrices
        can make (``2 |A| + |B|``, spectral norms), so it does not depend on their scale.
        Simcomen runs a short relaxation from the observed tissue, not to convergence.
    max_hops
        Distances from the knockout beyond which cells are pooled.

    Returns
    -------
    DataFrame
        One row per cell type x hop x gene: ``cell_type``, ``hop`` (int), ``gene``, ``delta``
        (mean knockout - sham, unit-sphere expression), ``n_cells``. ``adata`` is not
        modified.

    Raises
    ------
    KeyError, ValueError
        No fitted model under ``key``; ``gene`` not in the model; ``cells`` of the wrong
        length, not boolean or empty; missing ``cell_type_key``.

    Examples
    --------
    >>> import numpy as np, perturbkit as pk
    >>> tissue = pk.data.simulate_coupled_tissue(16, n_sweeps=60, seed=0)
    >>> pk.tl.celcomen(tissue, n_neighbors=4, n_iter=80, seed=0)
    >>> xy = tissue.obsm["spatial"]
    >>> ko = np.hypot(*(xy - xy.mean(0)).T) < 25
    >>> res = pk.tl.simcomen(tissue, "LIGAND", ko)
    >>> near = res.query("hop == 1").groupby("gene")["delta"].mean()
    >>> bool(near["RESPONSE"] < near["FREE"])
    True
    """
    if key not in adata.uns or "inter" not in adata.uns[key]:
        raise KeyError(f"adata.uns has no fitted Celcomen model under {key!r}; run pk.tl.celcomen(adata, key_added={key!r}) first")
    model = adata.uns[key]
    params = model["params"]
    genes = list(params["genes"])
    if gene not in genes:
        raise KeyError(f"gene {gene!r} is not in the Celcomen model under {key!r}; its genes: {genes}")
    check_obs(adata, cell_type_key)
    if isinstance(cells, str):
        check_obs(adata, cells)
        cells = adata.obs[cells].to_numpy()
    mask = np.asarray(cells)
    if mask.dtype != bool or mask.shape != (adata.n_obs,):
        raise ValueError(f"cells must be a boolean mask of length n_obs={adata.n_obs} (or a boolean obs column), "
                         f"got dtype {mask.dtype}, shape {mask.shape}")
    if not mask.any():
        raise ValueError("cells selects no cell: nothing to knock out")
    xy = check_coordinates(adata, params["spatial_key"])
    _, x = _expression_on_sphere(adata, genes, params["layer"])
    w = knn_weights(xy, params["n_neighbors"])
    a = model["intra"].loc[genes, genes].to_numpy()
    b = model["inter"].loc[genes, genes].to_numpy()
    clamp = np.zeros_like(x, dtype=bool)
    clamp[mask, genes.index(gene)] = True
    x_ko = x.copy()
    x_ko[clamp] = 0.0
    x_ko /= np.maximum(np.linalg.norm(x_ko, axis=1, keepdims=True), 1e-12)
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    with threadpool_limits(1):  # small products: BLAS threads only add contention
        sham = _relax(x, a, b, w, n_steps=n_steps, step_size=step_size, clamp=None)
        knock = _relax(x_ko, a, b, w, n_steps=n_steps, step_size=step_size, clamp=clamp)
    hop = _hops(w, mask, max_hops)
    delta = pd.DataFrame(knock - sham, columns=genes)
    delta["cell_type"] = adata.obs[cell_type_key].astype(str).to_numpy()
    delta["hop"] = hop
    long = delta.melt(id_vars=["cell_type", "hop"], var_name="gene", value_name="delta")
    out = long.groupby(["cell_type", "hop", "gene"], observed=True)["delta"].agg(["mean", "size"]).reset_index()
    return out.rename(columns={"mean": "delta", "size": "n_cells"})
