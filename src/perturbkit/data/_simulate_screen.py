"""A pooled single-cell CRISPR screen with planted truth: guides, MOI, capture, knockouts, escapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

__all__ = ["simulate_screen"]

NON_TARGETING = "non-targeting"


def simulate_screen(
    n_cells: int = 2000,
    n_genes: int = 100,
    *,
    n_targets: int = 8,
    guides_per_target: int = 3,
    n_nt_guides: int = 4,
    nt_fraction: float = 0.2,
    moi: float = 1.0,
    capture: float = 0.9,
    ambient: float = 0.3,
    guide_umi_mean: float = 30.0,
    ko_fraction: float | list[float] | None = None,
    own_knockdown: float = 0.25,
    n_effect_genes: int = 10,
    effect_size: float = 1.0,
    n_programs: int = 2,
    n_replicates: int = 3,
    mean_library: float = 3000.0,
    dispersion: float = 5.0,
    seed: int = 0,
) -> AnnData:
    """Simulate a pooled CRISPR-knockout screen read out by single-cell RNA-seq.

    Every cell receives a Poisson(``moi``) number of guides (cells with none are
    unperturbed), drawn from a library in which ``nt_fraction`` of guides are
    non-targeting. Each received guide is captured with probability ``capture`` and then
    gives NB(``guide_umi_mean``) UMIs; every guide also leaks ambient UMIs
    (Poisson(``ambient``)) into every cell. A cell carrying a guide for target *t* is a
    true knockout with probability ``ko_fraction[t]`` and otherwise escapes (in-frame
    edit, unedited): escapes look like controls. Targets fall into ``n_programs``
    programs: knockouts of a program shift the program's genes together (log scale),
    plus target-specific genes, and lower the target's own mRNA by ``own_knockdown``
    (nonsense-mediated decay). Targets ``T0``, ``T1``, ... are the first genes of the
    panel, so their own mRNA is measured. Replicates shift every gene a little.

    Parameters
    ----------
    n_cells, n_genes
        Size of the screen; ``n_genes >= n_targets``.
    n_targets, guides_per_target, n_nt_guides
        Guide library: targets ``T0..`` with guides ``T0g1..``, non-targeting ``NTg1..``.
    nt_fraction
        Share of guide draws that are non-targeting.
    moi
        Mean guides per cell (Poisson).
    capture
        Probability a received guide is read out.
    ambient
        Mean ambient UMIs per guide and cell.
    guide_umi_mean
        Mean UMIs of a captured guide (NB, size 3).
    ko_fraction
        Probability a guide-carrying cell is a real knockout, one value or one per
        target (default: evenly spaced from 0.9 down to 0.3).
    own_knockdown
        Fold change of a knocked-out target's own mRNA (0.25 = 75 % loss).
    n_effect_genes, effect_size
        Genes per program (and per target) and their log effect scale.
    n_programs
        Targets are split round-robin into this many shared programs.
    n_replicates, mean_library, dispersion
        Replicate batches, mean gene UMIs per cell, NB size of gene counts.
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X`` and ``layers["counts"]``: gene UMI counts (CSR float32). ``obsm["guide_counts"]``:
        guide UMI counts (CSR, cells x guides) with names in ``uns["guide_names"]``;
        ``uns["guides"]``: guide -> ``target`` table (non-targeting guides have target
        ``"non-targeting"``). ``obs["replicate"]``. ``uns["truth"]``: dict with ``"cells"``
        (DataFrame per cell: ``guides`` received, ``n_guides``, ``target`` of a single
        guide or ``"multiple"``/``"none"``/``"non-targeting"``, ``knockout`` bool,
        ``captured`` guides), ``"effects"`` (targets x genes DataFrame of planted log
        effects of a knockout), ``"ko_fraction"`` (Series per target), ``"programs"``
        (Series target -> program).

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=500, n_genes=40, seed=1)
    >>> adata.obsm["guide_counts"].shape
    (500, 28)
    >>> sorted(adata.uns["truth"])
    ['cells', 'effects', 'ko_fraction', 'programs']
    """
    if n_genes < n_targets:
        raise ValueError(f"n_genes ({n_genes}) must be >= n_targets ({n_targets}): targets are panel genes")
    if not 0 < nt_fraction < 1:
        raise ValueError(f"nt_fraction must be in (0, 1), got {nt_fraction}")
    rng = np.random.default_rng(seed)
    targets = [f"T{i}" for i in range(n_targets)]
    genes = targets + [f"G{i}" for i in range(n_genes - n_targets)]
    guide_names = [f"{t}g{k + 1}" for t in targets for k in range(guides_per_target)]
    nt_names = [f"NTg{k + 1}" for k in range(n_nt_guides)]
    all_guides = guide_names + nt_names
    guide_target = np.array([g.split("g")[0] for g in guide_names] + [NON_TARGETING] * n_nt_guides)
    n_guides = len(all_guides)

    if ko_fraction is None:
        kof = np.linspace(0.9, 0.3, n_targets)
    else:
        kof = np.broadcast_to(np.asarray(ko_fraction, dtype=float), (n_targets,)).copy()
    if np.any((kof < 0) | (kof > 1)):
        raise ValueError("ko_fraction must lie in [0, 1]")

    # planted effects (log scale): shared program genes + target-specific genes + own mRNA
    effects = np.zeros((n_targets, n_genes))
    other = np.arange(n_targets, n_genes)
    programs = np.arange(n_targets) % max(n_programs, 1)
    program_genes = {p: rng.choice(other, size=min(n_effect_genes, other.size), replace=False) for p in set(programs)}
    program_sign = {p: rng.choice([-1.0, 1.0], size=len(program_genes[p])) for p in program_genes}
    for t in range(n_targets):
        p = programs[t]
        effects[t, program_genes[p]] += effect_size * program_sign[p] * rng.uniform(0.6, 1.2, len(program_genes[p]))
        own = rng.choice(other, size=min(max(n_effect_genes // 2, 1), other.size), replace=False)
        effects[t, own] += effect_size * rng.choice([-1.0, 1.0], own.size) * rng.uniform(0.4, 1.0, own.size)
        effects[t, t] = np.log(own_knockdown)

    # guides per cell: Poisson(moi) draws from the library
    weights = np.r_[np.full(len(guide_names), (1 - nt_fraction) / len(guide_names)),
                    np.full(n_nt_guides, nt_fraction / n_nt_guides)]
    k = rng.poisson(moi, n_cells)
    received = [rng.choice(n_guides, size=ki, replace=True, p=weights) for ki in k]
    received = [np.unique(r) for r in received]
    guide_umis = rng.poisson(ambient, (n_cells, n_guides)).astype(float)
    captured_list, knockout, cell_target = [], np.zeros(n_cells, bool), []
    log_effect = np.zeros((n_cells, n_genes))
    for i, r in enumerate(received):
        caught = []
        ko_targets = []
        for g in r:
            if rng.random() < capture:
                guide_umis[i, g] += rng.negative_binomial(3, 3 / (3 + guide_umi_mean))
                caught.append(all_guides[g])
            t = guide_target[g]
            if t != NON_TARGETING:
                ti = targets.index(t)
                if rng.random() < kof[ti] and ti not in ko_targets:
                    ko_targets.append(ti)
        for ti in ko_targets:
            log_effect[i] += effects[ti]
        knockout[i] = bool(ko_targets)
        tset = set(guide_target[r])
        cell_target.append("none" if not tset else (tset.pop() if len(tset) == 1 else "multiple"))
        captured_list.append(";".join(caught))

    replicate = rng.integers(0, n_replicates, n_cells)
    rep_shift = rng.normal(0, 0.15, (n_replicates, n_genes))
    base = rng.lognormal(np.log(mean_library / n_genes), 1.0, n_genes)
    base[:n_targets] = mean_library / n_genes * rng.uniform(0.8, 2.0, n_targets)  # targets measurable
    size = rng.lognormal(0, 0.35, n_cells)
    mu = size[:, None] * base[None, :] * np.exp(log_effect + rep_shift[replicate])
    counts = rng.negative_binomial(dispersion, dispersion / (dispersion + mu)).astype(np.float32)

    obs = pd.DataFrame(
        {"replicate": pd.Categorical([f"rep_{r + 1}" for r in replicate])},
        index=pd.Index([f"cell{i}" for i in range(n_cells)], name="cell"),
    )
    x = sparse.csr_matrix(counts)
    adata = AnnData(X=x.copy(), obs=obs, var=pd.DataFrame(index=pd.Index(genes, name="gene")))
    adata.layers["counts"] = x
    adata.obsm["guide_counts"] = sparse.csr_matrix(guide_umis.astype(np.float32))
    adata.uns["guide_names"] = np.asarray(all_guides, dtype=object)
    adata.uns["guides"] = pd.DataFrame({"target": guide_target}, index=pd.Index(all_guides, name="guide"))
    adata.uns["non_targeting_label"] = NON_TARGETING
    adata.uns["truth"] = {
        "cells": pd.DataFrame(
            {
                "guides": [";".join(all_guides[g] for g in r) for r in received],
                "n_guides": [len(r) for r in received],
                "target": cell_target,
                "knockout": knockout,
                "captured": captured_list,
            },
            index=obs.index,
        ),
        "effects": pd.DataFrame(effects, index=pd.Index(targets, name="target"), columns=genes),
        "ko_fraction": pd.Series(kof, index=pd.Index(targets, name="target"), name="ko_fraction"),
        "programs": pd.Series(programs, index=pd.Index(targets, name="target"), name="program"),
    }
    adata.uns["simulation"] = {"kind": "screen", "seed": seed, "moi": moi, "capture": capture, "ambient": ambient}
    return adata
