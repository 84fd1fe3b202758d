"""pk.pl.table_bars / table_lines / table_heatmap draw the table's numbers where
they belong, label what they are told, and refuse or flag what they cannot draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402

import perturbkit as pk  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _fpr() -> pd.DataFrame:
    return pd.DataFrame({"GLM": [0.05, 0.04, 0.06], "naive": [0.05, 0.31, 0.07]},
                        index=pd.Index(["T1", "KIN1", "T2"], name="target"))


def test_table_bars_heights_positions_labels_and_reference():
    ax = pk.pl.table_bars(_fpr(), value_label="share of null peaks with p < 0.05", title="FPR",
                          colors=["C0", "0.6"], reference=0.05, reference_label="nominal", limits=(0, 0.5))
    bars = ax.patches
    assert [b.get_height() for b in bars] == pytest.approx([0.05, 0.04, 0.06, 0.05, 0.31, 0.07])
    # the naive bar of KIN1 sits right of the GLM bar of KIN1, both around tick 1
    assert bars[4].get_x() > bars[1].get_x() and abs(bars[1].get_x() + bars[1].get_width() - 1) < 1e-9
    assert [t.get_text() for t in ax.get_xticklabels()] == ["T1", "KIN1", "T2"]
    assert ax.get_xlabel() == "target" and ax.get_ylabel().startswith("share") and ax.get_title() == "FPR"
    assert ax.get_ylim() == (0, 0.5)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["nominal", "GLM", "naive"]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == [0.05, 0.05]


def test_table_bars_horizontal_first_row_on_top():
    ax = pk.pl.table_bars(_fpr(), value_label="share", title="FPR", horizontal=True)
    assert [b.get_width() for b in ax.patches[:3]] == pytest.approx([0.05, 0.04, 0.06])
    assert ax.yaxis_inverted() and [t.get_text() for t in ax.get_yticklabels()] == ["T1", "KIN1", "T2"]
    assert ax.get_xlabel() == "share" and ax.get_ylabel() == "target"


def test_table_bars_warns_on_nan_and_refuses_bad_input():
    t = _fpr()
    t.loc["KIN1", "naive"] = np.nan
    with pytest.warns(UserWarning, match=r"naive / KIN1"):
        ax = pk.pl.table_bars(t, value_label="share", title="FPR")
    assert np.isnan(ax.patches[4].get_height())
    with pytest.raises(TypeError, match=r"\['label'\]"):
        pk.pl.table_bars(t.assign(label="x"), value_label="share", title="FPR")
    with pytest.raises(ValueError, match="1 colours for 2 columns"):
        pk.pl.table_bars(_fpr(), value_label="share", title="FPR", colors=["C0"])
    with pytest.raises(ValueError, match="non-empty"):
        pk.pl.table_bars(_fpr().iloc[:0], value_label="share", title="FPR")


def test_table_lines_draws_each_column_against_the_index():
    moi = pd.DataFrame({"single": [0.1, 0.35, 0.3], "Poisson: one": [0.09, 0.33, 0.27]},
                       index=pd.Index([0.1, 1.0, 4.0], name="MOI"))
    ax = pk.pl.table_lines(moi, value_label="share of cells", title="MOI", dashed=["Poisson: one"], log_x=True,
                           reference=0.37, reference_label="1/e", limits=(0, 1))
    solid, dashed, ref = ax.get_lines()
    assert list(solid.get_xdata()) == [0.1, 1.0, 4.0] and list(solid.get_ydata()) == [0.1, 0.35, 0.3]
    assert solid.get_marker() == "o" and dashed.get_linestyle() == "--" and list(dashed.get_ydata())[1] == 0.33
    assert list(ref.get_ydata()) == [0.37, 0.37]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "MOI" and ax.get_ylabel() == "share of cells"
    with pytest.raises(KeyError, match="Poisson: none"):
        pk.pl.table_lines(moi, value_label="share", title="MOI", dashed=["Poisson: none"])
    with pytest.raises(TypeError, match="index"):
        pk.pl.table_lines(moi.set_axis(["a", "b", "c"]), value_label="share", title="MOI")


def test_table_lines_error_bars_and_ticks_at_the_index():
    t = pd.DataFrame({"n": [10, 25, 100], "auc": [0.6, 0.7, 0.9], "auc_sd": [0.05, 0.03, 0.01]}).set_index("n")
    ax = pk.pl.table_lines(t[["auc"]], errors=t["auc_sd"], log_x=True, index_ticks=True, reference=0.5,
                           limits=(0.4, 1.0), value_label="AUC", title="AUC by size")
    bars = ax.containers[0]
    assert list(bars.lines[0].get_xdata()) == [10, 25, 100] and list(bars.lines[0].get_ydata()) == [0.6, 0.7, 0.9]
    # the bar segments run from value - sd to value + sd
    segments = bars.lines[2][0].get_segments()
    np.testing.assert_allclose([(s[0][1], s[1][1]) for s in segments], [(0.55, 0.65), (0.67, 0.73), (0.89, 0.91)])
    assert ax.get_xscale() == "log" and ax.get_ylim() == (0.4, 1.0)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "25", "100"]
    # a table of errors covers some columns; the others are plain lines
    two = t.assign(other=[0.5, 0.5, 0.5])[["auc", "other"]]
    ax = pk.pl.table_lines(two, errors=t[["auc_sd"]].set_axis(["auc"], axis=1), value_label="AUC", title="t")
    assert len(ax.containers) == 1
    assert [x.get_text() for x in ax.get_legend().get_texts()] == ["auc", "other"]
    with pytest.raises(ValueError, match="log_x=True needs a positive index"):
        pk.pl.table_lines(t.set_axis([0, 25, 100])[["auc"]], log_x=True, value_label="AUC", title="t")
    with pytest.raises(KeyError, match=r"error columns \['auc_se'\] not in the table"):
        pk.pl.table_lines(t[["auc"]], errors=t[["auc_sd"]].set_axis(["auc_se"], axis=1), value_label="AUC", title="t")
    with pytest.raises(ValueError, match="one-column table"):
        pk.pl.table_lines(two, errors=t["auc_sd"], value_label="AUC", title="t")
    with pytest.raises(ValueError, match="index"):
        pk.pl.table_lines(t[["auc"]], errors=t["auc_sd"].iloc[:2], value_label="AUC", title="t")
    plt.close("all")


def test_table_heatmap_symmetric_scale_and_grey_missing():
    m = pd.DataFrame([[-3.0, 1.0], [np.nan, 0.5]], index=pd.Index(["T1", "T2"], name="target"),
                     columns=pd.Index(["m1", "m2"], name="motif"))
    ax = pk.pl.table_heatmap(m, colorbar_label="deviation z", title="Motifs")
    data = ax.images[0].get_array()
    assert data[0, 0] == -3.0 and data[1, 1] == 0.5 and bool(data.mask[1, 0])
    assert ax.images[0].get_clim() == (-3.0, 3.0)
    assert ax.get_xlabel() == "motif" and ax.get_ylabel() == "target"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["m1", "m2"]
    assert ax.figure.axes[-1].get_ylabel() == "deviation z"  # the colour bar
    assert pk.pl.table_heatmap(m, colorbar_label="z", title="t", limit=5).images[0].get_clim() == (-5, 5)
    with pytest.raises(TypeError, match="not numeric"):
        pk.pl.table_heatmap(m.astype(str), colorbar_label="z", title="t")


def test_table_bars_row_colours_for_one_column():
    t = pd.DataFrame({"spearman": [0.8, 0.2]}, index=["IFNGR1", "CD86"])
    ax = pk.pl.table_bars(t, row_colors=["C3", "0.6"], value_label="Spearman r", title="agreement")
    assert ax.patches[0].get_facecolor() != ax.patches[1].get_facecolor()
    assert ax.get_legend() is None  # one column: nothing to tell apart
    with pytest.raises(ValueError, match="row_colors"):
        pk.pl.table_bars(_fpr(), row_colors=["C3", "0.6", "C0"], value_label="share", title="FPR")


def test_table_bars_legend_outside_sits_right_of_the_axes():
    ax = pk.pl.table_bars(_fpr(), value_label="share", title="FPR", horizontal=True, legend_loc="outside")
    ax.figure.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.x0 > ax.get_window_extent().x1


def test_table_bars_error_bars_from_a_long_table():
    # a long table (one row per group, value and SD columns) sorted, then drawn as one column with its errors
    long = pd.DataFrame({"cell_type": ["a", "b", "c"], "auc": [0.9, 0.6, 0.7], "auc_sd": [0.02, 0.05, np.nan]})
    wide = long.set_index("cell_type").sort_values("auc", ascending=False)
    # errors in another row order are matched by label
    ax = pk.pl.table_bars(wide[["auc"]], errors=long.set_index("cell_type")["auc_sd"], horizontal=True,
                          reference=0.5, limits=(0.4, 1.0), colors=["#2ca02c"], value_label="AUC",
                          title="Augur")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "c", "b"] and ax.yaxis_inverted()
    assert [p.get_width() for p in ax.patches] == pytest.approx([0.9, 0.7, 0.6])
    # error segments run from value - SD to value + SD at the bars' rows; the NaN SD (c) draws none
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    segments = bars[0].errorbar.lines[2][0].get_segments()
    assert [len(s) for s in segments] == [2, 0, 2]
    np.testing.assert_allclose([segments[0][:, 0], segments[2][:, 0]], [(0.88, 0.92), (0.55, 0.65)])
    np.testing.assert_allclose([segments[0][:, 1], segments[2][:, 1]], [(0, 0), (2, 2)])
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_xdata()) == [0.5, 0.5]
    assert ax.get_xlim() == (0.4, 1.0) and ax.get_xlabel() == "AUC" and ax.get_ylabel() == "cell_type"
    assert ax.get_title() == "Augur" and ax.get_legend() is None
    # a table of errors for some columns: the others draw no error bar
    ax = pk.pl.table_bars(_fpr(), errors=pd.DataFrame({"naive": [0.01, 0.02, 0.01]}, index=_fpr().index),
                          value_label="share", title="FPR")
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert bars[0].errorbar is None and bars[1].errorbar is not None
    with pytest.raises(ValueError, match=r"no error for \['b'\]"):
        pk.pl.table_bars(wide[["auc"]], errors=wide["auc_sd"].drop("b"), value_label="AUC", title="t")
    with pytest.raises(KeyError, match=r"error columns \['auc_sd'\] not in the table"):
        pk.pl.table_bars(wide[["auc"]], errors=wide[["auc_sd"]], value_label="AUC", title="t")
    with pytest.raises(ValueError, match=">= 0"):
        pk.pl.table_bars(wide[["auc"]], errors=-wide["auc_sd"], value_label="AUC", title="t")
    with pytest.raises(ValueError, match="one-column table"):
        pk.pl.table_bars(_fpr(), errors=wide["auc_sd"], value_label="share", title="t")
