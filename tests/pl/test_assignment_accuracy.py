"""pk.pl.assignment_accuracy: one bar per (group, rule) at the given share; bad shares refused."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


def test_bars_carry_the_shares_and_skip_all_cells() -> None:
    acc = pd.DataFrame({"max": [0.3, 0.0, 0.9], "mixture": [0.9, 0.99, 0.88]},
                       index=["all cells", "received none", "received one target"])
    ax = pk.pl.assignment_accuracy(acc)
    heights = sorted(round(p.get_height(), 2) for p in ax.patches)
    assert heights == sorted([0.0, 0.9, 0.99, 0.88])
    assert ax.get_ylim()[1] == pytest.approx(1.05)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["received none", "received one target"]


def test_shares_outside_0_1_are_refused() -> None:
    acc = pd.DataFrame({"max": [95.0]}, index=["received one target"])
    with pytest.raises(ValueError, match="shares in \\[0, 1\\]"):
        pk.pl.assignment_accuracy(acc)
    with pytest.raises(ValueError, match="no group"):
        pk.pl.assignment_accuracy(pd.DataFrame({"max": [np.nan]}, index=["all cells"]))
