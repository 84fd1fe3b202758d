"""Seeded cell-line screen whose drug responses depend on the mutations of planted
subsystems of a small term hierarchy (for DrugCell-style visible networks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_ontology_response"]


def simulate_ontology_response(
    n_cells: int = 400,
    *,
    n_branches: int = 4,
    n_leaves: int = 3,
    genes_per_leaf: int = 5,
    n_drugs: int = 3,
    mutation_rate: float = 0.08,
    effect: float = -2.0,
    noise: float = 0.5,
    n_tissues: int = 3,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """A three-level hierarchy (root -> branches -> leaves -> genes), binary mutations and a
    ln IC50 per drug, with the response driven by one planted subsystem per drug: drug ``D{k}``
    is more sensitive by ``effect`` in lines where *both* leaves ``L{k}_0`` and ``L{k}_1`` of
    branch ``B{k}`` carry a mutation (an interaction between two sub-pathways that first meet
    in the module of ``B{k}``), for ``k < min(n_drugs - 1, n_branches)``; the remaining drugs
    (at least the last) have no planted subsystem (tissue + noise only).

    Parameters
    ----------
    n_cells
        Cell lines.
    n_branches, n_leaves, genes_per_leaf
        Hierarchy shape: ``B{i}`` branches under ``root``, ``L{i}_{j}`` leaves, genes ``G{i}_{j}_{g}``.
    n_drugs
        Drugs ``D0``..; ``D{k}`` for ``k < min(n_drugs - 1, n_branches)`` has a planted branch.
    mutation_rate, effect, noise
        Per-gene mutation probability, ln IC50 shift of lines with both planted leaves mutated, noise SD.
    n_tissues
        Tissues, each shifting every drug's ln IC50.
    seed
        Random seed.

    Returns
    -------
    dict
        ``ic50`` (cell lines x drugs), ``features`` (``<gene>_mut`` columns and
        ``TISSUE_FACTOR``), ``terms`` (``parent``, ``child``), ``genes`` (``term``, ``gene``)
        and ``truth`` (``drug``, ``term``: the planted branch, ``leaves``: its two leaves,
        ``n_hit``: lines carrying the planted interaction).

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_ontology_response(seed=0)
    >>> sim["ic50"].shape, sim["truth"]["term"].tolist()
    ((400, 3), ['B0', 'B1'])
    >>> sim["truth"]["n_hit"].tolist()
    [57, 46]
    """
    if n_leaves < 2:
        raise ValueError(f"n_leaves must be >= 2 (the planted interaction joins two leaves), got {n_leaves}")
    if n_drugs < 2:
        raise ValueError(f"n_drugs must be >= 2 (one drug stays without a planted subsystem), got {n_drugs}")
    rng = np.random.default_rng(seed)
    term_rows, gene_rows = [], []
    for i in range(n_branches):
        term_rows.append(("root", f"B{i}"))
        for j in range(n_leaves):
            term_rows.append((f"B{i}", f"L{i}_{j}"))
            gene_rows += [(f"L{i}_{j}", f"G{i}_{j}_{g}") for g in range(genes_per_leaf)]
    terms = pd.DataFrame(term_rows, columns=["parent", "child"])
    genes = pd.DataFrame(gene_rows, columns=["term", "gene"])
    names = genes["gene"].tolist()
    mut = (rng.random((n_cells, len(names))) < mutation_rate).astype(np.int64)
    cells = [f"line{c:04d}" for c in range(n_cells)]
    tissue = rng.integers(0, n_tissues, n_cells)
    features = pd.DataFrame(mut, index=cells, columns=[g + "_mut" for g in names])
    features.insert(0, "TISSUE_FACTOR", [f"tissue{t}" for t in tissue])
    shift = rng.normal(0, 0.7, (n_tissues, n_drugs))
    ic50 = rng.normal(0, noise, (n_cells, n_drugs)) + shift[tissue] + rng.normal(0, 1.0, n_drugs)
    truth = []
    for k in range(min(n_drugs - 1, n_branches)):
        leaves = [f"L{k}_0", f"L{k}_1"]
        hit = np.ones(n_cells, bool)
        for leaf in leaves:
            cols = [names.index(g) for g in genes.loc[genes["term"] == leaf, "gene"]]
            hit &= mut[:, cols].any(axis=1)
        ic50[:, k] += effect * hit
        truth.append({"drug": f"D{k}", "term": f"B{k}", "leaves": leaves, "n_hit": int(hit.sum())})
    return {
        "ic50": pd.DataFrame(ic50, index=cells, columns=[f"D{k}" for k in range(n_drugs)]),
        "features": features,
        "terms": terms,
        "genes": genes,
        "truth": pd.DataFrame(truth),
    }
