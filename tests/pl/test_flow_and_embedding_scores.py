"""pk.pl.flow_matrix, pk.pl.knn_accuracy and pk.pl.qq's title: the drawn numbers are the table's."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


def test_flow_matrix_sender_rows_receiver_columns():
    flows = pd.DataFrame({"pair": ["CXCL12-CXCR4"] * 3 + ["A-B"], "source": ["Fib", "Fib", "T", "T"],
                          "target": ["T", "Fib", "T", "Fib"], "flow": [5.0, 1.0, 0.5, 9.0]})
    ax = pk.pl.flow_matrix(flows, "CXCL12-CXCR4")
    assert ax.images[0].get_array().tolist() == [[1.0, 5.0], [0.0, 0.5]]  # rows Fib, T; columns Fib, T
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Fib", "T"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("receiver", "sender")
    assert ax.get_title() == "CXCL12 → CXCR4: transported signal"
    assert ax.figure.axes[-1].get_ylabel().startswith("signal (")
    with pytest.raises(ValueError, match=r"pair 'X-Y' not in column 'pair'"):
        pk.pl.flow_matrix(flows, "X-Y")
    with pytest.raises(KeyError, match=r"pk\.tl\.flow_summary"):
        pk.pl.flow_matrix(flows.drop(columns="flow"), "A-B")
    plt.close("all")


def test_knn_accuracy_bars_equal_the_table():
    acc = pd.DataFrame({"cell_type": [0.9, 0.8, 0.3], "region": [0.6, 0.7, 0.5]},
                       index=["X_pca", "X_cellama", "chance (largest class)"])
    ax = pk.pl.knn_accuracy(acc, names={"X_pca": "PCA", "X_cellama": "CELLama"}, colors=["C0", "C1", "0.8"])
    heights = [round(float(p.get_height()), 6) for p in ax.patches]
    assert heights == [0.9, 0.6, 0.8, 0.7, 0.3, 0.5]  # per embedding, its bar for each label
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["PCA", "CELLama", "chance (largest class)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cell_type", "region"]
    assert ax.get_ylim() == (0, 1) and ax.get_ylabel() == "cross-validated accuracy"
    with pytest.raises(ValueError, match=r"in \[0, 1\]; got 95.0 for \('X_pca', 'region'\)"):
        pk.pl.knn_accuracy(acc.assign(region=[95.0, 0.7, 0.5]))
    with pytest.raises(ValueError, match="2 colours for 3 embeddings"):
        pk.pl.knn_accuracy(acc, colors=["C0", "C1"])
    plt.close("all")


def test_qq_title_and_uniform_points():
    p = pd.DataFrame({"pvalue": (np.arange(1, 101) - 0.5) / 100})
    ax = pk.pl.qq(p, columns=["pvalue"], title="Null clones")
    expected, observed = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    assert np.allclose(expected, observed)  # exactly uniform p-values sit on the diagonal
    assert ax.get_title() == "Null clones"
    plt.close("all")
