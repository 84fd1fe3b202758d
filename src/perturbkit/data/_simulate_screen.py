"""A pooled single-cell CRISPR screen with planted truth: guides, MOI, capture, knockouts, escapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._keys import GUIDE_NAMES

__all__ = ["simulate_combinations", "simulate_screen"]

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
    program_noise: float = 0.0,
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
    program_noise
        SD of a per-cell activity of each program, present in every cell (controls too):
        the program's genes and its targets' own mRNA vary together with it, so a
        regulatory network can be learnt from unperturbed cells (0: no such variation).
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

    if program_noise > 0:
        for p, genes_p in program_genes.items():
            activity = rng.normal(0, program_noise, n_cells)
            members = np.flatnonzero(programs == p)
            pattern = program_sign[p] * effect_size
            # consistent with the knockouts: a target's knockout moves its program genes by
            # +pattern, so in unperturbed cells more target mRNA goes with -pattern
            log_effect[:, genes_p] -= activity[:, None] * pattern[None, :]
            log_effect[:, members] += activity[:, None]
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
    adata.uns[GUIDE_NAMES] = np.asarray(all_guides, dtype=object)
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


def simulate_combinations(
    n_genes: int = 200,
    *,
    module_kinds: tuple[str, ...] = ("buffering", "synergy", "additive", "buffering", "synergy"),
    perts_per_module: int = 5,
    interaction: float = 0.6,
    n_cells: int = 100,
    noise: float = 0.5,
    p_within: float = 0.3,
    p_between: float = 0.005,
    seed: int = 0,
) -> AnnData:
    """Mean expression profiles of single and double perturbations with planted interactions.

    Genes fall into modules (one per entry of ``module_kinds``; the rest are background),
    connected in a gene-gene graph (edge probability ``p_within`` inside a module,
    ``p_between`` across). Each perturbation targets a gene of one module and shifts that
    module's genes (log scale). A double perturbation is the sum of its singles, except for
    two perturbations of the same module, where the module's genes move by
    ``(1 + interaction)`` times the sum (``"synergy"``), ``(1 - interaction)`` times it
    (``"buffering"``, e.g. redundant genes) or exactly the sum (``"additive"``). Profiles are
    condition means over ``n_cells`` cells: Gaussian noise of sd ``noise / sqrt(n_cells)``.

    Parameters
    ----------
    n_genes
        Genes in the panel.
    module_kinds
        Interaction kind of each module: ``"synergy"``, ``"buffering"`` or ``"additive"``.
    perts_per_module
        Perturbations per module; every within- and across-module pair is a double.
    interaction
        Strength of synergy / buffering (0 = all additive).
    n_cells, noise
        Cells per condition and per-cell noise (log units).
    p_within, p_between
        Edge probabilities of the gene graph.
    seed
        Random seed.

    Returns
    -------
    AnnData
        Conditions x genes: ``X`` = mean log expression shift against control (the control
        row is noise around 0). ``obs["perturbation"]`` (``"control"``, ``"P0"``,
        ``"P0+P3"``...), ``obs["n_perturbations"]``. ``uns["gene_graph"]``: edges
        (``source``, ``target``); ``uns["perturbation_genes"]``: perturbation -> target
        gene; ``uns["truth"]``: ``"pairs"`` (DataFrame per double: ``kind`` planted,
        ``module`` or -1 across modules) and ``"effects"`` (noise-free profiles).

    Examples
    --------
    >>> import perturbkit as pk
    >>> combo = pk.data.simulate_combinations(n_genes=100, seed=0)
    >>> combo.uns["truth"]["pairs"]["kind"].value_counts().to_dict()["additive"] > 0
    True
    """
    bad = sorted(set(module_kinds) - {"synergy", "buffering", "additive"})
    if bad:
        raise ValueError(f"module kinds must be 'synergy', 'buffering' or 'additive', got {bad}")
    n_mod = len(module_kinds)
    mod_size = n_genes // (n_mod + 1)
    if mod_size < perts_per_module + 2:
        raise ValueError(f"n_genes={n_genes} too small for {n_mod} modules of >= {perts_per_module + 2} genes")
    rng = np.random.default_rng(seed)
    genes = [f"G{i}" for i in range(n_genes)]
    module = np.full(n_genes, -1)
    for m in range(n_mod):
        module[m * mod_size:(m + 1) * mod_size] = m
    same = (module[:, None] == module[None, :]) & (module[:, None] >= 0)
    prob = np.where(same, p_within, p_between)
    adj = np.triu(rng.random((n_genes, n_genes)) < prob, 1)
    src, dst = np.nonzero(adj)
    graph = pd.DataFrame({"source": [genes[i] for i in src], "target": [genes[j] for j in dst]})

    perts, pert_gene, pert_mod, single = [], {}, {}, {}
    for m in range(n_mod):
        members = np.flatnonzero(module == m)
        for k in range(perts_per_module):
            name = f"P{len(perts)}"
            perts.append(name)
            tgene = members[k]
            pert_gene[name], pert_mod[name] = genes[tgene], m
            eff = np.zeros(n_genes)
            hit = rng.choice(members, size=max(2, members.size // 2), replace=False)
            eff[hit] = rng.normal(0, 1.0, hit.size)
            eff[tgene] = -1.5
            eff += rng.normal(0, 0.02, n_genes)  # faint transcriptome-wide ripple
            single[name] = eff
    profiles = {"control": np.zeros(n_genes), **single}
    rows = []
    for i, a in enumerate(perts):
        for b in perts[i + 1:]:
            base = single[a] + single[b]
            if pert_mod[a] == pert_mod[b]:
                m = pert_mod[a]
                kind = module_kinds[m]
                factor = {"synergy": 1 + interaction, "buffering": 1 - interaction, "additive": 1.0}[kind]
                prof = base.copy()
                prof[module == m] *= factor
            else:
                m, kind, prof = -1, "additive", base
            profiles[f"{a}+{b}"] = prof
            rows.append({"pair": f"{a}+{b}", "kind": kind, "module": m})
    names = list(profiles)
    truth = np.vstack([profiles[n] for n in names])
    x = truth + rng.normal(0, noise / np.sqrt(n_cells), truth.shape)
    obs = pd.DataFrame({"perturbation": names, "n_perturbations": [0 if n == "control" else n.count("+") + 1
                                                                    for n in names]},
                       index=pd.Index(names, name="condition"))
    adata = AnnData(X=x, obs=obs, var=pd.DataFrame(index=pd.Index(genes, name="gene")))
    adata.uns["gene_graph"] = graph
    adata.uns["perturbation_genes"] = pert_gene
    adata.uns["truth"] = {"pairs": pd.DataFrame(rows).set_index("pair"),
                          "effects": pd.DataFrame(truth, index=names, columns=genes)}
    adata.uns["simulation"] = {"kind": "combinations", "seed": seed, "interaction": interaction}
    return adata
