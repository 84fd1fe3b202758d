"""Plots of signature reversal: the twins of :func:`perturbkit.tl.connectivity` and
:func:`perturbkit.tl.asgard`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..tl._dose._asgard import AsgardResult

_SCORE_LABEL = {"ks": "KS score (scaled)", "wtcs": "weighted connectivity", "xsum": "XSum (sum of z-scores)"}


@fill_doc
def connectivity_rank(
    result: pd.DataFrame,
    *,
    highlight: Iterable[str] = (),
    method: str = "ks",
    ax: Axes | None = None,
    title: str = "Signature reversal",
) -> Axes:
    """Score of every compound against its rank, compounds in ``highlight`` labelled.

    Parameters
    ----------
    result
        Output of :func:`perturbkit.tl.connectivity`.
    highlight
        Compound names (the part of ``compound`` before ``"|"``) to colour and label.
    method
        The method that produced ``result`` (names the y axis).
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_signature_screen(seed=0)
    >>> res = pk.tl.connectivity(pk.tl.compound_signatures(sim), up=sim.uns["truth"]["up"],
    ...                          down=sim.uns["truth"]["down"], n_perm=0)
    >>> ax = pk.pl.connectivity_rank(res, highlight=sim.uns["truth"]["reversers"])
    """
    import matplotlib.pyplot as plt

    for col in ("compound", "score", "rank"):
        if col not in result.columns:
            raise KeyError(f"result has no column {col!r}; run pk.tl.connectivity first")
    if method not in _SCORE_LABEL:
        raise ValueError(f"method must be one of {sorted(_SCORE_LABEL)}, got {method!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    names = result["compound"].astype(str).str.split("|").str[0]
    hit = names.isin(set(highlight)).to_numpy()
    ax.scatter(result["rank"], result["score"], s=12, c=np.where(hit, "tab:red", "0.6"))
    for (_, row), name in zip(result[hit].iterrows(), names[hit], strict=True):
        ax.annotate(name, (row["rank"], row["score"]), fontsize=7, xytext=(4, 0), textcoords="offset points")
    ax.axhline(0, c="k", lw=0.5)
    ax.set_xlabel("rank (1 = strongest reversal)")
    ax.set_ylabel(_SCORE_LABEL[method] + ", < 0 reverses")
    ax.set_title(title)
    return ax


@fill_doc
def asgard_scores(
    result: AsgardResult,
    *,
    n_top: int = 12,
    highlight: Iterable[str] = (),
    ax: Axes | None = None,
    title: str = "ASGARD drug scores",
) -> Axes:
    """The best compounds' drug scores as bars split into each cluster's contribution.

    Parameters
    ----------
    result
        Output of :func:`perturbkit.tl.asgard`.
    n_top
        Compounds shown (best first); compounds in ``highlight`` are always added.
    highlight
        Compounds to mark with ``*`` and always show (e.g. positive controls).
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_cluster_reversal(seed=0)
    >>> ax = pk.pl.asgard_scores(pk.tl.asgard(sim, sim.uns["signatures"]), n_top=5)
    """
    import matplotlib.pyplot as plt

    if not hasattr(result, "drugs") or not hasattr(result, "clusters"):
        raise TypeError("result must be the AsgardResult of pk.tl.asgard")
    if n_top < 1:
        raise ValueError(f"n_top must be >= 1, got {n_top}")
    highlight = set(highlight)
    drugs = result.drugs
    shown = list(drugs["drug"].head(n_top)) + [d for d in drugs["drug"] if d in highlight and d not in
                                               set(drugs["drug"].head(n_top))]
    wide = result.clusters.pivot(index="drug", columns="cell_type", values="contribution").loc[shown]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(shown) + 1.5))
    left = np.zeros(len(shown))
    pos = np.arange(len(shown))[::-1]
    for k, col in enumerate(wide.columns):
        ax.barh(pos, wide[col].to_numpy(), left=left, color=plt.cm.tab10(k % 10), label=str(col))
        left += wide[col].to_numpy()
    ranks = drugs.set_index("drug")["rank"]
    ax.set_yticks(pos, [f"{d}{' *' if d in highlight else ''} (#{ranks[d]})" for d in shown], fontsize=8)
    ax.set_xlabel("drug score: sum over clusters of proportion x -log10 FDR x reversed-DEG share")
    ax.set_ylabel("compound (rank)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, title="cluster", title_fontsize=7, loc="lower right")
    return ax
