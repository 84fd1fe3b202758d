"""Plots for guide assignment (twin of :func:`perturbkit.tl.assign_guides`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes

from .._keys import GUIDE, GUIDE_NAMES, require_uns

__all__ = ["assignment_accuracy", "guide_mixture"]


def guide_mixture(adata: AnnData, guide: str, *, key: str = GUIDE, ax: Axes | None = None) -> Axes:
    """Histogram of one guide's UMIs across cells with the mixture-model threshold.

    Run first: :func:`perturbkit.tl.assign_guides` with ``method="mixture"`` (writes
    ``uns[key]["mixture"]``).

    Parameters
    ----------
    adata
        Screen with ``obsm`` guide counts and ``uns[key]["mixture"]``.
    guide
        Guide id (a column of the guide matrix).
    key
        ``key_added`` used in :func:`~perturbkit.tl.assign_guides`.
    ax
        Axes to draw on (default: a new figure).

    Returns
    -------
    Axes
        The histogram: x = guide UMIs per cell (log scale), y = cells (log scale).

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=300, n_genes=20, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> ax = pk.pl.guide_mixture(adata, "T0g1")
    """
    import matplotlib.pyplot as plt

    producer = f"pk.tl.assign_guides(adata, method='mixture', key_added={key!r})"
    info = require_uns(adata, key, producer=producer)
    if "mixture" not in info:
        raise KeyError(f"adata.uns[{key!r}] has no 'mixture': run {producer} first")
    params = info["params"]
    names = [str(n) for n in require_uns(adata, GUIDE_NAMES, producer="pk.pp.guide_counts(adata, ...)")]
    if guide not in names:
        raise ValueError(f"guide {guide!r} not in adata.uns[{GUIDE_NAMES!r}]")
    mat = adata.obsm[params["guide_key"]]
    col = mat[:, names.index(guide)]
    x = np.asarray(col.toarray() if hasattr(col, "toarray") else col).ravel()
    fit = info["mixture"].loc[guide]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    bins = np.r_[0, np.unique(np.round(np.geomspace(1, max(x.max(), 2) + 1, 40)))] - 0.5
    threshold = float(fit["threshold"])
    below, above = x[x < threshold], x[x >= threshold]
    ax.hist([below + 1, above + 1], bins=bins + 1, stacked=True, color=["0.7", "C3"],
            label=["background", "guide present"])
    if np.isfinite(threshold):
        ax.axvline(threshold + 0.5, color="k", ls="--", lw=1, label=f"threshold {threshold:.0f} UMIs")
    ax.set(xscale="log", yscale="log", xlabel="guide UMIs per cell + 1 (log scale)", ylabel="cells (log scale)",
           title=f"{guide}: {int(fit['n_positive'])} cells carry the guide")
    ax.legend(frameon=False, fontsize=8)
    return ax


def assignment_accuracy(
    accuracy: pd.DataFrame,
    *,
    title: str | None = "Guide assignment: share of cells called correctly",
    ax: Axes | None = None,
) -> Axes:
    """Bars of each assignment rule's accuracy by what the cells received.

    Parameters
    ----------
    accuracy
        Rows: groups of cells (e.g. "received none", "received one target", "received
        several"; a row "all cells" is left out); columns: assignment rules; values: share of
        cells whose call matches what they received, in [0, 1].
    title
        Axes title.
    ax
        Axes to draw on (a new figure when None).

    Returns
    -------
    Axes
        The bar chart.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> acc = pd.DataFrame({"max": [0.0, 0.9], "mixture": [0.99, 0.88]},
    ...                    index=["received none", "received one target"])
    >>> ax = pk.pl.assignment_accuracy(acc)
    >>> len(ax.patches)
    4
    """
    import matplotlib.pyplot as plt

    values = accuracy.drop(index="all cells", errors="ignore")
    if values.empty:
        raise ValueError("accuracy has no group of cells to draw (only 'all cells' or nothing)")
    bad = values.stack()
    bad = bad[(bad < 0) | (bad > 1)]
    if not bad.empty:
        raise ValueError(f"accuracy values must be shares in [0, 1]; got {bad.to_dict()}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.5))
    colors = ["0.6", "C3", "C0", "C2"][: values.shape[1]] if values.shape[1] <= 4 else None
    values.plot.bar(rot=0, ax=ax, color=colors)
    ax.set(xlabel="what the cell received", ylabel="share of cells assigned correctly", title=title,
           ylim=(0, 1.05))
    ax.legend(title="rule", frameon=False)
    return ax
