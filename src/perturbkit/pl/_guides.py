"""Plots for guide assignment (twin of :func:`perturbkit.tl.assign_guides`)."""

from __future__ import annotations

import numpy as np
from anndata import AnnData
from matplotlib.axes import Axes

from .._keys import GUIDE, GUIDE_NAMES, require_uns

__all__ = ["guide_mixture"]


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
