"""False-positive rates of differential-expression tests on simulated null experiments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["de_null_calibration"]

_METHODS = ("pseudobulk", "wilcoxon")


def de_null_calibration(
    *,
    n_rounds: int = 3,
    alpha: float = 0.05,
    methods: Sequence[str] = _METHODS,
    seed: int = 0,
    **simulate_kwargs: Any,
) -> pd.DataFrame:
    """Run DE tests on experiments with no planted effect and count what they call significant.

    Each round simulates a stimulation experiment with :func:`perturbkit.data.simulate_perturbation`
    with every cell type's response set to zero, so every call is a false positive. Donor and
    sample (donor x condition) random effects are what a per-cell test mistakes for signal.

    Parameters
    ----------
    n_rounds
        Independent null experiments (seeds ``seed``, ``seed + 1``, ...).
    alpha
        Significance level for raw p-values and for BH-adjusted p-values.
    methods
        Any of ``"pseudobulk"`` (:func:`pseudobulk_de`, donor in the design) and
        ``"wilcoxon"`` (:func:`wilcoxon_de`, cells as replicates).
    seed
        Seed of the first round.
    **simulate_kwargs
        Passed to the simulator (e.g. ``n_donors=3, sample_sd=0.2``); ``response`` is
        forced to zeros.

    Returns
    -------
    DataFrame
        One row per (round, method): ``round``, ``method``, ``n_tests`` (genes x cell
        types), ``fpr`` (fraction of raw p-values < ``alpha``; a calibrated test gives about
        ``alpha``), ``n_false_discoveries`` (padj < ``alpha``).

    Examples
    --------
    >>> import perturbkit as pk
    >>> res = pk.tl.de_null_calibration(n_rounds=1, n_genes=60, n_cells=30, sample_sd=0.3)
    >>> fpr = res.set_index("method")["fpr"]
    >>> bool(fpr["wilcoxon"] > 3 * fpr["pseudobulk"])
    True
    """
    from ...data import simulate_perturbation
    from ._pseudobulk import pseudobulk_de
    from ._wilcoxon import wilcoxon_de

    bad = sorted(set(methods) - set(_METHODS))
    if bad:
        raise ValueError(f"unknown methods {bad}; choose from {list(_METHODS)}")
    if n_rounds < 1:
        raise ValueError(f"n_rounds must be >= 1, got {n_rounds}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    n_types = simulate_kwargs.get("n_cell_types", 3)
    simulate_kwargs = {**simulate_kwargs, "response": [0.0] * n_types}
    runners = {"pseudobulk": pseudobulk_de, "wilcoxon": wilcoxon_de}
    rows = []
    for r in range(n_rounds):
        adata = simulate_perturbation(seed=seed + r, **simulate_kwargs)
        for m in methods:
            res = runners[m](adata)
            p = res["pvalue"].dropna()
            rows.append(
                {
                    "round": r,
                    "method": m,
                    "n_tests": len(p),
                    "fpr": float((p < alpha).mean()),
                    "n_false_discoveries": int((res["padj"] < alpha).sum()),
                }
            )
    return pd.DataFrame(rows)
