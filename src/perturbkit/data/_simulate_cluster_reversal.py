"""Seeded simulator of a single-cell disease atlas with clusters of different sizes and a
drug reference whose planted compounds reverse the disease in some clusters only (the
setting ASGARD's multi-cluster drug score is built for)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

__all__ = ["simulate_cluster_reversal"]


def simulate_cluster_reversal(
    cluster_sizes: Sequence[int] = (400, 300, 40),
    *,
    n_genes: int = 300,
    n_de: int = 25,
    n_drugs: int = 30,
    instances_per_drug: int = 4,
    effect: float = 1.0,
    drug_effect: float = 2.0,
    seed: int = 0,
) -> AnnData:
    """Cells x genes of log expression: healthy (``"control"``) and diseased cells in
    clusters of the given sizes, with a compound reference in ``uns["signatures"]``.

    Each cluster has its own disease signature (``n_de`` genes up, ``n_de`` down by
    ``effect`` log units in its diseased cells, disjoint between clusters). Half of every
    cluster's cells are diseased. The reference holds ``n_drugs`` compounds with
    ``instances_per_drug`` signatures each (e.g. doses or cell lines), z-scores with unit
    noise plus 15 random genes of each compound's own biology. Two compounds are planted:
    ``"broad_reverser"`` moves the signature genes of every cluster but the smallest the
    opposite way by ``drug_effect``; ``"niche_reverser"`` reverses only the smallest
    cluster's signature, by ``1.5 * drug_effect`` (so it is the best match of that cluster).

    Parameters
    ----------
    cluster_sizes
        Cells per cluster (at least two clusters); the last should be the smallest.
    n_genes, n_de
        Genes measured; signature genes up (and down) per cluster.
    n_drugs, instances_per_drug
        Compounds in the reference (planted ones included) and signatures per compound.
    effect, drug_effect
        Disease shift of signature genes (log units) and planted reversal (z units).
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``obs``: ``perturbation`` (``"control"`` / ``"disease"``), ``cell_type``
        (``"cluster_0"``, ...); ``uns["signatures"]``: DataFrame, signatures x genes,
        indexed ``"<compound>|<instance>"``; ``uns["truth"]``: dict with ``up`` and
        ``down`` (cluster -> gene list), ``broad_reverser``, ``niche_reverser``,
        ``small_cluster``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_cluster_reversal(seed=0)
    >>> sim.shape, sim.uns["signatures"].shape, sim.uns["truth"]["small_cluster"]
    ((740, 300), (120, 300), 'cluster_2')
    """
    sizes = [int(s) for s in cluster_sizes]
    if len(sizes) < 2 or min(sizes) < 8:
        raise ValueError(f"cluster_sizes needs at least two clusters of >= 8 cells, got {list(cluster_sizes)}")
    if 2 * n_de * len(sizes) > n_genes:
        raise ValueError(f"n_genes={n_genes} is too few for {len(sizes)} clusters x 2 x n_de={n_de} signature genes")
    if n_drugs < 5 or instances_per_drug < 1:
        raise ValueError(f"need n_drugs >= 5 and instances_per_drug >= 1, got {n_drugs}, {instances_per_drug}")
    rng = np.random.default_rng(seed)
    genes = np.array([f"g{i:03d}" for i in range(n_genes)])
    shuffled = rng.permutation(n_genes)
    names = [f"cluster_{k}" for k in range(len(sizes))]
    up, down = {}, {}
    for k, name in enumerate(names):
        block = shuffled[2 * n_de * k: 2 * n_de * (k + 1)]
        up[name], down[name] = block[:n_de], block[n_de:]
    base = rng.normal(2.0, 0.5, n_genes)
    xs, obs = [], []
    for name, n in zip(names, sizes, strict=True):
        type_shift = rng.normal(0.0, 0.3, n_genes)
        x = base + type_shift + rng.normal(0.0, 1.0, (n, n_genes))
        sick = np.arange(n) >= n // 2
        x[np.ix_(sick, up[name])] += effect
        x[np.ix_(sick, down[name])] -= effect
        xs.append(x)
        obs.append(pd.DataFrame({"perturbation": np.where(sick, "disease", "control"), "cell_type": name}))
    obs = pd.concat(obs, ignore_index=True)
    obs.index = [f"cell{i}" for i in range(len(obs))]
    adata = AnnData(np.vstack(xs).astype(np.float32), obs=obs, var=pd.DataFrame(index=genes))
    for col in ("perturbation", "cell_type"):
        adata.obs[col] = adata.obs[col].astype("category")

    small = names[int(np.argmin(sizes))]
    drugs = ["broad_reverser", "niche_reverser"] + [f"drug_{i:02d}" for i in range(n_drugs - 2)]
    rows, index = [], []
    for drug in drugs:
        own = rng.choice(n_genes, 15, replace=False)
        own_shift = rng.normal(0.0, 1.5, 15)
        for j in range(instances_per_drug):
            z = rng.normal(0.0, 1.0, n_genes)
            z[own] += own_shift
            strength = rng.uniform(0.6, 1.0)
            if drug == "broad_reverser":
                for name in names:
                    if name != small:
                        z[up[name]] -= drug_effect * strength
                        z[down[name]] += drug_effect * strength
            elif drug == "niche_reverser":
                z[up[small]] -= 1.5 * drug_effect * strength
                z[down[small]] += 1.5 * drug_effect * strength
            rows.append(z)
            index.append(f"{drug}|{j}")
    adata.uns["signatures"] = pd.DataFrame(np.array(rows), index=index, columns=genes)
    adata.uns["truth"] = {
        "up": {k: genes[v].tolist() for k, v in up.items()},
        "down": {k: genes[v].tolist() for k, v in down.items()},
        "broad_reverser": "broad_reverser",
        "niche_reverser": "niche_reverser",
        "small_cluster": small,
    }
    return adata
