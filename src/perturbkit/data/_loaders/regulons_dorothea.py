"""DoRothEA human transcription-factor regulons (saezlab/dorothea ``dorothea_hs``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

LEVELS = ("A", "B", "C", "D", "E")


def load(paths: dict[str, Path], *, levels: Sequence[str] = ("A", "B", "C")) -> pd.DataFrame:
    """Read DoRothEA as a decoupler-style network.

    Parameters
    ----------
    paths
        File name -> verified local path, from :func:`perturbkit.data.fetch`.
    levels
        Confidence levels to keep (A = strongest evidence ... E). Default A-C, the usual
        choice (13,223 interactions).

    Returns
    -------
    DataFrame
        Columns ``source`` (TF symbol), ``target`` (gene symbol), ``weight`` (mode of
        regulation, +1 activation / -1 repression, float) and ``confidence`` (A-E), the
        column names decoupler expects.

    Examples
    --------
    >>> import perturbkit as pk
    >>> net = pk.data.load("regulons_dorothea")
    >>> len(net), int((net["source"] == "IRF9").sum())
    (13223, 12)
    """
    import pyreadr

    bad = sorted(set(levels) - set(LEVELS))
    if bad or not levels:
        raise ValueError(f"levels must be a non-empty subset of {LEVELS}, got {list(levels)}")
    raw = pyreadr.read_r(str(paths["dorothea_hs.rda"]))["dorothea_hs"]
    net = pd.DataFrame(
        {
            "source": raw["tf"].astype(str),
            "target": raw["target"].astype(str),
            "weight": raw["mor"].astype(float),
            "confidence": raw["confidence"].astype(str),
        }
    )
    return net[net["confidence"].isin(list(levels))].reset_index(drop=True)
