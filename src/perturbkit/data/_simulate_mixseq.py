"""MIX-seq: pooled cancer cell lines told apart by their SNPs, with planted genotypes and responses."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse


def simulate_mixseq(
    n_cells: int = 1500,
    *,
    n_lines: int = 8,
    n_snps: int = 2000,
    snp_coverage: float = 0.05,
    doublet_rate: float = 0.06,
    n_genes: int = 100,
    n_response_genes: int = 10,
    sensitive_lines: int = 4,
    response: float = 1.0,
    error: float = 0.01,
    seed: int = 0,
) -> AnnData:
    """Simulate a MIX-seq experiment: a pool of cell lines, treated or not, read by scRNA-seq.

    Each line has a genotype at ``n_snps`` SNPs (alternative-allele fraction 0, 0.5 or 1,
    drawn with a minor-allele frequency per SNP). A cell comes from one line, or, with
    probability ``doublet_rate``, a droplet holds two cells of different lines. The cell's
    RNA covers each SNP with Poisson(``snp_coverage``) reads (so a cell has about
    ``n_snps x snp_coverage`` informative reads), alternative reads Binomial with the
    genotype fraction (the two cells' mean in a doublet), flipped with probability
    ``error``. Half the cells are in the treated pool (``condition`` ``"drug"``), half in
    the ``"DMSO"`` pool; in the first ``sensitive_lines`` lines the drug shifts
    ``n_response_genes`` genes by ``response`` (log scale, planted signs), in the others it
    does nothing (as nutlin acts only in TP53 wild-type lines). Lines differ in baseline
    expression.

    Parameters
    ----------
    n_cells, n_lines, n_snps
        Droplets, lines in the pool, SNPs genotyped.
    snp_coverage
        Mean reads per SNP and cell.
    doublet_rate
        Share of droplets with two cells of different lines.
    n_genes, n_response_genes, sensitive_lines, response
        Expression panel, genes the drug moves, lines that respond and the log effect.
    error
        Per-read allele error.
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X`` and ``layers["counts"]``: gene counts (CSR float32). ``obsm["alt"]``,
        ``obsm["ref"]``: allele read counts (CSR, cells x SNPs). ``obs["condition"]``
        (``"drug"``/``"DMSO"``). ``uns["genotypes"]``: lines x SNPs DataFrame of alternative
        allele fractions. ``uns["truth"]``: ``"cells"`` (per droplet ``line``, ``line2``
        (``""`` for singlets), ``doublet``), ``"response"`` (lines x genes planted log effects).

    Examples
    --------
    >>> import perturbkit as pk
    >>> mix = pk.data.simulate_mixseq(n_cells=200, seed=0)
    >>> mix.obsm["alt"].shape, mix.uns["genotypes"].shape
    ((200, 2000), (8, 2000))
    """
    if n_lines < 2:
        raise ValueError(f"n_lines must be at least 2, got {n_lines}")
    if not 0 <= sensitive_lines <= n_lines:
        raise ValueError(f"sensitive_lines must be in [0, {n_lines}], got {sensitive_lines}")
    rng = np.random.default_rng(seed)
    lines = [f"LINE{i}" for i in range(n_lines)]
    maf = rng.uniform(0.05, 0.5, n_snps)
    geno = (rng.random((n_lines, n_snps)) < maf).astype(float) + (rng.random((n_lines, n_snps)) < maf)
    geno = geno / 2  # alternative-allele fraction 0, 0.5, 1
    first = rng.integers(0, n_lines, n_cells)
    doublet = rng.random(n_cells) < doublet_rate
    second = np.where(doublet, (first + rng.integers(1, n_lines, n_cells)) % n_lines, first)
    frac = (geno[first] + geno[second]) / 2
    frac = frac * (1 - error) + (1 - frac) * error
    cov = rng.poisson(snp_coverage, (n_cells, n_snps))
    alt = rng.binomial(cov, frac)
    ref = cov - alt
    condition = np.where(rng.random(n_cells) < 0.5, "drug", "DMSO")
    genes = [f"G{i}" for i in range(n_genes)]
    base = rng.lognormal(np.log(2000 / n_genes), 1.0, n_genes)
    line_shift = rng.normal(0, 0.4, (n_lines, n_genes))
    resp = np.zeros((n_lines, n_genes))
    resp_genes = rng.choice(n_genes, n_response_genes, replace=False)
    signs = rng.choice([-1.0, 1.0], n_response_genes)
    resp[:sensitive_lines, resp_genes] = response * signs
    log_mu = (line_shift[first] + line_shift[second]) / 2 + np.where(condition == "drug", 1.0, 0.0)[:, None] * (
        (resp[first] + resp[second]) / 2)
    size = rng.lognormal(0, 0.3, n_cells) * np.where(doublet, 2.0, 1.0)
    mu = size[:, None] * base[None, :] * np.exp(log_mu)
    counts = rng.negative_binomial(5, 5 / (5 + mu)).astype(np.float32)
    obs = pd.DataFrame({"condition": pd.Categorical(condition)},
                       index=pd.Index([f"cell{i}" for i in range(n_cells)], name="cell"))
    snps = [f"snp{j}" for j in range(n_snps)]
    x = sparse.csr_matrix(counts)
    adata = AnnData(X=x.copy(), obs=obs, var=pd.DataFrame(index=pd.Index(genes, name="gene")))
    adata.layers["counts"] = x
    adata.obsm["alt"] = sparse.csr_matrix(alt.astype(np.float32))
    adata.obsm["ref"] = sparse.csr_matrix(ref.astype(np.float32))
    adata.uns["genotypes"] = pd.DataFrame(geno, index=pd.Index(lines, name="line"), columns=snps)
    adata.uns["truth"] = {
        "cells": pd.DataFrame({"line": np.asarray(lines)[first],
                               "line2": np.where(doublet, np.asarray(lines)[second], ""),
                               "doublet": doublet}, index=obs.index),
        "response": pd.DataFrame(resp, index=pd.Index(lines, name="line"), columns=genes),
    }
    return adata
