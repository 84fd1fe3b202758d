"""QQ plot of p-values from null tests (twin of :func:`perturbkit.tl.negative_control_tests`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ._docs import fill_doc

__all__ = ["qq"]


@fill_doc
def qq(
    table: pd.DataFrame,
    columns: Sequence[str] = ("pvalue_ttest", "pvalue_permutation"),
    *,
    labels: Sequence[str] | None = None,
    title: str = "Null p-values: non-targeting vs non-targeting",
    ax: Axes | None = None,
) -> Axes:
    """QQ plot of null p-values against the uniform distribution, on -log10 scales.

    Points on the diagonal mean a calibrated test; points above it mean too many small
    p-values (false positives). A permutation p-value cannot go below
    ``1 / (n_permutations + 1)``, so its curve stops there.

    Parameters
    ----------
    table
        Tidy table with one column of p-values per test, e.g. from
        :func:`perturbkit.tl.negative_control_tests`.
    columns
        The p-value columns to draw.
    labels
        Legend labels (default the column names).
    {title}
    {ax}

    Returns
    -------
    Axes
        x = expected -log10 p (uniform), y = observed -log10 p.

    Examples
    --------
    >>> import numpy as np, pandas as pd, perturbkit as pk
    >>> rng = np.random.default_rng(0)
    >>> ax = pk.pl.qq(pd.DataFrame({"pvalue": rng.uniform(size=500)}), columns=["pvalue"])
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    labels = list(labels) if labels is not None else list(columns)
    top = 0.0
    for col, lab in zip(columns, labels, strict=True):
        if col not in table.columns:
            raise KeyError(f"column {col!r} not in the table; columns: {list(table.columns)}")
        p = np.sort(table[col].dropna().to_numpy(dtype=float))
        n = p.size
        expected = -np.log10((np.arange(1, n + 1) - 0.5) / n)
        observed = -np.log10(np.clip(p, 1e-300, 1))
        ax.plot(expected, np.minimum(observed, 50), ".", ms=3,
                label=f"{lab}: {np.mean(p < 0.05):.1%} below 0.05")
        top = max(top, expected.max())
    ax.plot([0, top], [0, top], "k--", lw=1, label="calibrated (uniform)")
    ax.set(xlabel="expected -log10 p (uniform null)", ylabel="observed -log10 p (capped at 50)",
           title=title)
    ax.legend(frameon=False, fontsize=8)
    return ax
