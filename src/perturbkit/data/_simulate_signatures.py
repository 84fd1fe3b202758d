"""Seeded simulator of a compound-signature plate (L1000-like) with planted reversers of a
disease signature, for connectivity scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

__all__ = ["simulate_signature_screen"]


def simulate_signature_screen(
    n_genes: int = 200,
    n_compounds: int = 40,
    *,
    n_query: int = 20,
    n_reversers: int = 3,
    n_mimickers: int = 2,
    wells_per_compound: int = 2,
    n_controls: int = 12,
    effect: float = 1.5,
    noise: float = 0.3,
    seed: int = 0,
) -> AnnData:
    """Wells x genes of log expression: vehicle wells, and compounds of which a few reverse
    (or mimic) a planted disease signature.

    The disease signature is ``n_query`` genes up and ``n_query`` down. Reversers move those
    genes the opposite way by ``effect`` (times a random factor in 0.5-1), mimickers the same
    way; every compound also changes 15 random genes (its own biology). Well noise is
    Gaussian with sd ``noise``.

    Parameters
    ----------
    n_genes, n_compounds
        Plate size.
    n_query
        Genes up and genes down in the disease signature.
    n_reversers, n_mimickers
        Planted compounds.
    wells_per_compound, n_controls
        Replicate wells per compound, vehicle wells.
    effect, noise
        Effect size and noise sd (log2 units).
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``obs``: ``perturbation`` (compound, ``"control"`` for vehicle), ``dose`` (1.0;
        0 for vehicle), ``dose_unit``; ``uns["truth"]``: dict with ``up``, ``down`` (gene
        lists), ``reversers`` and ``mimickers`` (compound lists).

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_signature_screen(seed=0)
    >>> sim.shape, len(sim.uns["truth"]["reversers"])
    ((92, 200), 3)
    """
    if 2 * n_query > n_genes:
        raise ValueError(f"2 * n_query ({2 * n_query}) exceeds n_genes ({n_genes})")
    if n_reversers + n_mimickers > n_compounds:
        raise ValueError("more planted compounds than compounds")
    rng = np.random.default_rng(seed)
    genes = [f"G{i:04d}" for i in range(n_genes)]
    perm = rng.permutation(n_genes)
    up, down = perm[:n_query], perm[n_query : 2 * n_query]
    disease = np.zeros(n_genes)
    disease[up], disease[down] = 1.0, -1.0
    names = [f"cpd{i:03d}" for i in range(n_compounds)]
    order = rng.permutation(n_compounds)
    reversers = [names[i] for i in order[:n_reversers]]
    mimickers = [names[i] for i in order[n_reversers : n_reversers + n_mimickers]]
    baseline = rng.normal(8.0, 1.5, n_genes)
    rows, labels = [], []
    for _ in range(n_controls):
        rows.append(baseline + rng.normal(0, noise, n_genes))
        labels.append("control")
    for name in names:
        shift = np.zeros(n_genes)
        own = rng.choice(n_genes, 15, replace=False)
        shift[own] = rng.normal(0, effect, 15)
        if name in reversers or name in mimickers:
            sign = -1.0 if name in reversers else 1.0
            shift += sign * effect * rng.uniform(0.5, 1.0) * disease
        for _ in range(wells_per_compound):
            rows.append(baseline + shift + rng.normal(0, noise, n_genes))
            labels.append(name)
    obs = pd.DataFrame({"perturbation": labels}, index=[f"well{i:03d}" for i in range(len(labels))])
    obs["dose"] = np.where(obs["perturbation"] == "control", 0.0, 1.0)
    obs["dose_unit"] = "uM"
    adata = AnnData(X=np.vstack(rows), obs=obs, var=pd.DataFrame(index=genes))
    adata.uns["truth"] = {"up": [genes[i] for i in up], "down": [genes[i] for i in down],
                          "reversers": reversers, "mimickers": mimickers}
    return adata
