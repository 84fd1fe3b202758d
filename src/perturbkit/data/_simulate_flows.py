"""Seeded cells with planted intercellular flows: received signal -> gene module -> sent
signal, with one flow gained and one lost under a perturbation (for FlowSig-style graphs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ._load import CONTROL

__all__ = ["simulate_flows"]

# planted graph: (source, target) per condition; module k's genes are "MOD{k}_01" ...
_SHARED = [("RECA", "module1"), ("module1", "LIGA"), ("module2", "LIGB"), ("module3", "LIGC")]
MODULE_BASE, MODULE_SLOPE = 2.0, 1.5
_CONTROL_ONLY = [("RECB", "module2")]  # lost under the perturbation
_PERTURBED_ONLY = [("RECC", "module3")]  # gained under the perturbation


def simulate_flows(
    n_cells: int = 400,
    *,
    module_size: int = 12,
    n_genes: int = 200,
    effect: float = 0.8,
    perturbation: str = "stimulated",
    seed: int = 0,
) -> AnnData:
    """Simulate control and perturbed cells whose signalling follows a planted flow graph.

    Three receptors (``RECA``, ``RECB``, ``RECC``; the *inflow*), three gene modules of
    ``module_size`` genes each (``MOD1_01`` ...) and three ligands (``LIGA``, ``LIGB``,
    ``LIGC``; the *outflow*). Per cell, each receptor carries an independent standard
    normal activity; a module's activity is ``effect`` times the activity of the receptors
    that drive it plus noise; a ligand's is ``effect`` times its module's plus noise. In both
    conditions ``RECA -> module1``, ``module1 -> LIGA``, ``module2 -> LIGB`` and
    ``module3 -> LIGC``; only in control ``RECB -> module2`` (lost under the perturbation);
    only in perturbed cells ``RECC -> module3`` (gained). Counts are Poisson with a
    log-linear dependence on the activity (0.5 per unit) and a per-cell size factor;
    ``n_genes`` background genes (``g000`` ...) carry no signal.

    Parameters
    ----------
    n_cells
        Cells per condition.
    module_size
        Genes per module.
    n_genes
        Background genes.
    effect
        Strength of every planted edge (standardised activity units).
    perturbation
        Label of the perturbed cells in ``obs["perturbation"]`` (controls: ``"control"``).
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X``/``layers["counts"]``: counts (CSR float32), ``9 + 3 * module_size + n_genes``
        genes; ``obs["perturbation"]`` (categorical). ``uns["truth"]``: ``edges`` (DataFrame
        ``condition``, ``source``, ``target``: the planted edges per condition),
        ``modules`` (dict module -> its genes), ``inflow`` and ``outflow`` (gene lists).

    Raises
    ------
    ValueError
        ``n_cells`` below 10, ``module_size`` below 2, negative ``n_genes`` or
        ``perturbation`` equal to the control label.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_flows(200, seed=0)
    >>> sim.shape
    (400, 242)
    >>> sim.uns["truth"]["edges"].query("condition == 'stimulated'").shape[0]
    5
    """
    if n_cells < 10:
        raise ValueError(f"n_cells must be at least 10, got {n_cells}")
    if module_size < 2:
        raise ValueError(f"module_size must be at least 2, got {module_size}")
    if n_genes < 0:
        raise ValueError(f"n_genes must be non-negative, got {n_genes}")
    if perturbation == CONTROL:
        raise ValueError(f"perturbation must differ from the control label {CONTROL!r}")
    rng = np.random.default_rng(seed)
    receptors, ligands = ["RECA", "RECB", "RECC"], ["LIGA", "LIGB", "LIGC"]
    modules = {f"module{k}": [f"MOD{k}_{i + 1:02d}" for i in range(module_size)] for k in (1, 2, 3)}
    genes = receptors + [g for m in modules.values() for g in m] + ligands + [f"g{i:03d}" for i in range(n_genes)]
    edges = {CONTROL: _SHARED + _CONTROL_ONLY, perturbation: _SHARED + _PERTURBED_ONLY}
    noise_sd = np.sqrt(1.0 - min(effect**2, 0.9) / 2)  # activities stay near unit variance
    blocks, labels = [], []
    for cond, cond_edges in edges.items():
        act = {r: rng.normal(size=n_cells) for r in receptors}
        for m in modules:
            act[m] = sum(effect * act[s] for s, t in cond_edges if t == m) + noise_sd * rng.normal(size=n_cells)
        for lig in ligands:
            act[lig] = sum(effect * act[s] for s, t in cond_edges if t == lig) + noise_sd * rng.normal(size=n_cells)
        gene_act = np.column_stack(
            [act[r] for r in receptors]
            + [act[m] + 0.3 * rng.normal(size=n_cells) for m, gs in modules.items() for _ in gs]
            + [act[lig] for lig in ligands]
            + [np.zeros(n_cells)] * n_genes
        )
        base = np.concatenate([np.full(len(receptors), 6.0), np.full(3 * module_size, MODULE_BASE),
                               np.full(len(ligands), 6.0), rng.gamma(2.0, 5.0, n_genes)])
        slope = np.concatenate([np.full(len(receptors), 0.5), np.full(3 * module_size, MODULE_SLOPE),
                                np.full(len(ligands) + n_genes, 0.5)])
        blocks.append(rng.poisson(base * np.exp(slope * gene_act)))
        labels += [cond] * n_cells
    counts = sparse.csr_matrix(np.vstack(blocks).astype(np.float32))
    obs = pd.DataFrame({"perturbation": pd.Categorical(labels, categories=list(edges))},
                       index=[f"cell{i}" for i in range(len(labels))])
    adata = AnnData(counts, obs=obs, var=pd.DataFrame(index=genes))
    adata.layers["counts"] = counts.copy()
    adata.uns["truth"] = {
        "edges": pd.DataFrame([(c, s, t) for c, es in edges.items() for s, t in es],
                              columns=["condition", "source", "target"]),
        "modules": modules,
        "inflow": receptors,
        "outflow": ligands,
    }
    return adata
