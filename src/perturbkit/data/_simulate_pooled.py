"""Seeded simulators for the applications chapter: a pooled CRISPR count screen with planted
essential genes, and drug-combination dose grids with planted synergy or antagonism."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

__all__ = ["simulate_combination", "simulate_isogenic_screen", "simulate_pooled_screen"]


def simulate_pooled_screen(
    n_genes: int = 200,
    *,
    sgrnas_per_gene: int = 4,
    n_essential: int = 20,
    n_enriched: int = 5,
    n_replicates: int = 2,
    reads_per_sgrna: float = 400.0,
    essential_lfc: float = -2.5,
    enriched_lfc: float = 1.5,
    dispersion: float = 0.05,
    inactive_fraction: float = 0.15,
    seed: int = 0,
) -> AnnData:
    """A pooled knockout screen (sgRNA x sample counts) with planted essential genes.

    Every sgRNA has a library abundance drawn from a log-normal; the ``initial`` samples
    count it as is, the ``final`` samples after selection: guides of the first
    ``n_essential`` genes drop by ``essential_lfc`` (log2), those of the next
    ``n_enriched`` genes rise by ``enriched_lfc``, each guide scaled by its cutting
    efficiency (a fraction ``inactive_fraction`` of guides does nothing). Counts are
    negative binomial with ``dispersion``.

    Parameters
    ----------
    n_genes
        Genes in the library.
    sgrnas_per_gene
        Guides per gene.
    n_essential, n_enriched
        Planted depleted and enriched genes (the first genes of the list).
    n_replicates
        Samples per time point.
    reads_per_sgrna
        Mean sequencing depth per guide.
    essential_lfc, enriched_lfc
        Planted log2 fold changes of fully active guides.
    dispersion
        Negative-binomial overdispersion of the counts.
    inactive_fraction
        Fraction of guides that do not cut.
    seed
        Random seed.

    Returns
    -------
    AnnData
        Observations are sgRNAs (``obs``: ``sgRNA``, ``gene``, ``perturbation``,
        ``efficiency``), variables the samples ``initial_1..n``, ``final_1..n`` (``var``:
        ``timepoint``, ``role``, ``replicate``); ``X`` and ``layers["counts"]`` int64.
        ``uns["truth"]``: DataFrame indexed by gene with ``lfc`` (planted log2 fold
        change), ``essential`` and ``enriched`` (bool).

    Examples
    --------
    >>> import perturbkit as pk
    >>> screen = pk.data.simulate_pooled_screen(n_genes=50, seed=0)
    >>> screen.shape, int(screen.uns["truth"].essential.sum())
    ((200, 4), 20)
    """
    if n_essential + n_enriched > n_genes:
        raise ValueError(f"n_essential + n_enriched ({n_essential + n_enriched}) exceeds n_genes ({n_genes})")
    rng = np.random.default_rng(seed)
    genes = [f"GENE{i:04d}" for i in range(n_genes)]
    lfc = np.zeros(n_genes)
    lfc[:n_essential] = essential_lfc
    lfc[n_essential : n_essential + n_enriched] = enriched_lfc
    n_sg = n_genes * sgrnas_per_gene
    gene_of = np.repeat(np.arange(n_genes), sgrnas_per_gene)
    efficiency = np.where(rng.random(n_sg) < inactive_fraction, 0.0, rng.uniform(0.6, 1.0, n_sg))
    abundance = rng.lognormal(0.0, 0.6, n_sg)
    abundance /= abundance.mean()
    sg_lfc = lfc[gene_of] * efficiency
    samples, columns, var_rows = [], [], []
    for timepoint in ("initial", "final"):
        for r in range(1, n_replicates + 1):
            depth = reads_per_sgrna * rng.uniform(0.7, 1.4)
            mean = abundance * (2.0 ** sg_lfc if timepoint == "final" else 1.0)
            mean = depth * mean / mean.mean()
            # negative binomial as a gamma-Poisson mixture
            counts = rng.poisson(rng.gamma(1 / dispersion, mean * dispersion))
            samples.append(f"{timepoint}_{r}")
            columns.append(counts)
            var_rows.append({"timepoint": timepoint, "role": "control" if timepoint == "initial" else "treatment",
                             "replicate": str(r)})
    names = [f"{genes[g]}_sg{j + 1}" for g in range(n_genes) for j in range(sgrnas_per_gene)]
    obs = pd.DataFrame({"sgRNA": names, "gene": [genes[g] for g in gene_of]}, index=names)
    obs["perturbation"] = obs["gene"]
    obs["efficiency"] = efficiency
    x = np.column_stack(columns).astype(np.int64)
    adata = AnnData(X=x, obs=obs, var=pd.DataFrame(var_rows, index=samples))
    adata.layers["counts"] = x.copy()
    adata.uns["truth"] = pd.DataFrame(
        {"lfc": lfc, "essential": lfc < 0, "enriched": lfc > 0}, index=pd.Index(genes, name="gene")
    )
    adata.uns["simulation"] = {"seed": seed, "dispersion": dispersion, "sgrnas_per_gene": sgrnas_per_gene}
    return adata


def _hill(x: np.ndarray, ec50: float, slope: float, emax: float = 100.0) -> np.ndarray:
    """% inhibition of a log-logistic curve with no effect at dose 0 (pk.dose's ``Hill``)."""
    from ..dose import get_model

    return get_model("Hill")(np.asarray(x, float), np.array([slope, 0.0, emax, ec50], float))


def simulate_combination(
    interactions: tuple[str, ...] = ("synergistic", "independent", "antagonistic"),
    *,
    n_doses: int = 5,
    strength: float = 3.0,
    noise: float = 3.0,
    n_replicates: int = 1,
    seed: int = 0,
) -> pd.DataFrame:
    """Two-drug dose grids with planted interactions, one block per entry of ``interactions``.

    Each drug follows a log-logistic curve (% inhibition, EC50 and Hill slope drawn per
    block; doses in a 3-fold series around the EC50, plus 0). The combination is Bliss
    independent after a potency shift: with ``"synergistic"`` each drug's dose is
    multiplied by ``1 + strength * y_other / 100`` (the partner makes it more potent, in
    the spirit of ZIP), with ``"antagonistic"`` divided by it, with ``"independent"``
    left alone. Gaussian noise of sd ``noise`` (percentage points) is added per well.

    Parameters
    ----------
    interactions
        One block per entry: ``"synergistic"``, ``"independent"`` or ``"antagonistic"``.
    n_doses
        Doses per drug, the zero dose included.
    strength
        Size of the potency shift.
    noise
        Standard deviation of the well noise (% inhibition).
    n_replicates
        Replicate grids per block.
    seed
        Random seed.

    Returns
    -------
    pandas.DataFrame
        The tidy layout of ``pk.data.load("drugcomb_synergyfinder")`` (``set`` =
        ``"simulated"``, ``conc_unit`` = ``"uM"``). The planted truth of each
        block is in columns repeated on its rows: ``true_interaction``, ``true_ec50_row``,
        ``true_ec50_col``, ``true_slope_row``, ``true_slope_col``, ``true_bliss_excess``
        (the noise-free mean Bliss synergy over the combination wells, percentage points).

    Examples
    --------
    >>> import perturbkit as pk
    >>> blocks = pk.data.simulate_combination(seed=0)
    >>> blocks.drop_duplicates("block_id")["true_interaction"].tolist()
    ['synergistic', 'independent', 'antagonistic']
    """
    allowed = {"synergistic", "independent", "antagonistic"}
    bad = [i for i in interactions if i not in allowed]
    if bad:
        raise ValueError(f"unknown interaction(s) {bad}; choose from {sorted(allowed)}")
    if n_doses < 2:
        raise ValueError(f"n_doses must be >= 2, got {n_doses}")
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for b, kind in enumerate(interactions, start=1):
        block = f"sim_{b}"
        ec = rng.uniform(0.3, 3.0, 2)
        slope = rng.uniform(0.8, 2.0, 2)
        series = 3.0 ** (np.arange(n_doses - 1) - (n_doses - 2) / 2)
        d_row, d_col = np.r_[0.0, ec[0] * series], np.r_[0.0, ec[1] * series]
        gr, gc = np.meshgrid(d_row, d_col, indexing="ij")
        y1, y2 = _hill(gr, ec[0], slope[0]), _hill(gc, ec[1], slope[1])
        bliss = y1 + y2 - y1 * y2 / 100.0
        power = {"synergistic": 1.0, "independent": 0.0, "antagonistic": -1.0}[kind]
        s1 = _hill(gr * (1 + strength * y2 / 100.0) ** power, ec[0], slope[0])
        s2 = _hill(gc * (1 + strength * y1 / 100.0) ** power, ec[1], slope[1])
        true = s1 + s2 - s1 * s2 / 100.0
        shift = true - bliss
        combo = (gr > 0) & (gc > 0)
        truth.append({"block_id": block, "interaction": kind, "ec50_row": ec[0], "ec50_col": ec[1],
                      "slope_row": slope[0], "slope_col": slope[1],
                      "bliss_excess": float(shift[combo].mean())})
        for r in range(1, n_replicates + 1):
            obs = true + rng.normal(0.0, noise, true.shape)
            obs[(gr == 0) & (gc == 0)] = rng.normal(0.0, noise / 3)
            for (i, j), value in np.ndenumerate(obs):
                rows.append({"set": "simulated", "block_id": block, "drug_row": f"drugA{b}",
                             "drug_col": f"drugB{b}", "conc_row": d_row[i], "conc_col": d_col[j],
                             "drug_3": "", "conc_3": 0.0, "conc_unit": "uM", "response": value,
                             "cell_line": "simulated", "replicate": r})
    table = pd.DataFrame(rows)
    planted = pd.DataFrame(truth).set_index("block_id").add_prefix("true_")
    return table.join(planted, on="block_id")


def simulate_isogenic_screen(
    n_genes: int = 500,
    *,
    sgrnas_per_gene: int = 4,
    n_essential: int = 50,
    n_lethal: int = 15,
    n_suppressed: int = 5,
    n_replicates: int = 3,
    reads_per_sgrna: float = 500.0,
    essential_lfc: float = -2.5,
    lethal_lfc: float = -2.0,
    mutant_scale: float = 0.7,
    library_noise: float = 0.2,
    dispersion: float = 0.05,
    inactive_fraction: float = 0.1,
    seed: int = 0,
) -> AnnData:
    """The same pooled knockout screen in a parental line and an isogenic mutant line, with
    planted synthetic-lethal partners of the mutation.

    Genes: the first ``n_essential`` drop by ``essential_lfc`` (log2) in both lines; the
    next ``n_lethal`` are **synthetic lethal** with the mutation (no effect in the parental
    line, ``lethal_lfc`` in the mutant); the next ``n_suppressed`` are essential in the
    parental line only (their loss is tolerated in the mutant: a positive interaction).
    The mutant line grows more slowly, so every log fold change of the mutant screen is
    multiplied by ``mutant_scale``: a difference in dynamic range that is not an
    interaction. Each line is transduced separately, so its library representation differs
    from the other's by a log-normal factor per guide (sd ``library_noise``, natural log);
    counts are negative binomial.

    Parameters
    ----------
    n_genes, sgrnas_per_gene
        Library size.
    n_essential, n_lethal, n_suppressed
        Planted gene classes (the first genes of the list, in that order).
    n_replicates
        Replicate screens per line (initial and final sample each).
    reads_per_sgrna
        Mean depth per guide.
    essential_lfc, lethal_lfc
        Planted log2 fold changes of fully active guides.
    mutant_scale
        Dynamic range of the mutant screen relative to the parental one.
    library_noise
        Spread of each line's guide representation around the library's (0: both lines
        start from identical representations, as two arms split from one population).
    dispersion, inactive_fraction
        Count overdispersion; share of guides that do not cut.
    seed
        Random seed.

    Returns
    -------
    AnnData
        sgRNAs x samples (``<line>_<timepoint>_<replicate>``; ``var``: ``cell_line``
        (``"parental"``/``"mutant"``), ``timepoint``, ``role``, ``replicate``), int64 counts in
        ``X`` and ``layers["counts"]``; ``obs``: ``sgRNA``, ``gene``, ``efficiency``.
        ``uns["truth"]``: DataFrame by gene with ``lfc_parental``, ``lfc_mutant`` (planted,
        mutant before scaling), ``essential``, ``lethal``, ``suppressed`` (bool) and
        ``true_interaction`` (``lfc_mutant - lfc_parental``).

    Examples
    --------
    >>> import perturbkit as pk
    >>> screen = pk.data.simulate_isogenic_screen(seed=0)
    >>> screen.shape, int(screen.uns["truth"]["lethal"].sum())
    ((2000, 12), 15)
    """
    if n_essential + n_lethal + n_suppressed > n_genes:
        raise ValueError(
            f"n_essential + n_lethal + n_suppressed ({n_essential + n_lethal + n_suppressed}) exceeds n_genes ({n_genes})"
        )
    if not 0 < mutant_scale <= 2:
        raise ValueError(f"mutant_scale must be in (0, 2], got {mutant_scale}")
    if library_noise < 0:
        raise ValueError(f"library_noise must be >= 0, got {library_noise}")
    rng = np.random.default_rng(seed)
    genes = [f"GENE{i:04d}" for i in range(n_genes)]
    par, mut = np.zeros(n_genes), np.zeros(n_genes)
    par[:n_essential] = mut[:n_essential] = essential_lfc
    lethal = slice(n_essential, n_essential + n_lethal)
    mut[lethal] = lethal_lfc
    supp = slice(n_essential + n_lethal, n_essential + n_lethal + n_suppressed)
    par[supp] = essential_lfc
    n_sg = n_genes * sgrnas_per_gene
    gene_of = np.repeat(np.arange(n_genes), sgrnas_per_gene)
    efficiency = np.where(rng.random(n_sg) < inactive_fraction, 0.0, rng.uniform(0.6, 1.0, n_sg))
    abundance = rng.lognormal(0.0, 0.6, n_sg)
    columns, samples, var_rows = [], [], []
    for line, lfc, scale in (("parental", par, 1.0), ("mutant", mut, mutant_scale)):
        line_abundance = abundance * rng.lognormal(0.0, 1.0, n_sg) ** library_noise
        sg_lfc = scale * lfc[gene_of] * efficiency
        for r in range(1, n_replicates + 1):
            for timepoint in ("initial", "final"):
                depth = reads_per_sgrna * rng.uniform(0.7, 1.4)
                mean = line_abundance * (2.0 ** sg_lfc if timepoint == "final" else 1.0)
                mean = depth * mean / mean.mean()
                columns.append(rng.poisson(rng.gamma(1 / dispersion, mean * dispersion)))
                samples.append(f"{line}_{timepoint}_{r}")
                var_rows.append({"cell_line": line, "timepoint": timepoint,
                                 "role": "control" if timepoint == "initial" else "treatment", "replicate": str(r)})
    names = [f"{genes[g]}_sg{j + 1}" for g in range(n_genes) for j in range(sgrnas_per_gene)]
    obs = pd.DataFrame({"sgRNA": names, "gene": [genes[g] for g in gene_of], "efficiency": efficiency}, index=names)
    x = np.column_stack(columns).astype(np.int64)
    adata = AnnData(X=x, obs=obs, var=pd.DataFrame(var_rows, index=samples))
    adata.layers["counts"] = x.copy()
    cls = np.zeros(n_genes, dtype=int)
    cls[lethal], cls[supp] = 1, 2
    adata.uns["truth"] = pd.DataFrame(
        {"lfc_parental": par, "lfc_mutant": mut, "essential": np.arange(n_genes) < n_essential,
         "lethal": cls == 1, "suppressed": cls == 2, "true_interaction": mut - par},
        index=pd.Index(genes, name="gene"),
    )
    return adata
