"""pk.pl.boxplot, pk.pl.histogram and pk.pl.strip draw the numbers of their table, labelled."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


def test_boxplot_medians_and_order():
    t = pd.DataFrame({"sample": list("aaabbbccc"), "umis": [1, 2, 3, 10, 20, 30, 100, 200, 300.0]})
    ax = pk.pl.boxplot(t, "umis", group_key="sample", order=["c", "a"], log=True, reference=1.0,
                       ylabel="UMIs per cell (log scale)", title="depth")
    medians = [float(line.get_ydata()[0]) for line in ax.lines if line.get_label() == "median"]
    assert medians == [200.0, 2.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["c", "a"]
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("sample", "UMIs per cell (log scale)", "depth")
    with pytest.raises(KeyError, match=r"groups \['z'\] not in column 'sample'"):
        pk.pl.boxplot(t, "umis", group_key="sample", order=["z"])
    with pytest.raises(KeyError, match="umi"):
        pk.pl.boxplot(t, "umi", group_key="sample")
    with pytest.raises(ValueError, match="positive 'umis'"):
        pk.pl.boxplot(t.assign(umis=t["umis"] - 5), "umis", group_key="sample", log=True)
    with pytest.raises(ValueError, match="no finite"):
        pk.pl.boxplot(t.assign(umis=np.where(t["sample"] == "b", np.nan, t["umis"])), "umis", group_key="sample")
    plt.close("all")


def _medians(ax) -> list[float]:
    return [float(line.get_ydata()[0]) for line in ax.lines if line.get_label() == "median"]


def test_boxplot_hue_puts_one_box_per_group_and_level_side_by_side():
    t = pd.DataFrame({"block": list("xxxxyyyy"), "method": ["hsa", "hsa", "bliss", "bliss"] * 2,
                      "v": [1.0, 3.0, 10.0, 30.0, 5.0, 7.0, np.nan, np.nan]})
    ax = pk.pl.boxplot(t, "v", group_key="block", hue="method", hue_order=["hsa", "bliss"],
                       hue_labels={"hsa": "HSA"}, showfliers=False, rotation=20, reference=0.0)
    # level by level, group by group; (y, bliss) has no finite value: a gap, not an error
    assert _medians(ax) == [2.0, 6.0, 20.0]
    centres = [float(np.mean(line.get_xdata())) for line in ax.lines if line.get_label() == "median"]
    assert centres == pytest.approx([0.8, 1.8, 1.2])  # hsa left of each tick, bliss right
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]
    assert ax.get_xticklabels()[0].get_rotation() == 20
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["HSA", "bliss"]
    assert ax.get_legend().get_title().get_text() == "method"
    with pytest.raises(KeyError, match=r"groups \['zip'\] not in column 'method'"):
        pk.pl.boxplot(t, "v", group_key="block", hue="method", hue_order=["zip"])
    with pytest.raises(KeyError, match="methd"):
        pk.pl.boxplot(t, "v", group_key="block", hue="methd")
    plt.close("all")


def test_histogram_counts_clip_and_hue():
    t = pd.DataFrame({"z": [-5.0, -0.9, 0.1, 0.6, 0.7, 3.0], "ok": [False, False, False, True, True, True]})
    ax = pk.pl.histogram(t, "z", bins=2, clip=(-1, 1), threshold=0.5, xlabel="Z factor (clipped)", ylabel="plates")
    assert [int(p.get_height()) for p in ax.patches] == [2, 4]  # -5 counted in the lowest bin, 3 in the highest
    assert [float(x) for x in ax.lines[0].get_xdata()] == [0.5, 0.5]
    assert ax.get_xlabel() == "Z factor (clipped)" and ax.get_ylabel() == "plates"
    ax = pk.pl.histogram(t, "z", hue="ok", hue_labels={True: "passed"}, bins=2, clip=(-1, 1))
    heights = [int(p.get_height()) for p in ax.patches]
    assert heights == [2, 1, 0, 3]  # False: 2 low, 1 high; True: 0 low, 3 high
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["False", "passed"]
    with pytest.raises(ValueError, match="no finite"):
        pk.pl.histogram(t.assign(z=np.nan), "z")
    with pytest.raises(KeyError, match="grp"):
        pk.pl.histogram(t, "z", hue="grp")
    plt.close("all")


def test_strip_points_and_reference():
    t = pd.DataFrame({"statistic": ["V", "U", "U", "V"], "edistance": [1.5, 0.9, 1.1, 1.6]})
    ax = pk.pl.strip(t, "edistance", group_key="statistic", reference=1.0, reference_label="all cells")
    xs = [sorted(c.get_offsets()[:, 0].tolist()) for c in ax.collections]
    assert xs == [[0.9, 1.1], [1.5, 1.6]]
    ys = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections])
    assert np.all(np.abs(ys - np.repeat([0, 1], 2)) <= 0.15)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["all cells"]
    again = pk.pl.strip(t, "edistance", group_key="statistic")
    assert np.array_equal(again.collections[0].get_offsets(), ax.collections[0].get_offsets())  # same seed
    plt.close("all")
