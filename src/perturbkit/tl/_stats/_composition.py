"""Cell-type composition: does a perturbation change which cells are there?"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ...metrics import bh_adjust

__all__ = ["composition_test"]


def _dm_loglik(log_alpha: np.ndarray, counts: np.ndarray) -> float:
    alpha = np.exp(log_alpha)
    n = counts.sum(1)
    a = alpha.sum()
    return float(np.sum(special.gammaln(a) - special.gammaln(n + a)
                        + np.sum(special.gammaln(counts + alpha) - special.gammaln(alpha), axis=1)))


def _dm_fit(counts: np.ndarray) -> float:
    """Maximised Dirichlet-multinomial log-likelihood of the rows of ``counts``."""
    props = (counts + 0.5) / (counts + 0.5).sum(1, keepdims=True)
    start = np.log(props.mean(0) * 50.0)
    res = optimize.minimize(lambda la: -_dm_loglik(la, counts), start, method="L-BFGS-B",
                            bounds=[(-10, 15)] * counts.shape[1])
    return -float(res.fun)


def _composition_table(
    counts: pd.DataFrame, *, groupby: str, control: str, sample_key: str, cell_type_key: str,
    count_key: str, reference: str, pseudocount: float = 0.5,
) -> tuple[pd.DataFrame, pd.Series, str]:
    """Checked samples x cell types count table, each sample's condition, and the reference
    cell type (``"auto"``: present in every sample, least variable centred log-ratio)."""
    need = [groupby, sample_key, cell_type_key, count_key]
    missing = [c for c in need if c not in counts.columns]
    if missing:
        raise KeyError(f"counts has no column {missing}; columns: {list(counts.columns)}")
    if counts[need].isna().any().any():
        raise ValueError(f"counts has missing values in {need}")
    if (counts[count_key] < 0).any():
        raise ValueError(f"counts[{count_key!r}] has negative values")
    wide = counts.pivot_table(index=sample_key, columns=cell_type_key, values=count_key,
                              aggfunc="sum", fill_value=0)
    cond = counts.groupby(sample_key)[groupby].agg(lambda v: v.iloc[0] if v.nunique() == 1 else None)
    if cond.isna().any():
        raise ValueError(f"samples {list(cond.index[cond.isna()][:5])} have several {groupby!r} values")
    cond = cond.loc[wide.index].astype(str)
    if control not in set(cond):
        raise ValueError(f"control label {control!r} not found in counts[{groupby!r}]; values: {sorted(set(cond))}")
    if wide.shape[1] < 2:
        raise ValueError("need at least two cell types")
    logc = np.log(wide + pseudocount)
    if reference == "auto":
        present = wide.columns[(wide > 0).all(0)]
        if len(present) == 0:
            raise ValueError("no cell type is present in every sample; pass reference=")
        clr = logc.sub(logc.mean(1), axis=0)
        reference = str(clr[present].var(0).idxmin())
    if reference not in wide.columns:
        raise ValueError(f"reference {reference!r} is not a cell type; types: {list(wide.columns)}")
    return wide, cond, reference


def composition_test(
    counts: pd.DataFrame,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    sample_key: str = "sample",
    cell_type_key: str = "cell_type",
    count_key: str = "n_cells",
    reference: str = "auto",
    pseudocount: float = 0.5,
) -> pd.DataFrame:
    """Test each perturbation for changes in cell-type composition against a reference type.

    Compositions are relative: if one cell type expands, all others shrink in proportion even
    when their absolute numbers are unchanged. Stating a **reference cell type** assumed not
    to change makes the question answerable: for each other type the per-sample log-ratio
    ``log(count_type / count_reference)`` (additive log-ratio) is compared between
    perturbed and control samples with Welch's t-test. A global Dirichlet-multinomial
    likelihood-ratio test (one concentration vector per condition vs a shared one) asks
    whether the composition changed at all.

    Parameters
    ----------
    counts
        Tidy table, one row per sample and cell type (e.g. ``pk.data.load(
        "composition_haber2017_sccoda")``).
    groupby, control
        Condition column and control label.
    sample_key, cell_type_key, count_key
        Columns naming the sample, the cell type and the cell count.
    reference
        Reference cell type, or ``"auto"``: the type present in every sample whose
        centred log-ratio varies least across samples (scCODA's heuristic).
    pseudocount
        Added to every count before logs.

    Returns
    -------
    DataFrame
        One row per (perturbation, non-reference cell type): ``perturbation``,
        ``cell_type``, ``reference``, ``prop_control`` and ``prop_perturbed`` (mean
        proportions), ``log2_ratio_change`` (mean log2(type / reference) perturbed minus
        control), ``pvalue``, ``padj`` (BH within the perturbation), ``dm_pvalue`` (global
        Dirichlet-multinomial test of the perturbation, chi-square approximation),
        ``n_control``, ``n_perturbed`` (samples).

    References
    ----------
    Büttner M et al. (2021) scCODA is a Bayesian model for compositional single-cell data
    analysis. Nat Commun 12:6876.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> rows = [{"sample": f"{g}{i}", "perturbation": g, "cell_type": ct, "n_cells": n}
    ...         for g, mult in [("control", 1), ("treated", 4)] for i in range(4)
    ...         for ct, n in [("A", 100), ("B", 100 + 10 * i), ("C", 25 * mult + i)]]
    >>> res = pk.tl.composition_test(pd.DataFrame(rows), reference="A")
    >>> res.set_index("cell_type").loc["C", "log2_ratio_change"].round(1)
    np.float64(1.9)
    """
    wide, cond, reference = _composition_table(counts, groupby=groupby, control=control, sample_key=sample_key,
                                              cell_type_key=cell_type_key, count_key=count_key,
                                              reference=reference, pseudocount=pseudocount)
    logc = np.log(wide + pseudocount)
    alr = logc.drop(columns=reference).sub(logc[reference], axis=0) / np.log(2)
    props = wide.div(wide.sum(1), axis=0)
    is_ctrl = (cond == control).to_numpy()
    rows = []
    for pert in sorted(set(cond) - {control}):
        is_pert = (cond == pert).to_numpy()
        if is_ctrl.sum() < 2 or is_pert.sum() < 2:
            raise ValueError(f"{int(is_ctrl.sum())} control and {int(is_pert.sum())} {pert!r} samples; need >= 2 each")
        x = wide.to_numpy(dtype=float)
        both = is_ctrl | is_pert
        ll_sep = _dm_fit(x[is_ctrl]) + _dm_fit(x[is_pert])
        ll_one = _dm_fit(x[both])
        dm_p = float(stats.chi2.sf(max(2 * (ll_sep - ll_one), 0.0), df=wide.shape[1]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # constant ratios: no evidence, p = 1
            t = stats.ttest_ind(alr[is_pert], alr[is_ctrl], equal_var=False, axis=0)
        block = pd.DataFrame({
            "perturbation": pert,
            "cell_type": alr.columns,
            "reference": reference,
            "prop_control": props.loc[is_ctrl, alr.columns].mean().to_numpy(),
            "prop_perturbed": props.loc[is_pert, alr.columns].mean().to_numpy(),
            "log2_ratio_change": (alr[is_pert].mean() - alr[is_ctrl].mean()).to_numpy(),
            "pvalue": np.nan_to_num(np.asarray(t.pvalue, dtype=float), nan=1.0),
        })
        block["padj"] = bh_adjust(block["pvalue"].fillna(1.0))
        block["dm_pvalue"] = dm_p
        block["n_control"] = int(is_ctrl.sum())
        block["n_perturbed"] = int(is_pert.sum())
        rows.append(block)
    return pd.concat(rows, ignore_index=True)
