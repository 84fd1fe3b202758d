"""Plot of a resistant-subpopulation fit: the twin of :func:`perturbkit.tl.resistant_subpopulation`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from anndata import AnnData

from .._keys import RESISTANCE, obs_key, require_obs, require_uns
from ..dose import get_model
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@fill_doc
def resistance_curves(
    adata: AnnData,
    *,
    key: str = RESISTANCE,
    dose_key: str = "dose",
    unit: str = "uM",
    ax: Axes | None = None,
    title: str = "Response score by dose: two subpopulations",
) -> Axes:
    """Per-cell response score against dose, coloured by the probability of being resistant,
    with the sensitive and resistant curves fitted by :func:`perturbkit.tl.resistant_subpopulation`.

    Parameters
    ----------
    adata
        AnnData annotated by :func:`perturbkit.tl.resistant_subpopulation`.
    key
        Its ``key_added``.
    dose_key
        ``obs`` column with the dose.
    unit
        Dose unit for the axis label.
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_resistance(seed=0)
    >>> pk.tl.resistant_subpopulation(sim)
    >>> ax = pk.pl.resistance_curves(sim)
    """
    import matplotlib.pyplot as plt

    producer = f"pk.tl.resistant_subpopulation(adata, key_added={key!r})"
    res = require_uns(adata, key, producer=producer)
    require_obs(adata, obs_key(key, "score"), obs_key(key, "prob"), producer=producer)
    dose = adata.obs[dose_key].to_numpy(dtype=float)
    pos = np.unique(dose[dose > 0])
    zero_at = pos.min() / 3  # draw controls one step left of the lowest dose on the log axis
    xd = np.where(dose > 0, dose, zero_at)
    jitter = np.exp(np.random.default_rng(0).normal(0, 0.06, len(xd)))
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.2))
    pts = ax.scatter(xd * jitter, adata.obs[obs_key(key, "score")], c=adata.obs[obs_key(key, "prob")], cmap="coolwarm",
                     vmin=0, vmax=1, s=6, rasterized=True)
    grid = np.geomspace(pos.min() / 2, pos.max() * 2, 200)
    for name, style in (("sensitive", "-"), ("resistant", "--")):
        ec = res["ec50"][name]
        # the fitted curve, evaluated by pk.dose (Hill rising from 0 to top)
        curve = get_model("Hill")(grid, np.array([res["hill"], 0.0, res["top"], ec], float))
        ax.plot(grid, curve, "k" + style, lw=1.2, label=f"{name} fit, EC50 {ec:.3g} {unit}")
    ax.set_xscale("log")
    ax.set_xlabel(f"dose ({unit}; controls drawn at {zero_at:.2g})")
    ax.set_ylabel("response score (mean z of response genes)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.figure.colorbar(pts, ax=ax, label="P(resistant)")
    return ax
