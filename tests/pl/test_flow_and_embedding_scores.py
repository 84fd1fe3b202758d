"""pk.pl.flow_matrix and pk.pl.qq's title: the drawn numbers are the table's."""

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


def test_qq_title_and_uniform_points():
    p = pd.DataFrame({"pvalue": (np.arange(1, 101) - 0.5) / 100})
    ax = pk.pl.qq(p, columns=["pvalue"], title="Null clones")
    expected, observed = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    assert np.allclose(expected, observed)  # exactly uniform p-values sit on the diagonal
    assert ax.get_title() == "Null clones"
    plt.close("all")
