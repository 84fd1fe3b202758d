"""Where results live in an AnnData: the keys `tl` writes and `pl`/`get`/tests read.

One registry, so a writer and its readers cannot drift apart, and so `pl`/`get` never
import private helpers from `tl`. A reader that does not find a key raises
:class:`KeyError` naming the `tl` call that creates it (:func:`require_uns`).
"""

from __future__ import annotations

from typing import Any

from anndata import AnnData

__all__ = [
    "GUIDE", "MIXSCAPE", "RESISTANCE", "nhood_key", "require_uns",
]

#: ``uns``/``obs`` key of :func:`perturbkit.tl.assign_guides` (its ``key_added`` default).
GUIDE = "guide"
#: ``uns``/``obs`` key of :func:`perturbkit.tl.mixscape`.
MIXSCAPE = "mixscape"
#: ``uns``/``obs`` key of :func:`perturbkit.tl.resistant_subpopulation`.
RESISTANCE = "resistance"


def nhood_key(cell_type_key: str) -> str:
    """``uns`` key of the neighbourhood enrichment of ``cell_type_key`` (squidpy's name)."""
    return f"{cell_type_key}_nhood_enrichment"


def require_uns(adata: AnnData, key: str, *, producer: str) -> Any:
    """``adata.uns[key]``, or a KeyError that names the call creating it.

    ``producer`` is the call as a user would type it, e.g. ``"pk.tl.mixscape(adata)"``.
    """
    if key not in adata.uns:
        raise KeyError(f"adata.uns has no {key!r}: run {producer} first")
    return adata.uns[key]
