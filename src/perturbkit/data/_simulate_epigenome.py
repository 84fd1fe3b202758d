"""CRISPR screens read out beyond RNA, with planted truth: chromatin accessibility (+ RNA) and DNA methylation.

No public perturbation screen with an ATAC, CUT&Tag or bisulfite readout is in the data
mirror, so these simulators stand in for them. Both keep the statistical features that
decide what an analysis must do: binary, depth-dependent fragment counts over peaks
(scATAC-seq, sci-CAR, CUT&Tag) and few, correlated CpG calls per region and cell
(scBS-seq, scTrio-seq).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ._load import CONTROL

__all__ = ["simulate_methylation_screen", "simulate_multiome_screen"]


def _assign_cells(rng: np.random.Generator, n_cells: int, targets: list[str], nt_fraction: float) -> np.ndarray:
    if not 0 < nt_fraction < 1:
        raise ValueError(f"nt_fraction must be in (0, 1), got {nt_fraction}")
    p = np.r_[nt_fraction, np.full(len(targets), (1 - nt_fraction) / len(targets))]
    return np.asarray([CONTROL, *targets], dtype=object)[rng.choice(len(targets) + 1, n_cells, p=p)]


def simulate_multiome_screen(
    n_cells: int = 1500,
    n_peaks: int = 500,
    n_genes: int = 50,
    *,
    n_motifs: int = 8,
    n_tf_targets: int = 3,
    depth_target: str | None = "KIN1",
    depth_factor: float = 0.6,
    nt_fraction: float = 0.3,
    ko_fraction: float = 0.9,
    motif_rate: float = 0.12,
    bound_fraction: float = 0.6,
    closing: float = 0.3,
    links_per_gene: int = 2,
    peaks_per_gene: int = 8,
    link_effect: float = 0.3,
    capture: float = 0.4,
    seed: int = 0,
) -> AnnData:
    """Simulate a CRISPR screen read out by joint chromatin accessibility and RNA (sci-CAR-like).

    Every cell carries one guide: non-targeting (``obs["perturbation"] == "control"``),
    a transcription factor ``TF1``, ``TF2``, ... or, with ``depth_target``, a gene that is
    not a TF. Each peak carries the motif of TF *m* with probability ``motif_rate``; a
    share ``bound_fraction`` of those peaks is really bound by the TF (motifs are a noisy
    annotation, as in real genomes). In a cell, each peak is open (latent state) with
    its own probability; a knocked-out TF (with probability ``ko_fraction`` per cell, the
    rest escape) multiplies that probability by ``closing`` at its bound peaks. An open
    peak yields a fragment with probability ``1 - exp(-capture * depth)``, so scATAC data
    are sparse and binary and their density follows the cell's depth. Cells of
    ``depth_target`` have their depth scaled by ``depth_factor`` and no chromatin effect:
    smaller nuclei, fewer fragments, the same open peaks. Genes sit among
    ``peaks_per_gene`` nearby peaks, ``links_per_gene`` of which regulate them: the
    gene's log expression rises by ``link_effect`` for each of those peaks that is open
    in the cell, so a knocked-out TF also lowers the genes its bound peaks regulate. The
    fragments could just as well be CUT&Tag reads of an active histone mark: the model
    is the same sparse count of tagged sites.

    Parameters
    ----------
    n_cells, n_peaks, n_genes
        Size of the screen (``n_peaks >= n_genes * peaks_per_gene``).
    n_motifs
        Motifs annotated on the peaks (``TF1..``); only the first ``n_tf_targets`` TFs
        are knocked out, the others are decoys.
    n_tf_targets
        TFs with guides.
    depth_target, depth_factor
        A non-TF target whose cells have their fragment depth scaled (``None``: no such target).
    nt_fraction
        Share of cells with a non-targeting guide.
    ko_fraction
        Probability that a targeted cell is a real knockout.
    motif_rate, bound_fraction
        Share of peaks carrying each motif, and share of those the TF binds.
    closing
        Factor on the open probability of bound peaks in knockout cells.
    links_per_gene, peaks_per_gene, link_effect
        Regulatory peaks per gene, candidate peaks around each gene, log effect of an open link.
    capture
        Fragment yield of an open peak at depth 1 (``1 - exp(-capture)``).
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X``: binary accessibility, cells x peaks (CSR float32). ``var``: ``position``
        (bp on one simulated chromosome), ``gene_block`` (gene whose neighbourhood the
        peak lies in, or ``""``). ``varm["motifs"]``: peaks x motifs bool DataFrame.
        ``obs``: ``perturbation``, ``total_fragments`` (all fragments of the cell,
        in and outside peaks), ``rna_library``. ``obsm["rna"]``: cells x genes RNA
        counts (DataFrame) from the same cells. ``uns["genes"]``: DataFrame ``gene``,
        ``tss``. ``uns["truth"]``: ``"peak_effects"`` (targets x peaks, log factor on the
        open probability), ``"bound"`` (motifs x peaks bool), ``"links"`` (DataFrame
        ``peak``, ``gene``), ``"gene_effects"`` (targets x genes, expected log change of
        expression), ``"knockout"`` (bool per cell), ``"depth_factor"`` (Series per target).

    Examples
    --------
    >>> import perturbkit as pk
    >>> mo = pk.data.simulate_multiome_screen(n_cells=300, seed=0)
    >>> mo.shape, mo.obsm["rna"].shape
    ((300, 500), (300, 50))
    >>> sorted(mo.obs["perturbation"].unique())
    ['KIN1', 'TF1', 'TF2', 'TF3', 'control']
    """
    if n_tf_targets > n_motifs:
        raise ValueError(f"n_tf_targets ({n_tf_targets}) must be <= n_motifs ({n_motifs})")
    if n_peaks < n_genes * peaks_per_gene:
        raise ValueError(f"n_peaks ({n_peaks}) must be >= n_genes * peaks_per_gene ({n_genes * peaks_per_gene})")
    if not 0 < links_per_gene <= peaks_per_gene:
        raise ValueError(f"links_per_gene must be in 1..peaks_per_gene, got {links_per_gene}")
    rng = np.random.default_rng(seed)
    motifs = [f"TF{k + 1}" for k in range(n_motifs)]
    targets = motifs[:n_tf_targets] + ([depth_target] if depth_target else [])
    peaks = [f"peak{p}" for p in range(n_peaks)]
    genes = [f"gene{g}" for g in range(n_genes)]

    # layout: each gene's TSS with its block of candidate peaks within 50 kb; other peaks far away
    spacing = 500_000
    tss = (np.arange(n_genes) + 1) * spacing
    position = np.empty(n_peaks, dtype=np.int64)
    block = np.full(n_peaks, "", dtype=object)
    order = rng.permutation(n_peaks)
    links = []
    for g in range(n_genes):
        mine = order[g * peaks_per_gene:(g + 1) * peaks_per_gene]
        position[mine] = tss[g] + rng.integers(-45_000, 45_000, peaks_per_gene)
        block[mine] = genes[g]
        links += [(peaks[p], genes[g]) for p in rng.choice(mine, links_per_gene, replace=False)]
    rest = order[n_genes * peaks_per_gene:]
    position[rest] = tss[rng.integers(0, n_genes, rest.size)] + spacing // 2 + rng.integers(-50_000, 50_000, rest.size)

    has_motif = rng.random((n_motifs, n_peaks)) < motif_rate
    bound = has_motif & (rng.random((n_motifs, n_peaks)) < bound_fraction)
    log_eff = np.zeros((len(targets), n_peaks))
    log_eff[:n_tf_targets] = np.where(bound[:n_tf_targets], np.log(closing), 0.0)
    dfac = np.ones(len(targets))
    if depth_target:
        dfac[-1] = depth_factor

    pert = _assign_cells(rng, n_cells, targets, nt_fraction)
    t_idx = np.array([targets.index(p) if p != CONTROL else -1 for p in pert])
    knockout = (t_idx >= 0) & (rng.random(n_cells) < ko_fraction)
    open_p = rng.uniform(0.3, 0.85, n_peaks)
    cell_eff = np.zeros((n_cells, n_peaks))
    cell_eff[knockout] = log_eff[t_idx[knockout]]
    state = rng.random((n_cells, n_peaks)) < open_p[None, :] * np.exp(cell_eff)
    depth = rng.lognormal(0.0, 0.4, n_cells) * np.where(t_idx >= 0, dfac[t_idx], 1.0)
    yield_ = 1.0 - np.exp(-capture * depth)
    frag = state & (rng.random((n_cells, n_peaks)) < yield_[:, None])
    total = frag.sum(axis=1) + rng.poisson(6000 * depth)  # fragments outside the peaks too

    # RNA of the same cells: each open regulatory peak raises its gene
    peak_index = {p: i for i, p in enumerate(peaks)}
    gene_index = {g: i for i, g in enumerate(genes)}
    link_mat = np.zeros((n_peaks, n_genes))
    for p, g in links:
        link_mat[peak_index[p], gene_index[g]] = link_effect
    base = rng.lognormal(np.log(20), 0.6, n_genes)
    log_rate = (state - open_p[None, :]) @ link_mat
    library = rng.lognormal(0.0, 0.3, n_cells)
    mu = library[:, None] * base[None, :] * np.exp(log_rate)
    rna = rng.negative_binomial(10, 10 / (10 + mu))
    # expected change: a bound link closes from open_p to open_p * closing
    gene_eff = (open_p[None, :] * (np.exp(log_eff) - 1.0)) @ link_mat

    obs = pd.DataFrame(
        {"perturbation": pd.Categorical(pert, categories=[CONTROL, *targets]),
         "total_fragments": total.astype(np.int64), "rna_library": rna.sum(axis=1).astype(np.int64)},
        index=pd.Index([f"cell{i}" for i in range(n_cells)], name="cell"),
    )
    var = pd.DataFrame({"position": position, "gene_block": block.astype(str)}, index=pd.Index(peaks, name="peak"))
    adata = AnnData(X=sparse.csr_matrix(frag.astype(np.float32)), obs=obs, var=var)
    adata.varm["motifs"] = pd.DataFrame(has_motif.T, index=var.index, columns=motifs)
    adata.obsm["rna"] = pd.DataFrame(rna.astype(np.int64), index=obs.index, columns=genes)
    adata.uns["genes"] = pd.DataFrame({"gene": genes, "tss": tss})
    tindex = pd.Index(targets, name="target")
    adata.uns["truth"] = {
        "peak_effects": pd.DataFrame(log_eff, index=tindex, columns=peaks),
        "bound": pd.DataFrame(bound, index=pd.Index(motifs, name="motif"), columns=peaks),
        "links": pd.DataFrame(links, columns=["peak", "gene"]),
        "gene_effects": pd.DataFrame(gene_eff, index=tindex, columns=genes),
        "knockout": pd.Series(knockout, index=obs.index, name="knockout"),
        "depth_factor": pd.Series(dfac, index=tindex, name="depth_factor"),
    }
    adata.uns["simulation"] = {"kind": "multiome_screen", "seed": seed}
    return adata


def simulate_methylation_screen(
    n_cells: int = 600,
    n_regions: int = 300,
    *,
    targets: Sequence[str] = ("DNMT3A", "TET2"),
    shifts: Sequence[float] = (-1.5, 1.2),
    n_dmr: int = 30,
    nt_fraction: float = 0.4,
    ko_fraction: float = 0.9,
    mean_cpgs: float = 4.0,
    rho: float = 0.25,
    n_segments: int = 4,
    gain_fraction: float = 0.3,
    n_promoters: int = 40,
    seed: int = 0,
) -> AnnData:
    """Simulate a CRISPR screen read out by single-cell DNA methylation (+ copy number and RNA, scTrio-like).

    Each region has a baseline methylation level (mostly high, some low, as CpG islands).
    Within a cell, a region's methylation rate is drawn from a beta distribution around
    that level with intra-cell correlation ``rho``: CpGs of one region in one cell are
    methylated together, so a cell, not a CpG, is the unit of replication. The cell
    then yields Poisson(``mean_cpgs`` x copies / 2) CpG calls in the region, each
    methylated with the cell's rate. Knocking out ``targets[k]`` (with probability
    ``ko_fraction`` per cell) shifts the level of ``n_dmr`` regions by ``shifts[k]`` on
    the logit scale (negative: loss of methylation, as after a DNMT knockout; positive:
    gain, as after TET2 loss). A subclone (share ``gain_fraction`` of cells) carries an
    extra copy of segment ``seg1``: more CpG calls there, the same methylation. The first
    ``n_promoters`` regions are promoters of genes whose RNA falls as their methylation
    rises.

    Parameters
    ----------
    n_cells, n_regions
        Size of the screen.
    targets, shifts
        Knocked-out genes and the logit shift each plants in its regions.
    n_dmr
        Regions shifted per target (disjoint sets; half of them among the promoters).
    nt_fraction, ko_fraction
        Share of non-targeting cells; probability that a targeted cell is a knockout.
    mean_cpgs
        Mean CpG calls per region and cell at two copies.
    rho
        Intra-cell correlation of CpGs of one region (0: independent CpGs).
    n_segments, gain_fraction
        Copy-number segments (regions split evenly); share of cells with 3 copies of ``seg1``.
    n_promoters
        Regions that are promoters of a measured gene.
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X`` and ``layers["methylated"]``: methylated CpG calls, cells x regions (int);
        ``layers["total"]``: all CpG calls. ``obs``: ``perturbation``, ``clone``
        (``"diploid"``/``"gain"``). ``var``: ``segment``, ``gene`` (promoter of, or ``""``),
        ``baseline`` (true level). ``obsm["copy_number"]`` (cells x segments DataFrame) and
        ``obsm["rna"]`` (cells x promoter genes counts DataFrame). ``uns["truth"]``:
        ``"shifts"`` (targets x regions logit shift), ``"knockout"`` (bool per cell),
        ``"rho"``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> me = pk.data.simulate_methylation_screen(n_cells=200, seed=0)
    >>> me.layers["total"].shape
    (200, 300)
    >>> bool((me.layers["methylated"] <= me.layers["total"]).all())
    True
    """
    targets = list(targets)
    shifts = np.broadcast_to(np.asarray(shifts, dtype=float), (len(targets),))
    if not 0 <= rho < 1:
        raise ValueError(f"rho must be in [0, 1), got {rho}")
    if n_dmr * len(targets) > n_regions or n_promoters > n_regions:
        raise ValueError(f"n_regions ({n_regions}) too small for {len(targets)} x {n_dmr} DMRs and {n_promoters} promoters")
    rng = np.random.default_rng(seed)
    regions = [f"region{r}" for r in range(n_regions)]
    baseline = np.where(rng.random(n_regions) < 0.7, rng.beta(8, 2, n_regions), rng.beta(2, 6, n_regions))
    logit0 = np.log(baseline / (1 - baseline))
    eff = np.zeros((len(targets), n_regions))
    prom, other = rng.permutation(n_promoters), rng.permutation(np.arange(n_promoters, n_regions))
    half = n_dmr // 2
    for k in range(len(targets)):
        chosen = np.r_[prom[k * half:(k + 1) * half], other[k * (n_dmr - half):(k + 1) * (n_dmr - half)]]
        eff[k, chosen] = shifts[k]

    pert = _assign_cells(rng, n_cells, targets, nt_fraction)
    t_idx = np.array([targets.index(p) if p != CONTROL else -1 for p in pert])
    knockout = (t_idx >= 0) & (rng.random(n_cells) < ko_fraction)
    shift = np.zeros((n_cells, n_regions))
    shift[knockout] = eff[t_idx[knockout]]
    level = 1 / (1 + np.exp(-(logit0[None, :] + shift)))
    if rho > 0:
        a = level * (1 - rho) / rho
        rate = rng.beta(a, (1 - level) * (1 - rho) / rho)
    else:
        rate = level
    segment = np.minimum(np.arange(n_regions) * n_segments // n_regions, n_segments - 1)
    gain = rng.random(n_cells) < gain_fraction
    copies = np.full((n_cells, n_segments), 2)
    if n_segments > 1:
        copies[gain, 1] = 3
    coverage = rng.lognormal(0.0, 0.3, n_cells)[:, None] * mean_cpgs * copies[:, segment] / 2
    total = rng.poisson(coverage)
    meth = rng.binomial(total, rate)

    genes = [f"gene{r}" for r in range(n_promoters)]
    base = rng.lognormal(np.log(15), 0.5, n_promoters)
    mu = base[None, :] * np.exp(-2.0 * (rate[:, :n_promoters] - baseline[None, :n_promoters]))
    rna = rng.negative_binomial(10, 10 / (10 + mu * rng.lognormal(0, 0.25, n_cells)[:, None]))

    obs = pd.DataFrame(
        {"perturbation": pd.Categorical(pert, categories=[CONTROL, *targets]),
         "clone": pd.Categorical(np.where(gain, "gain", "diploid"))},
        index=pd.Index([f"cell{i}" for i in range(n_cells)], name="cell"),
    )
    var = pd.DataFrame(
        {"segment": [f"seg{s}" for s in segment], "gene": genes + [""] * (n_regions - n_promoters),
         "baseline": baseline},
        index=pd.Index(regions, name="region"),
    )
    adata = AnnData(X=meth.astype(np.int64), obs=obs, var=var)
    adata.layers["methylated"] = meth.astype(np.int64)
    adata.layers["total"] = total.astype(np.int64)
    adata.obsm["copy_number"] = pd.DataFrame(copies, index=obs.index, columns=[f"seg{s}" for s in range(n_segments)])
    adata.obsm["rna"] = pd.DataFrame(rna.astype(np.int64), index=obs.index, columns=genes)
    adata.uns["truth"] = {
        "shifts": pd.DataFrame(eff, index=pd.Index(targets, name="target"), columns=regions),
        "knockout": pd.Series(knockout, index=obs.index, name="knockout"),
        "rho": rho,
    }
    adata.uns["simulation"] = {"kind": "methylation_screen", "seed": seed}
    return adata
