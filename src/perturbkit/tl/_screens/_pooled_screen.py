"""Pooled CRISPR screens: count QC, sgRNA fold changes with a mean-variance model and
gene ranking by alpha-RRA, following MAGeCK (Li et al. 2014)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from ..._keys import NORMALIZED
from ..._validate import as_dense, check_adata, check_counts
from ._rra import rra

__all__ = ["core_essential_genes", "gini", "mageck_test", "screen_qc", "sgrna_lfc"]

#: Gene families that CRISPR knockout screens find essential in nearly every cell line
#: (the complexes enriched among core-fitness genes, Hart et al. 2015). Regular
#: expressions on HGNC symbols; paralogues that are tissue-restricted (RPL3L, RPL10L,
#: RPS4Y1, ...) do not match.
ESSENTIAL_FAMILIES: dict[str, str] = {
    "ribosomal protein": r"^(RP[LS]\d+A?|RPS4X|RPLP[012]|RPSA)$",
    "proteasome": r"^(PSM[AB][1-7]|PSMC[1-6]|PSMD(1|2|3|4|6|7|8|11|12|13|14))$",
    "RNA polymerase": r"^POLR(1[A-E]|2[A-L]|3[A-K])$",
    "spliceosome": r"^(SF3[AB]\d|SNRP(B|D1|D2|D3|E|F|G|70)|PRPF(3|4|6|8|19|31|38A)|AQR)$",
    "anaphase-promoting complex": r"^ANAPC(1|2|4|5|10|11)$",
    "mitotic checkpoint and spindle": r"^(AURKB|BUB1B|BUB3|PLK1|CDK1|KIF11|CENPA)$",
    "DNA replication": r"^(MCM[2-7]|RPA[123]|PCNA|POLA1|POLE|GINS[1-4])$",
    "translation initiation": r"^(EIF2S[123]|EIF3[A-I]|EIF4A3)$",
    "chaperonin": r"^(TCP1|CCT[2-8])$",
}


def core_essential_genes(genes: Iterable[str]) -> pd.Series:
    """Which of ``genes`` belong to a core-essential family (:data:`ESSENTIAL_FAMILIES`).

    Parameters
    ----------
    genes
        Gene symbols (HGNC); duplicates are reported once. A symbol is matched against each
        family's regular expression in turn, so paralogues outside the family (``RPL3L``) are
        not counted.

    Returns
    -------
    pandas.Series
        Indexed by the matching genes (in input order), values the family name.

    Examples
    --------
    >>> import perturbkit as pk
    >>> pk.tl.core_essential_genes(["RPL11", "RPL3L", "PSMB2", "POLR2A", "GAPDH"]).to_dict()
    {'RPL11': 'ribosomal protein', 'PSMB2': 'proteasome', 'POLR2A': 'RNA polymerase'}
    """
    found: dict[str, str] = {}
    compiled = {fam: re.compile(rx) for fam, rx in ESSENTIAL_FAMILIES.items()}
    for g in dict.fromkeys(map(str, genes)):
        for fam, rx in compiled.items():
            if rx.match(g):
                found[g] = fam
                break
    return pd.Series(found, name="family", dtype=object)


def gini(values: Sequence[float] | np.ndarray) -> float:
    """Gini index of non-negative values (0 = all equal, towards 1 = one value holds all).

    Examples
    --------
    >>> from perturbkit.tl._screens._pooled_screen import gini
    >>> gini([1, 1, 1, 1]), round(gini([0, 0, 0, 1]), 3)
    (0.0, 0.75)
    """
    x = np.sort(np.asarray(values, dtype=float))
    if x.size == 0 or x.sum() == 0:
        return 0.0
    if (x < 0).any():
        raise ValueError("gini: values must be >= 0")
    n = x.size
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


def _layer(adata: AnnData, layer: str | None, *, counts: bool) -> np.ndarray:
    if layer is not None and layer not in adata.layers:
        hint = " (run pk.pp.normalize_screen first)" if layer == NORMALIZED else ""
        raise KeyError(f"adata.layers has no {layer!r}{hint}; available: {list(adata.layers)}")
    x = as_dense(adata.layers[layer] if layer is not None else adata.X)
    if counts:
        check_counts(x, name=f"sgRNA counts ({'layers[' + repr(layer) + ']' if layer else 'X'})")
    elif (x < 0).any() or not np.isfinite(x).all():
        raise ValueError(f"layer {layer!r} has negative or non-finite values")
    return x


def _check_gene(adata: AnnData, gene_key: str) -> pd.Series:
    if gene_key not in adata.obs:
        raise KeyError(f"adata.obs has no column {gene_key!r} (the gene each sgRNA targets)")
    genes = adata.obs[gene_key]
    bad = genes.isna() | (genes.astype(str).str.strip() == "")
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} sgRNA(s) have no gene in obs[{gene_key!r}], e.g. {adata.obs_names[bad.to_numpy()][0]!r}"
        )
    return genes.astype(str)


def screen_qc(adata: AnnData, *, layer: str | None = "counts") -> pd.DataFrame:
    """Per-sample count QC of a pooled screen, as MAGeCK's ``countsummary``.

    Parameters
    ----------
    adata
        sgRNA x sample AnnData with raw counts.
    layer
        Layer with raw counts (``None``: ``X``).

    Returns
    -------
    pandas.DataFrame
        One row per sample (``adata.var_names``): ``reads`` (int), ``zero_sgrnas`` (int),
        ``frac_zero`` (float), ``gini`` (Gini index of log2(count + 1), float; MAGeCK flags
        values above ~0.1 for a plasmid or early sample, higher after strong selection).

    Examples
    --------
    >>> import perturbkit as pk
    >>> qc = pk.tl.screen_qc(pk.data.simulate_pooled_screen(n_genes=50, seed=0))
    >>> list(qc.columns)
    ['reads', 'zero_sgrnas', 'frac_zero', 'gini']
    """
    check_adata(adata)
    x = _layer(adata, layer, counts=True)
    zero = (x == 0).sum(axis=0)
    return pd.DataFrame(
        {
            "reads": x.sum(axis=0).astype(np.int64),
            "zero_sgrnas": zero.astype(np.int64),
            "frac_zero": zero / x.shape[0],
            "gini": [gini(np.log2(col + 1)) for col in x.T],
        },
        index=pd.Index(adata.var_names, name="sample"),
    )


def _samples(adata: AnnData, names: Sequence[str] | str, role: str) -> list[int]:
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ValueError(f"no {role} samples given")
    missing = [n for n in names if n not in adata.var_names]
    if missing:
        raise ValueError(f"{role} sample(s) {missing} not in adata.var_names: {list(adata.var_names)}")
    return [adata.var_names.get_loc(n) for n in names]


def _mean_variance(mean: np.ndarray, var: np.ndarray) -> tuple[float, float]:
    """Fit log(var - mean) = log(k) + b log(mean) over sgRNAs with overdispersion."""
    ok = (var > mean) & (mean > 0)
    if ok.sum() < 10:  # nearly Poisson data: no excess variance to model
        return 0.0, 1.0
    slope, intercept = np.polyfit(np.log(mean[ok]), np.log(var[ok] - mean[ok]), 1)
    return float(np.exp(intercept)), float(slope)


def sgrna_lfc(
    adata: AnnData,
    *,
    treatment_samples: Sequence[str] | str,
    control_samples: Sequence[str] | str,
    layer: str = NORMALIZED,
    gene_key: str = "gene",
    pseudocount: float = 1.0,
) -> pd.DataFrame:
    """sgRNA fold changes and negative-binomial p-values with MAGeCK's mean-variance model.

    Must run first: :func:`perturbkit.pp.normalize_screen`. For each sgRNA the control
    mean :math:`\\mu` and variance of normalised counts are computed; across sgRNAs the
    excess variance is modelled as :math:`\\sigma^2 = \\mu + k\\mu^b` (fitted on the log
    scale), which stabilises the variance of guides with few reads. The treatment mean
    is then scored against a negative binomial with that mean and variance: a small
    ``pvalue_low`` means depletion, a small ``pvalue_high`` enrichment {cite}`li2014mageck`. With a
    single control sample the variance is fitted on control and treatment samples
    together, as MAGeCK does; hits then inflate it, which makes the test conservative.

    Parameters
    ----------
    adata
        sgRNA x sample AnnData.
    treatment_samples, control_samples
        Sample names (``adata.var_names``): e.g. final and initial time points.
    layer
        Normalised counts.
    gene_key
        ``obs`` column with the gene of each sgRNA.
    pseudocount
        Added to both means before the log2 fold change.

    Returns
    -------
    pandas.DataFrame
        One row per sgRNA (index ``sgRNA``): ``gene``, ``control_mean``, ``treatment_mean``,
        ``lfc`` (log2(treatment/control), negative = depleted), ``variance`` (model),
        ``z``, ``pvalue_low``, ``pvalue_high`` (float64).

    Examples
    --------
    >>> import perturbkit as pk
    >>> screen = pk.data.simulate_pooled_screen(n_genes=50, seed=0)
    >>> pk.pp.normalize_screen(screen)
    >>> tab = pk.tl.sgrna_lfc(screen, treatment_samples=["final_1", "final_2"], control_samples=["initial_1", "initial_2"])
    >>> list(tab.columns)[:3]
    ['gene', 'control_mean', 'treatment_mean']
    """
    check_adata(adata)
    genes = _check_gene(adata, gene_key)
    x = _layer(adata, layer, counts=False)
    ti, ci = _samples(adata, treatment_samples, "treatment"), _samples(adata, control_samples, "control")
    if set(ti) & set(ci):
        raise ValueError("a sample is listed as both treatment and control")
    mu_c, mu_t = x[:, ci].mean(axis=1), x[:, ti].mean(axis=1)
    if len(ci) >= 2:
        k, b = _mean_variance(mu_c, x[:, ci].var(axis=1, ddof=1))
    else:
        both = x[:, ci + ti]
        k, b = _mean_variance(both.mean(axis=1), both.var(axis=1, ddof=1))
    mu = np.maximum(mu_c, pseudocount)
    var = np.maximum(mu + k * mu**b, mu * (1 + 1e-6))
    # negative binomial with mean mu and variance var: n = mu^2 / (var - mu), p = mu / var
    n_nb, p_nb = mu**2 / (var - mu), mu / var
    t = np.round(mu_t)
    pvalue_low = stats.nbinom.cdf(t, n_nb, p_nb)
    pvalue_high = stats.nbinom.sf(t - 1, n_nb, p_nb)
    return pd.DataFrame(
        {
            "gene": genes.to_numpy(),
            "control_mean": mu_c,
            "treatment_mean": mu_t,
            "lfc": np.log2((mu_t + pseudocount) / (mu_c + pseudocount)),
            "variance": var,
            "z": (mu_t - mu) / np.sqrt(var),
            "pvalue_low": np.clip(pvalue_low, 0, 1),
            "pvalue_high": np.clip(pvalue_high, 0, 1),
        },
        index=pd.Index(adata.obs_names, name="sgRNA"),
    )


def mageck_test(
    adata: AnnData,
    *,
    treatment_samples: Sequence[str] | str,
    control_samples: Sequence[str] | str,
    layer: str = NORMALIZED,
    gene_key: str = "gene",
    fdr_threshold: float = 0.25,
    n_perm: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """MAGeCK-style gene test: sgRNA fold changes, then alpha-RRA for depletion and enrichment.

    Must run first: :func:`perturbkit.pp.normalize_screen`. Combines :func:`sgrna_lfc`
    with :func:`rra` run twice (``pvalue_low`` for negative selection, e.g. essential genes
    dropping out; ``pvalue_high`` for positive selection) {cite}`li2014mageck`.

    Parameters
    ----------
    adata
        sgRNA x sample AnnData.
    treatment_samples, control_samples
        Sample names (``adata.var_names``).
    layer
        Normalised counts.
    gene_key
        ``obs`` column with each sgRNA's gene.
    fdr_threshold
        sgRNA-level FDR that sets alpha (see :func:`rra`).
    n_perm
        ``None`` (default): exact alpha-RRA p-values (:func:`rra`); an integer: that many
        null draws per guide count, as MAGeCK's permutations.
    seed
        Random seed of the null draws (unused with the exact null).

    Returns
    -------
    pandas.DataFrame
        One row per gene, sorted by the negative-selection score: ``gene``, ``n_sgrna``,
        ``lfc`` (median sgRNA log2 fold change), ``neg_rho``, ``neg_pvalue``, ``neg_padj``,
        ``neg_rank``, ``neg_good_sgrna``, ``neg_alpha`` (the percentile cut-off, the same on
        every row), and the same with ``pos_``; the sgRNA-level table is :func:`sgrna_lfc`
        with the same arguments.

    Examples
    --------
    >>> import perturbkit as pk
    >>> screen = pk.data.simulate_pooled_screen(n_genes=100, n_essential=10, seed=0)
    >>> pk.pp.normalize_screen(screen)
    >>> res = pk.tl.mageck_test(screen, treatment_samples=["final_1", "final_2"], control_samples=["initial_1", "initial_2"])
    >>> truth = screen.uns["truth"]
    >>> set(res.gene[:10]) == set(truth.index[truth.essential])
    True
    """
    sg = sgrna_lfc(adata, treatment_samples=treatment_samples, control_samples=control_samples, layer=layer, gene_key=gene_key)
    neg = rra(sg, score="pvalue_low", ascending=True, fdr_threshold=fdr_threshold, n_perm=n_perm, seed=seed)
    pos = rra(sg, score="pvalue_high", ascending=False, fdr_threshold=fdr_threshold, n_perm=n_perm, seed=seed + 1)
    keep = ["rho", "pvalue", "padj", "rank", "good_sgrna", "alpha"]
    out = neg[["gene", "n_sgrna", "lfc"]].copy()
    for prefix, tab in (("neg", neg), ("pos", pos)):
        part = tab.set_index("gene")[keep].add_prefix(f"{prefix}_")
        out = out.join(part, on="gene")
    return out.reset_index(drop=True)
