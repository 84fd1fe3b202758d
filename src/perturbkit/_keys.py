"""Where results live in an AnnData: the keys `tl` writes and `pl`/`get`/tests read.

One registry, so a writer and its readers cannot drift apart, and so `pl`/`get` never
import private helpers from `tl`. A reader that does not find a key raises
:class:`KeyError` naming the `tl` call that creates it (:func:`require_uns`).
"""

from __future__ import annotations

from typing import Any

from anndata import AnnData

__all__ = [
    "FLOWSIG", "GUIDE", "GUIDE_NAMES", "MIXSCAPE", "NORMALIZED", "PERTURBATION_SIGNATURE", "RESISTANCE", "SPATIAL_UNIT",
    "nhood_key", "obs_key", "require_layer", "require_obs", "require_uns",
]

#: ``uns`` key (and ``obsm`` prefix) of :func:`perturbkit.tl.flowsig`, read by ``pl.flowsig``.
FLOWSIG = "flowsig"
#: ``uns``/``obs`` key of :func:`perturbkit.tl.assign_guides` (its ``key_added`` default).
GUIDE = "guide"
#: ``uns`` key with the guide names (columns of the guide-count matrix in ``obsm``), written by
#: :func:`perturbkit.pp.guide_counts`, the screen simulators and the screen loaders.
GUIDE_NAMES = "guide_names"
#: ``uns`` key and ``obs`` prefix of :func:`perturbkit.tl.mixscape`.
MIXSCAPE = "mixscape"
#: ``layers``/``uns`` key of :func:`perturbkit.tl.perturbation_signature` (read by ``tl.mixscape``).
PERTURBATION_SIGNATURE = "perturbation_signature"
#: ``layers`` key of :func:`perturbkit.pp.normalize_screen`.
NORMALIZED = "normalized"
#: ``uns`` key and ``obs`` prefix of :func:`perturbkit.tl.resistant_subpopulation`.
RESISTANCE = "resistance"
#: ``uns`` key with the unit of ``obsm["spatial"]`` (``"um"``), written by spatial loaders
#: and simulators.
SPATIAL_UNIT = "spatial_unit"


def obs_key(key_added: str, field: str) -> str:
    """``obs`` column ``f"{key_added}_{field}"`` that a writer stores beside ``uns[key_added]``
    (e.g. ``obs_key(MIXSCAPE, "class")`` is ``"mixscape_class"``)."""
    return f"{key_added}_{field}"


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


def require_obs(adata: AnnData, *columns: str, producer: str) -> None:
    """Raise a KeyError naming ``producer`` when any of ``columns`` is missing from ``obs``."""
    missing = [c for c in columns if c not in adata.obs.columns]
    if missing:
        raise KeyError(f"adata.obs has no {missing}: run {producer} first")


def require_layer(adata: AnnData, layer: str, *, producer: str) -> Any:
    """``adata.layers[layer]``, or a KeyError that names the call creating it."""
    if layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}: run {producer} first")
    return adata.layers[layer]
