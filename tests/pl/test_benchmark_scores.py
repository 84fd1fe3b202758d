import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


def test_bars_are_means_with_sd_in_label_order():
    t = pd.DataFrame({"method": ["m1", "m1", "base", "base", "other"], "score": [1.0, 3.0, 0.0, 1.0, 9.0]})
    ax = pk.pl.benchmark_scores(t, "score", labels={"base": "baseline", "m1": "model"}, baselines=("base",),
                                xlabel="score (units)", title="t")
    widths = [p.get_width() for p in ax.patches]
    np.testing.assert_allclose(widths, [0.5, 2.0])  # 'other' is not in labels: dropped
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["baseline", "model"]
    assert ax.patches[0].get_facecolor() != ax.patches[1].get_facecolor()
    assert ax.get_xlabel() == "score (units)" and ax.get_ylabel() and ax.get_title() == "t"
    plt.close("all")


def test_bad_input():
    t = pd.DataFrame({"method": ["a"], "score": [1.0]})
    with pytest.raises(KeyError, match="'nope'"):
        pk.pl.benchmark_scores(t, "nope")
    with pytest.raises(KeyError, match=r"\['b'\]"):
        pk.pl.benchmark_scores(t, "score", labels={"b": "B"})
