"""pk.pl.composition_shares and pk.pl.composition_changes draw the composition tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


def test_composition_shares_stack_to_one():
    c = pd.DataFrame({"sample": ["t1", "t1", "s1", "s1", "s2", "s2"], "perturbation": ["treated"] * 2 + ["control"] * 4,
                      "cell_type": ["A", "B"] * 3, "n_cells": [10, 30, 20, 20, 30, 10]})
    ax = pk.pl.composition_shares(c)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["control", "treated"]
    heights = np.array([p.get_height() for p in ax.patches]).reshape(2, 2)  # cell type x condition
    np.testing.assert_allclose(heights.sum(0), [1.0, 1.0])
    np.testing.assert_allclose(heights[0], [0.625, 0.25])  # A: mean of 20/40 and 30/40 in control, 10/40 treated
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    with pytest.raises(ValueError, match="'ctrl'"):
        pk.pl.composition_shares(c, control="ctrl")
    plt.close("all")


def test_composition_changes_grid_and_notes():
    comp = pd.DataFrame({"perturbation": ["t", "t", "u", "u"], "cell_type": ["B", "C", "B", "C"], "reference": "A",
                         "log2_ratio_change": [0.1, 2.0, -1.0, 0.0], "pvalue": [0.8, 0.01, 0.2, 0.9]})
    ax = pk.pl.composition_changes(comp)
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.1, -1.0], [2.0, 0.0]])
    assert sorted(t.get_text() for t in ax.texts) == ["p=0.01", "p=0.20", "p=0.80", "p=0.90"]
    assert "A" in ax.get_title()
    with pytest.raises(KeyError, match="pvalue"):
        pk.pl.composition_changes(comp.drop(columns="pvalue"))
    plt.close("all")
