"""Mixscape score distributions (twin of :func:`perturbkit.tl.mixscape`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from anndata import AnnData
from matplotlib.figure import Figure

from .._keys import MIXSCAPE, obs_key, require_obs, require_uns

__all__ = ["mixscape"]


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
