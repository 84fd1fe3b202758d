"""model_scores, subsystem_importance and potency_ranking draw what the tables say."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


def _scores():
    return pd.DataFrame({"model": ["net", "mean"] * 4, "seed": [0, 0, 1, 1] * 2, "drug": ["a"] * 4 + ["b"] * 4,
                         "pearson": [0.5, 0.0, 0.3, 0.0, 0.6, 0.0, 0.8, 0.0]})


def test_model_scores_bars_are_means_with_sd():
    ax = pk.pl.model_scores(_scores(), models=["mean", "net"])
    bars = ax.patches
    heights = [b.get_height() for b in bars]
    assert heights == pytest.approx([0.0, 0.0, 0.4, 0.7])  # mean bars for a, b; then net for a, b
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert ax.get_xlabel() == "drug" and ax.get_title()
    err = [c for c in ax.containers if hasattr(c, "errorbar") and c.errorbar is not None]
    seg = err[1].errorbar.lines[2][0].get_segments()[0]  # net, drug a: 0.4 +- SD(0.5, 0.3)
    assert seg[1][1] - seg[0][1] == pytest.approx(2 * np.std([0.5, 0.3], ddof=1))
    overall = pk.pl.model_scores(_scores(), group_key=None, metric_label="r")  # drugs averaged per seed
    assert [b.get_width() for b in overall.patches] == pytest.approx([0.55, 0.0])
    assert overall.get_xlabel() == "r" and [t.get_text() for t in overall.get_yticklabels()] == ["net", "mean"]
    plt.close("all")


def test_model_scores_bad_input():
    with pytest.raises(KeyError, match="'rmse'"):
        pk.pl.model_scores(_scores(), metric="rmse")
    with pytest.raises(KeyError, match="'ridge'"):
        pk.pl.model_scores(_scores(), models=["net", "ridge"])


def test_model_scores_warns_when_a_bar_is_nan():
    scores = pd.DataFrame({"model": ["net", "mean", "net", "mean"], "drug": ["a", "a", "b", "b"],
                           "pearson": [0.5, 0.1, np.nan, 0.2]})
    with pytest.warns(UserWarning, match=r"'pearson'.*net / b"):
        ax = pk.pl.model_scores(scores, replicate_key=None)
    assert np.isnan(ax.patches[1].get_height()) and ax.patches[3].get_height() == pytest.approx(0.2)
    # a pair with no row at all is a deliberate gap (a baseline defined for one group only): no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pk.pl.model_scores(scores.dropna(), replicate_key=None)
    plt.close("all")


def test_model_scores_one_bar_per_model_with_item_spread():
    # a benchmark table: one row per (item, method); each row is a replicate, the error bar the spread
    t = pd.DataFrame({"method": ["m1", "m1", "base", "base", "other"], "score": [1.0, 3.0, 0.0, 1.0, 9.0]})
    ax = pk.pl.model_scores(t, metric="score", model_key="method", group_key=None, replicate_key=None,
                            models=["base", "m1"], labels={"base": "baseline"}, baselines=("base",),
                            metric_label="score (units)", title="t")
    np.testing.assert_allclose([p.get_width() for p in ax.patches], [0.5, 2.0])  # 'other' not drawn
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["baseline", "m1"]  # unlabelled keep their name
    assert ax.patches[0].get_facecolor() != ax.patches[1].get_facecolor()  # the baseline is grey
    assert ax.get_xlabel() == "score (units)" and ax.get_ylabel() == "method" and ax.get_title() == "t"
    bars = next(c for c in ax.containers if getattr(c, "errorbar", None) is not None)
    seg = bars.errorbar.lines[2][0].get_segments()[1]  # m1: 2.0 +- SD(1, 3)
    assert seg[1][0] - seg[0][0] == pytest.approx(2 * np.std([1.0, 3.0], ddof=1))
    plt.close("all")


def test_model_scores_baselines_grey_in_groups_too():
    ax = pk.pl.model_scores(_scores(), models=["mean", "net"], baselines=["mean"], labels={"net": "network"})
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["mean", "network"]
    grey = ax.patches[0].get_facecolor()
    assert grey[0] == grey[1] == grey[2] and ax.patches[2].get_facecolor() != grey
    with pytest.raises(KeyError, match="baselines \\['ridge'\\]"):
        pk.pl.model_scores(_scores(), baselines=["ridge"])
    plt.close("all")


def test_subsystem_importance_ranks_predictive_terms():
    terms = pd.DataFrame({"seed": [0, 1] * 3, "term": ["A", "A", "B", "B", "C", "C"], "drug": "d",
                          "rlipp": [0.4, 0.6, 0.1, 0.1, 3.0, 1.0], "rho_term": [0.4, 0.4, 0.3, 0.3, 0.05, 0.1],
                          "has_X": [True, True, False, False, False, False]})
    ax = pk.pl.subsystem_importance(terms, drug="d", highlight="has_X", labels={"A": "term A"})
    assert [t.get_text() for t in ax.get_yticklabels()] == ["B", "term A"]  # C fails min_rho
    assert [b.get_width() for b in ax.patches] == pytest.approx([0.1, 0.5])
    assert ax.patches[1].get_facecolor() != ax.patches[0].get_facecolor()
    assert ax.get_xlabel() and ax.get_ylabel() and "X in subtree" in ax.get_title()
    with pytest.raises(KeyError, match="drug 'e'"):
        pk.pl.subsystem_importance(terms, drug="e")
    with pytest.raises(KeyError, match="has_Y"):
        pk.pl.subsystem_importance(terms, drug="d", highlight="has_Y")
    plt.close("all")


def test_potency_ranking_orders_and_marks():
    pot = pd.DataFrame({"tpod": [0.05, 0.5, 2.0, np.nan], "n_responsive": [60, 30, 21, 4]},
                       index=["c1", "c2", "c3", "c4"])
    ax = pk.pl.potency_ranking(pot, n_top=2, highlight=["c2"], highlight_label="MEK")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c2", "c1"]  # most potent on top
    assert [b.get_width() for b in ax.patches] == pytest.approx([0.5, 0.05])
    assert ax.patches[0].get_facecolor() != ax.patches[1].get_facecolor()
    assert ax.get_xscale() == "log" and "MEK" in ax.get_title() and ax.get_xlabel().endswith("log scale)")
    with pytest.raises(KeyError, match="'tpod'"):
        pk.pl.potency_ranking(pot.drop(columns="tpod"))
    plt.close("all")
