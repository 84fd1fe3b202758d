"""pk.pl.compare_values: each row a point at (x, y), highlighted rows on top, the diagonal drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({"gene": ["a", "b", "c", "d"], "nograph": [0.1, 0.5, np.nan, 0.3],
                         "graph": [0.4, 0.6, 0.2, 0.2], "ok": [True, False, True, True],
                         "shrinkage": [0.0, 0.5, 1.0, 0.2]})


def test_points_identity_and_labels(table):
    ax = pk.pl.compare_values(table, "nograph", "graph", label="gene", n_labels=2,
                              xlabel="r, no graph", ylabel="r, graph", title="imputation")
    assert ax.collections[0].get_offsets().tolist() == [[0.1, 0.4], [0.5, 0.6], [0.3, 0.2]]  # NaN row dropped
    diag = ax.lines[0]
    assert list(diag.get_xdata()) == list(diag.get_ydata()) == [0.1, 0.6]
    assert [t.get_text() for t in ax.texts] == ["a", "b"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("r, no graph", "r, graph", "imputation")
    plt.close("all")


def test_highlight_and_colour(table):
    ax = pk.pl.compare_values(table, "nograph", "graph", highlight="ok", labels=("converged", "in range"),
                              identity=False)
    assert ax.collections[1].get_offsets().tolist() == [[0.1, 0.4], [0.3, 0.2]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["converged", "in range"]
    assert not ax.lines
    ax = pk.pl.compare_values(table, "nograph", "graph", color="shrinkage", color_label="shrinkage (0-1)")
    assert ax.collections[0].get_array().tolist() == [0.0, 0.5, 0.2]
    assert ax.figure.axes[-1].get_ylabel() == "shrinkage (0-1)"
    plt.close("all")


def test_bad_input_named(table):
    with pytest.raises(KeyError, match="'graf'"):
        pk.pl.compare_values(table, "nograph", "graf")
    with pytest.raises(TypeError, match="highlight column 'shrinkage' must be boolean"):
        pk.pl.compare_values(table, "nograph", "graph", highlight="shrinkage")
    with pytest.raises(ValueError, match="no row has both"):
        pk.pl.compare_values(table.assign(graph=np.nan), "nograph", "graph")


def test_hue_volcano_and_zero_lines():
    t = pd.DataFrame({"delta": [-0.3, 0.01, 0.02], "pvalue": [1e-6, 0.5, 1.0],
                      "region": ["planted", "null", "null"]}, index=["r1", "r2", "r3"])
    ax = pk.pl.compare_values(t, "delta", "pvalue", hue="region", colors={"planted": "C3", "null": "0.6"},
                              neg_log10_y=True, zero_lines=True, identity=False)
    planted, null = ax.collections
    assert planted.get_offsets()[0].tolist() == pytest.approx([-0.3, 6.0])
    assert null.get_offsets()[:, 1].tolist() == pytest.approx([-np.log10(0.5), 0.0])
    assert [x.get_text() for x in ax.get_legend().get_texts()] == ["planted", "null"]
    assert len(ax.get_lines()) == 1  # x = 0 only: y = 0 means nothing on a -log10 p axis
    with pytest.raises(ValueError, match="p-values"):
        pk.pl.compare_values(t.assign(pvalue=[2.0, 0.1, 0.1]), "delta", "pvalue", neg_log10_y=True)
    with pytest.raises(KeyError, match="no colour"):
        pk.pl.compare_values(t, "delta", "pvalue", hue="region", colors={"planted": "C3"})
    with pytest.raises(ValueError, match="without highlight"):
        pk.pl.compare_values(t.assign(ok=True), "delta", "pvalue", hue="region", highlight="ok")
    plt.close("all")
