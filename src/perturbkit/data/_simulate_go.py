"""Single and double perturbations of real genes whose effects follow their Gene Ontology terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ._load import CONTROL


def simulate_go_screen(
    gene_sets: Mapping[str, Sequence[str]],
    *,
    n_readout_genes: int = 100,
    n_pairs: int = 60,
    gene_noise: float = 0.3,
    noise: float = 0.05,
    seed: int = 0,
) -> AnnData:
    """Condition means of a screen where a perturbation's effect is set by its GO terms.

    Every term in ``gene_sets`` (term -> perturbed genes annotated to it, e.g. GO terms of
    the mirrored ``ontology_drugcell``) gets a random program over ``n_readout_genes`` readout
    genes. Perturbing gene *g* shifts expression by the mean program of *g*'s terms plus a
    gene-specific part (sd ``gene_noise`` relative to the program scale): genes that share
    terms respond alike, which is the assumption GEARS's Gene Ontology graph rests on. A pair
    ``A+B`` is additive, plus measurement noise (sd ``noise``) on every condition.

    Parameters
    ----------
    gene_sets
        Term -> perturbed genes (a gene may be in several terms).
    n_readout_genes
        Genes read out (``R0``, ``R1``, ...).
    n_pairs
        Random pairs of perturbed genes measured as doubles.
    gene_noise
        SD of each gene's own effect, relative to the programs (0: a gene is its terms).
    noise
        Measurement noise of every condition mean.
    seed
        Random seed.

    Returns
    -------
    AnnData
        One row per condition (``control``, every single, ``n_pairs`` doubles ``"A+B"``),
        ``X`` the mean (log) expression, ``obs["perturbation"]``. ``uns["truth"]``:
        ``"effects"`` (conditions x readout genes, planted shifts without noise),
        ``"gene_terms"`` (DataFrame ``term``, ``gene``).

    Examples
    --------
    >>> import perturbkit as pk
    >>> sets = {"t1": ["A", "B", "C"], "t2": ["C", "D", "E"]}
    >>> go = pk.data.simulate_go_screen(sets, n_readout_genes=20, n_pairs=3, seed=0)
    >>> go.n_obs, go.n_vars
    (9, 20)
    """
    if not gene_sets:
        raise ValueError("gene_sets is empty: pass term -> genes")
    rng = np.random.default_rng(seed)
    terms = list(gene_sets)
    genes = sorted({g for gs in gene_sets.values() for g in gs})
    programs = rng.normal(0, 0.5, (len(terms), n_readout_genes))
    member = np.array([[g in set(gene_sets[t]) for t in terms] for g in genes], dtype=float)
    effects = (member @ programs) / member.sum(1, keepdims=True)
    effects += rng.normal(0, 0.5 * gene_noise, effects.shape)
    idx = {g: i for i, g in enumerate(genes)}
    pairs = set()
    while len(pairs) < min(n_pairs, len(genes) * (len(genes) - 1) // 2):
        a, b = sorted(rng.choice(genes, 2, replace=False))
        pairs.add(f"{a}+{b}")
    pairs = sorted(pairs)
    names = [CONTROL, *genes, *pairs]
    truth = np.vstack([np.zeros(n_readout_genes), effects,
                       *[effects[idx[p.split("+")[0]]] + effects[idx[p.split("+")[1]]] for p in pairs]])
    base = rng.normal(1.0, 0.3, n_readout_genes)
    x = base + truth + rng.normal(0, noise, truth.shape)
    obs = pd.DataFrame({"perturbation": pd.Categorical(names)}, index=pd.Index(names, name="condition"))
    adata = AnnData(X=x, obs=obs, var=pd.DataFrame(index=pd.Index([f"R{i}" for i in range(n_readout_genes)],
                                                                  name="gene")))
    adata.uns["truth"] = {
        "effects": pd.DataFrame(truth, index=names, columns=adata.var_names),
        "gene_terms": pd.DataFrame([(t, g) for t in terms for g in gene_sets[t]], columns=["term", "gene"]),
    }
    return adata
