"""How much of its own mRNA each target keeps (twin of :func:`perturbkit.tl.knockdown`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ._axes import new_axes as _axes
from ._axes import require_columns as _need
from ._docs import fill_doc

__all__ = ["knockdown"]


@fill_doc
def knockdown(
    kd: pd.DataFrame,
    *,
    title: str | None = "Knockdown of each target's own mRNA",
    ax: Axes | None = None,
) -> Axes:
    """Horizontal bars of the share of its own mRNA each target keeps (ratio of means, target
    cells over non-targeting cells), each bar annotated with the ratio and its cell count; a
    dashed line at 1 (no change). CRISPRa screens go above 1, and the axis follows.

    Parameters
    ----------
    kd
        Table of :func:`perturbkit.tl.knockdown` (``target``, ``remaining``, ``n_cells``),
        drawn top to bottom in its order.
    {title}
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> kd = pd.DataFrame({"target": ["JAK2", "CMTM6"], "remaining": [0.2, 0.8], "n_cells": [500, 400]})
    >>> ax = pk.pl.knockdown(kd)
    >>> [a.get_text() for a in ax.texts]
    ['0.20 (n=500)', '0.80 (n=400)']
    """
    _need(kd, ["target", "remaining", "n_cells"], "pk.tl.knockdown")
    remaining = kd["remaining"].to_numpy(float)
    if len(kd) == 0 or not np.isfinite(remaining).all() or (remaining < 0).any():
        bad = kd.loc[~(np.isfinite(remaining) & (remaining >= 0)), "target"].tolist()
        raise ValueError(f"remaining must be finite ratios >= 0 (targets {bad})" if bad else "kd has no target")
    ax = _axes(ax, (7, 1 + 0.35 * len(kd)))
    ax.barh(kd["target"].astype(str), remaining, color="C2")
    ax.axvline(1, color="k", lw=1, ls="--")
    for y, (r, n) in enumerate(zip(remaining, kd["n_cells"], strict=True)):
        ax.text(r + 0.01, y, f"{r:.2f} (n={n})", va="center", fontsize=8)
    ax.set(xlabel="own mRNA in target cells / in non-targeting cells (ratio of means)", ylabel="target",
           title=title, xlim=(0, max(1.1, 1.15 * float(remaining.max()))))
    ax.invert_yaxis()
    return ax
