"""The spatial chapter's recurring figures as pk.pl functions: labelled axes, the numbers
drawn are the tables', clear errors naming the producer or the missing value."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import scanpy as sc  # noqa: E402

import perturbkit as pk  # noqa: E402


@pytest.fixture(scope="module")
def tissue():
    return pk.data.simulate_tissue(600, seed=0)


def _labelled(ax):
    return bool(ax.get_xlabel() and ax.get_ylabel() and ax.get_title())


def test_co_occurrence_and_ripley(tissue):
    co = pk.tl.co_occurrence(tissue, cell_type_key="niche", distances=np.linspace(10, 200, 5))
    ax = pk.pl.co_occurrence(co, "tumor", groups=["tumor", "immune"])
    assert _labelled(ax) and len(ax.lines) == 3  # two groups and the reference line at 1
    d = co[(co["group_b"] == "tumor") & (co["group_a"] == "immune")]
    assert np.allclose(ax.lines[1].get_ydata(), d["ratio"])
    with pytest.raises(KeyError, match="anchor 'nope'"):
        pk.pl.co_occurrence(co, "nope")
    with pytest.raises(KeyError, match="pk.tl.co_occurrence"):
        pk.pl.co_occurrence(co.drop(columns="ratio"), "tumor")
    rip = pk.tl.ripley(tissue, cell_type_key="niche", max_dist=100.0, n_simulations=5)
    ax = pk.pl.ripley(rip, groups=["stroma"], dashed=["stroma"])
    assert _labelled(ax) and ax.lines[0].get_linestyle() == "--"
    r = rip[rip["group"] == "stroma"]
    assert np.allclose(ax.lines[0].get_ydata(), r["L"] - r["L_random"])
    with pytest.raises(KeyError, match="groups not in the table"):
        pk.pl.ripley(rip, groups=["nope"])
    plt.close("all")


def test_morans_i(tissue):
    ad = tissue.copy()
    sc.pp.normalize_total(ad)
    sc.pp.log1p(ad)
    pk.pp.spatial_neighbors(ad)
    moran = pk.tl.spatial_autocorr(ad, n_perms=0)
    within = pk.tl.spatial_autocorr(ad, within="cell_type", n_perms=0)
    ax = pk.pl.morans_i(moran, within, n_genes=4)
    assert _labelled(ax) and len(ax.patches) == 8
    heights = sorted(p.get_width() for p in ax.patches[:4])
    assert np.allclose(heights, sorted(moran["I"].head(4)))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(moran["gene"].head(4))
    with pytest.raises(KeyError, match="pk.tl.spatial_autocorr"):
        pk.pl.morans_i(moran.drop(columns="I"))
    plt.close("all")


def test_clone_composition_and_outlines():
    tissue = pk.data.simulate_tissue(1200, seed=0)
    res = pk.tl.clone_neighbourhood(tissue, control="NT", exclude_types=["Tumor"])
    ax = pk.pl.clone_composition(res, order=["SOCS1", "JAK1"])
    assert _labelled(ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["NT", "SOCS1", "JAK1"]
    # each bar stack sums to 1 (fractions of the neighbourhood)
    widths = pd.DataFrame([(round(p.get_y(), 3), p.get_width()) for p in ax.patches]).groupby(0)[1].sum()
    assert np.allclose(widths, 1)
    with pytest.raises(KeyError, match="perturbations not in the result"):
        pk.pl.clone_composition(res, order=["BRCA1"])
    ax = pk.pl.spatial_scatter(tissue, "cell_type")
    ax = pk.pl.clone_outlines(tissue.uns["truth"]["clones"], ax=ax)
    assert len(ax.patches) == len(tissue.uns["truth"]["clones"])
    assert {t.get_text() for t in ax.texts} == set(tissue.uns["truth"]["clones"]["perturbation"])
    with pytest.raises(KeyError, match="radius_um"):
        pk.pl.clone_outlines(tissue.uns["truth"]["clones"].drop(columns="radius_um"))
    plt.close("all")


def test_differential_lr_and_score_agreement():
    tab = pd.DataFrame({"source": ["B", "T", "NK"], "target": ["T", "B", "B"], "ligand": ["L1", "L2", "L3"],
                        "receptor": ["R1", "R2", "R3"], "delta": [0.5, 0.2, 0.1], "status": ["gained", "up", "up"],
                        "delta_d1": [0.4, 0.1, 0.0], "delta_d2": [0.6, 0.3, 0.2]})
    ax = pk.pl.differential_lr(tab, n=2)
    assert _labelled(ax) and len(ax.patches) == 2
    assert sorted(p.get_width() for p in ax.patches) == [0.2, 0.5]
    assert ax.get_yticklabels()[-1].get_text() == "B → T: L1–R1"  # the top interaction drawn on top
    with pytest.raises(KeyError, match="pk.tl.differential_lr"):
        pk.pl.differential_lr(tab.drop(columns="status"))
    lr = pd.DataFrame({"lr_means": [0.1, 0.5, 1.0, 0.2], "lr_probs": [1e-3, 1e-2, 5e-2, np.nan],
                       "perturbation": ["a", "a", "b", "b"]})
    ax = pk.pl.lr_score_agreement(lr, groupby="perturbation")
    assert _labelled(ax) and ax.get_yscale() == "log"
    assert sum(len(c.get_offsets()) for c in ax.collections) == 3  # the NaN probability left out
    with pytest.raises(KeyError, match="condition"):
        pk.pl.lr_score_agreement(lr, groupby="condition")
    plt.close("all")


def test_misty_gain_and_importances():
    m = pd.DataFrame({"target": ["A", "B", "A"], "intra_group": ["T", "T", "U"], "intra_R2": [0.5, 0.2, 0.1],
                      "gain_R2": [0.1, 0.3, 0.0]})
    ax = pk.pl.misty_gain(m, targets=[("B", "T"), ("A", "U")])
    assert _labelled(ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A (U)", "B (T)"]  # first target on top
    # stacked: the gain bar starts where the intra bar ends
    gain_bars = ax.patches[2:]
    assert np.allclose([p.get_x() for p in gain_bars], [0.1, 0.2]) and np.allclose([p.get_width() for p in gain_bars], [0.0, 0.3])
    with pytest.raises(KeyError, match="not in metrics"):
        pk.pl.misty_gain(m, targets=[("A", "V")])
    imp = pd.DataFrame({"target": ["A"] * 3, "intra_group": ["T"] * 3, "predictor": ["B", "C", "D"],
                        "view": ["juxta", "para", "intra"], "importances": [0.4, 0.1, 0.9]})
    ax = pk.pl.misty_importances(imp, "A", group="T")
    assert _labelled(ax) and len(ax.patches) == 2  # the intra view left out
    assert [t.get_text() for t in ax.get_yticklabels()] == ["C (para)", "B (juxta)"]
    with pytest.raises(KeyError, match="no importances for target 'Z'"):
        pk.pl.misty_importances(imp, "Z")
    plt.close("all")


def test_intercellular_coefficients():
    res = pd.DataFrame({"group": ["Tumor"] * 3, "target": ["CD274"] * 3, "predictor": ["CD3E", "CD3E", "EPCAM"],
                        "scope": ["inter", "intra", "intra"], "coef": [0.8, 0.1, -0.2]})
    ax = pk.pl.intercellular_coefficients(res, [("Tumor", "CD274")], predictors=["CD3E", "EPCAM"])
    assert _labelled(ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["CD3E · inter", "CD3E · intra", "EPCAM · intra"]
    assert np.allclose(ax.images[0].get_array(), [[0.8, 0.1, -0.2]])
    with pytest.raises(KeyError, match="T cell"):
        pk.pl.intercellular_coefficients(res, [("T cell", "NR4A1")])
    plt.close("all")


def test_grn_precision_recall():
    e = pd.DataFrame({"regulator": ["T1", "T1", "T2", "T2"], "target": ["A", "B", "A", "B"],
                      "score": [0.9, 0.1, 0.2, 0.8], "r": [-0.9, 0.5, 0.4, 0.1]})
    truth = pd.DataFrame({"tf": ["T1", "T2"], "target": ["A", "B"]})
    ax = pk.pl.grn_precision_recall({"toy": e}, truth)
    assert _labelled(ax) and len(ax.lines) == 2
    # the score ranks both planted edges first: recall 1 is reached at precision 1; |r| is worse
    rec, prec = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    assert prec[np.isclose(rec, 1)].max() == 1.0
    rec_r, prec_r = ax.lines[1].get_xdata(), ax.lines[1].get_ydata()
    assert prec_r[np.isclose(rec_r, 1)].max() < 1.0
    with pytest.raises(KeyError, match="'toy' lacks columns"):
        pk.pl.grn_precision_recall({"toy": e.drop(columns="r")}, truth)
    with pytest.raises(KeyError, match="truth needs"):
        pk.pl.grn_precision_recall({"toy": e}, truth.rename(columns={"tf": "regulator"}))
    plt.close("all")
