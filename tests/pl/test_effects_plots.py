"""pk.pl.edistance, pk.pl.volcano and pk.pl.benchmark draw what their tables hold, labelled."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402

import perturbkit as pk  # noqa: E402


def test_edistance_bars_sorted_and_annotated():
    ed = pd.DataFrame({"cell_type": ["a", "b", "c"], "edistance": [2.0, 5.0, 1.0], "pvalue": [0.01, 0.001, 0.2]})
    ax = pk.pl.edistance(ed)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c", "a", "b"]  # largest on top
    assert [round(p.get_width(), 6) for p in ax.patches] == [1.0, 2.0, 5.0]
    assert any("p = 0.001" in t.get_text() for t in ax.texts)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    with pytest.raises(KeyError, match="pvalue"):
        pk.pl.edistance(ed.drop(columns="pvalue"))
    plt.close("all")


def test_volcano_colours_the_significant_genes():
    de = pd.DataFrame({"gene": ["a", "b", "c", "d"], "log2fc": [3.0, -2.0, 0.1, np.nan],
                       "pvalue": [1e-8, 1e-4, 0.5, 0.1], "padj": [4e-8, 2e-4, 0.5, 0.2]})
    ax = pk.pl.volcano(de, n_labels=1)
    pts = ax.collections[0]
    assert len(pts.get_offsets()) == 3  # the NaN row is left out
    red = np.isclose(pts.get_facecolors()[:, :3], matplotlib.colors.to_rgb("#d62728")).all(1)
    assert red.tolist() == [True, True, False]
    assert [t.get_text() for t in ax.texts] == ["a"]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    plt.close("all")


def test_benchmark_means_and_order():
    res = pd.DataFrame({"seed": [0, 0, 1, 1], "method": ["a", "b", "a", "b"], "r": [0.1, 0.5, 0.3, 0.7]})
    ax = pk.pl.benchmark(res, "r", labels={"b": "model", "a": "baseline"})
    assert [t.get_text() for t in ax.get_yticklabels()] == ["model", "baseline"]
    assert [round(p.get_width(), 6) for p in ax.patches] == [0.6, 0.2]
    assert ax.get_xlabel() == "r" and ax.get_title() and ax.yaxis_inverted()
    # error bars: the SD over seeds (ddof 1), centred on each mean, on the bar's row
    errbar = next(c for c in ax.containers if isinstance(c, BarContainer)).errorbar
    segments = errbar.lines[2][0].get_segments()
    sd = np.std([0.5, 0.7], ddof=1)
    np.testing.assert_allclose([s[:, 0] for s in segments], [(0.6 - sd, 0.6 + sd), (0.2 - sd, 0.2 + sd)])
    np.testing.assert_allclose([s[0, 1] for s in segments], [0, 1])
    ax = pk.pl.benchmark(res[res["seed"] == 0], "r", colors=["C3", "0.6"], show_labels=False)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["", ""]
    assert [round(p.get_width(), 6) for p in ax.patches] == [0.1, 0.5]  # default order: sorted methods
    assert ax.patches[0].get_facecolor() != ax.patches[1].get_facecolor()
    one_seed = next(c for c in ax.containers if isinstance(c, BarContainer)).errorbar
    assert all(len(s) == 0 for s in one_seed.lines[2][0].get_segments())  # one seed: no SD, no error bar
    with pytest.raises(ValueError, match="'z'"):
        pk.pl.benchmark(res, "r", labels={"z": "missing"})
    with pytest.raises(KeyError, match="edistance"):
        pk.pl.benchmark(res, "edistance")
    plt.close("all")


def test_intervals_sorted_segments():
    t = pd.DataFrame({"cell_type": ["a", "b", "c"], "distance": [2.0, 1.0, 1.5], "ci_low": [1.5, 0.2, 1.0],
                      "ci_high": [2.6, 1.9, 1.6]})
    ax = pk.pl.intervals(t, "distance", "ci_low", "ci_high", group_key="cell_type")
    assert [tk.get_text() for tk in ax.get_yticklabels()] == ["b", "c", "a"]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    segments = ax.collections[0].get_segments()
    assert [(s[0][0], s[1][0]) for s in segments] == [(0.2, 1.9), (1.0, 1.6), (1.5, 2.6)]
    with pytest.raises(KeyError, match="ci_hi"):
        pk.pl.intervals(t, "distance", "ci_low", "ci_hi", group_key="cell_type")
    plt.close("all")


def test_lfc_heatmap_places_values_and_greys_untested():
    de = pd.DataFrame({"gene": ["a", "b", "a"], "cell_type": ["x", "x", "y"], "log2fc": [2.0, -1.0, 3.0]})
    ax = pk.pl.lfc_heatmap(de, genes=["b", "a"], limit=4)
    data = ax.images[0].get_array()
    assert data[0, 0] == -1.0 and data[1, 1] == 3.0 and bool(data.mask[0, 1])  # b untested in y
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]
    assert ax.images[0].get_clim() == (-4, 4)
    with pytest.raises(ValueError, match="'c'"):
        pk.pl.lfc_heatmap(de, genes=["c"])
    plt.close("all")
