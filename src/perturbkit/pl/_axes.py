"""Two small helpers the plotting modules share: a fresh Axes when none is passed, and a
clear error when a result table lacks the columns a figure reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def new_axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    """``ax`` itself, or a new figure's Axes of ``size`` inches."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def require_columns(table: pd.DataFrame, columns: Sequence[str], producer: str) -> None:
    """Raise ``KeyError`` naming the missing columns and the call whose result to pass."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise KeyError(f"columns {missing} not in the table (columns: {list(table.columns)}); "
                       f"pass the table {producer} returns")
