"""Mixscape score distributions (twin of :func:`perturbkit.tl.mixscape`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._keys import MIXSCAPE, obs_key, require_obs, require_uns
from ._axes import new_axes as _axes
from ._axes import require_columns as _need

__all__ = ["guide_ko_fractions", "mixscape"]


def mixscape(adata: AnnData, targets: Sequence[str], *, key: str = MIXSCAPE, ncols: int = 3) -> Figure:
    """Per target, histograms of the Mixscape score: controls, NP cells and KO cells.

    The score is each cell's projection on the target's perturbation direction, scaled so
    that the controls sit near 0 and the mean of the target's cells near 1 in the first
    round. KO cells should form a bump away from the controls; NP cells overlap them.

    Run first: :func:`perturbkit.tl.mixscape`. Controls are projected on each target's
    direction again here, so the control histogram is on the same axis.

    Parameters
    ----------
    adata
        Screen annotated by :func:`perturbkit.tl.mixscape`.
    targets
        Targets to draw, one panel each.
    key
        ``key_added`` used in :func:`~perturbkit.tl.mixscape`.
    ncols
        Panels per row.

    Returns
    -------
    Figure
        One panel per target: x = perturbation score (projection, control mean 0),
        y = density.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=800, n_genes=40, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> pk.tl.perturbation_signature(adata)
    >>> pk.tl.mixscape(adata)
    >>> fig = pk.pl.mixscape(adata, ["T0", "T1"])
    """
    import matplotlib.pyplot as plt

    producer = f"pk.tl.mixscape(adata, key_added={key!r})"
    res = require_uns(adata, key, producer=producer)
    require_obs(adata, obs_key(key, "class"), obs_key(key, "score"), producer=producer)
    params = res["params"]
    summary = res["summary"]
    labels = adata.obs[params["groupby"]].astype(str).to_numpy()
    cls = adata.obs[obs_key(key, "class")].astype(str).to_numpy()
    n = len(targets)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, min(ncols, n), figsize=(3.6 * min(ncols, n), 2.8 * nrows), squeeze=False)
    for ax, t in zip(axes.ravel(), targets, strict=False):
        if t not in summary.index:
            raise ValueError(f"target {t!r} not in the Mixscape summary")
        row = summary.loc[t]
        cells = labels == t
        score = adata.obs[obs_key(key, "score")].to_numpy()
        scored = res.get("control_scores")
        if row["n_ko"] > 0 and scored is not None and t in scored:
            ko = cls == f"{t} KO"
            ctrl_score = np.asarray(scored[t], dtype=float)
            bins = np.linspace(np.nanpercentile(np.r_[ctrl_score, score[cells]], 0.5),
                               np.nanpercentile(np.r_[ctrl_score, score[cells]], 99.5), 40)
            ax.hist(ctrl_score, bins=bins, density=True, alpha=0.5, color="0.5", label="control")
            ax.hist(score[cells & (cls == f"{t} NP")], bins=bins, density=True, histtype="step", lw=1.5,
                    color="C0", label="NP")
            ax.hist(score[cells & ko], bins=bins, density=True, histtype="step", lw=1.5, color="C3", label="KO")
            ax.legend(frameon=False, fontsize=7)
        else:
            ax.text(0.5, 0.5, f"{int(row['n_de_genes'])} DE genes:\nall cells NP", ha="center", va="center",
                    transform=ax.transAxes)
        ax.set(title=f"{t}: KO {row['ko_fraction']:.0%} of {int(row['n_cells'])}",
               xlabel="perturbation score (control mean 0)", ylabel="density")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def guide_ko_fractions(
    per_guide: pd.DataFrame,
    *,
    title: str | None = "Knockout fraction per guide",
    ax: Axes | None = None,
) -> Axes:
    """Bars of the share of each guide's cells that Mixscape classifies KO, coloured by target.

    Parameters
    ----------
    per_guide
        Indexed by (target, guide) with a ``ko_fraction`` column in [0, 1]: the mean of
        ``obs["mixscape_class_global"] == "KO"`` per target and guide after
        :func:`perturbkit.tl.mixscape`.
    title
        Axes title.
    ax
        Axes to draw on (a new figure when None).

    Returns
    -------
    Axes
        The bar chart, guides in the table's order.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> t = pd.DataFrame({"ko_fraction": [0.7, 0.3, 0.8]},
    ...                  index=pd.MultiIndex.from_tuples([("IRF1", "g1"), ("IRF1", "g2"), ("JAK2", "g1")]))
    >>> ax = pk.pl.guide_ko_fractions(t)
    >>> [round(float(p.get_height()), 1) for p in ax.patches]
    [0.7, 0.3, 0.8]
    """
    _need(per_guide, ["ko_fraction"], "a per-guide summary of pk.tl.mixscape's classes")
    if not isinstance(per_guide.index, pd.MultiIndex) or per_guide.index.nlevels != 2:
        raise ValueError("per_guide must be indexed by (target, guide)")
    share = per_guide["ko_fraction"].to_numpy(float)
    outside = per_guide.index[~((share >= 0) & (share <= 1))]
    if len(outside):
        raise ValueError(f"ko_fraction must be a share in [0, 1]; not at {list(outside[:5])}")
    targets = list(dict.fromkeys(per_guide.index.get_level_values(0)))
    ax = _axes(ax, (max(5.0, 0.3 * len(per_guide) + 1.5), 3.2))
    ax.bar(range(len(per_guide)), share,
           color=[f"C{targets.index(t) % 10}" for t in per_guide.index.get_level_values(0)])
    ax.set_xticks(range(len(per_guide)), [str(g) for g in per_guide.index.get_level_values(1)], rotation=90)
    ax.set(xlabel="guide (coloured by target)", ylabel="share of the guide's cells classified KO",
           title=title, ylim=(0, 1))
    return ax
