"""Loewe and ZIP: hand-computed references on exact surfaces, fit sensitivity, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk
from perturbkit.dose import Curve
from perturbkit.tl._dose._synergy_curves import _loewe


def _ll(x, b, c, d, e):
    x = np.asarray(x, float)
    with np.errstate(over="ignore", divide="ignore"):
        return np.where(x > 0, c + (d - c) / (1 + (np.maximum(x, 1e-300) / e) ** b), c)


ROWS = np.array([0, 0.1, 0.3, 1, 3, 10.0])
COLS = np.array([0, 0.2, 0.6, 2, 6, 20.0])
F1 = dict(b=-1.5, c=0.0, d=100.0, e=1.0)
F2 = dict(b=-1.5, c=0.0, d=100.0, e=2.0)


def _table(fn):
    gr, gc = np.meshgrid(ROWS, COLS, indexing="ij")
    return pd.DataFrame({"block_id": "x", "conc_row": gr.ravel(), "conc_col": gc.ravel(),
                         "response": fn(gr, gc).ravel()})


def test_loewe_hand_computed_same_shape_curves():
    # two curves differing only in potency: Loewe additivity is the curve at x1/e1 + x2/e2
    f1, f2 = Curve("LL.4", F1), Curve("LL.4", F2)
    y = _loewe(0.5, 1.0, f1, f2)
    expected = 100 / (1 + (0.5 / 1 + 1.0 / 2) ** 1.5)  # 100 / (1 + 1) = 50
    assert y == pytest.approx(expected, abs=1e-8) and y == pytest.approx(50.0)
    # a drug combined with itself (same curve on both axes): f(x1 + x2)
    assert _loewe(1.0, 2.0, f1, f1) == pytest.approx(float(f1.predict(3.0)))


def test_loewe_zero_on_a_loewe_additive_surface():
    data = _table(lambda r, c: _ll(r / F1["e"] + c / F2["e"], -1.5, 0, 100, 1.0))
    tab = pk.tl.synergy(data, method="loewe")
    assert tab.loc[tab.n_drugs == 2, "synergy"].abs().max() < 0.5


def test_zip_zero_on_a_bliss_surface():
    def bliss(r, c):
        y1, y2 = _ll(r, **F1), _ll(c, **F2)
        return y1 + y2 - y1 * y2 / 100
    data = _table(bliss)
    tab = pk.tl.synergy(data, method="zip")
    assert tab.loc[tab.n_drugs == 2, "synergy"].abs().max() < 0.5
    assert (tab["fitted"] - tab["response"]).abs().max() < 0.5
    assert pk.tl.synergy_scores(data, methods=("bliss",))["bliss"].iloc[0] == pytest.approx(0, abs=1e-9)


def test_given_curve_fits_are_used():
    data = _table(lambda r, c: _ll(r / F1["e"] + c / F2["e"], -1.5, 0, 100, 1.0))
    fits = {"x": (Curve("LL.4", F1), Curve("LL.4", F2))}
    tab = pk.tl.synergy(data, method="loewe", curve_fits=fits)
    assert tab.loc[tab.n_drugs == 2, "synergy"].abs().max() < 1e-6


def test_planted_interactions_all_methods():
    blocks = pk.data.simulate_combination(seed=2, n_replicates=2)
    scores = pk.tl.synergy_scores(blocks, methods=("hsa", "bliss", "loewe", "zip")).set_index("block_id")
    truth = blocks.drop_duplicates("block_id").set_index("block_id").filter(like="true_").rename(columns=lambda c: c[5:])
    syn = truth.index[truth.interaction == "synergistic"][0]
    ant = truth.index[truth.interaction == "antagonistic"][0]
    for m in ("bliss", "loewe", "zip"):
        assert scores.loc[syn, m] > scores.loc[ant, m] + 15, m
        assert scores.loc[ant, m] < -5, m


def test_three_drug_blocks_nan_for_curve_methods():
    rows = []
    for a in (0, 1, 2):
        for b in (0, 1, 2):
            for c in (0, 1):
                rows.append({"block_id": "t", "conc_row": a, "conc_col": b, "conc_3": c,
                             "response": 10.0 * (a + b + c)})
    data = pd.concat([pd.DataFrame(rows), _table(lambda r, c: _ll(r, **F1)).assign(conc_3=0.0)])
    s = pk.tl.synergy_scores(data, methods=("bliss", "zip")).set_index("block_id")
    assert np.isnan(s.loc["t", "zip"]) and np.isfinite(s.loc["x", "zip"])
    with pytest.raises(ValueError, match="two-drug"):
        pk.tl.synergy(pd.DataFrame(rows), method="loewe")


def test_single_drug_curves_and_sensitivity_schema():
    from perturbkit.tl._dose._synergy import _mean_surface
    from perturbkit.tl._dose._synergy_curves import single_drug_curves

    blocks = pk.data.simulate_combination(("synergistic",), seed=0)
    truth = blocks.drop_duplicates("block_id").set_index("block_id").filter(like="true_").rename(columns=lambda c: c[5:]).loc["sim_1"]
    f_row, _ = single_drug_curves(_mean_surface(blocks, ("conc_row", "conc_col")))
    assert f_row.source == "LL.4" and f_row.params["e"] == pytest.approx(truth["ec50_row"], rel=0.35)
    # the same curve through the public table fitter (wells, not means): same potency
    singles = blocks[blocks["conc_col"] == 0].assign(drug="row", dose=blocks["conc_row"])
    table = pk.dose.fit_curves(singles, dose="dose", response="response", groupby=["block_id", "drug"])
    assert table["e"].iloc[0] == pytest.approx(f_row.params["e"], rel=0.05)
    sens = pk.tl.synergy_sensitivity(blocks)
    assert sens.shape == (3, 5) and sens["fit_ok"].all()
    assert sens["zip"].std() < 3  # a well-determined curve: the score barely moves


def test_inactive_single_drug_is_flat_and_said_so():
    """Planted: the column drug does nothing (0 % at every dose); no LL.4 fit converges, it is treated
    as flat, and both the warning and the ``curves`` column say so. Loewe's reference is then the
    row drug alone, so the surface (row drug only) scores ~0."""
    data = _table(lambda r, c: _ll(r, **F1) + 0 * c)
    with pytest.warns(UserWarning, match=r"loewe: no LL.4 fit .*\['x \(column\)'\]"):
        tab = pk.tl.synergy(data, method="loewe")
    assert (tab["curves"] == "LL.4; flat (LL.4 failed)").all()
    combo = tab[tab.n_drugs == 2]
    assert combo["synergy"].abs().max() < 0.5, combo["synergy"].describe()
    # with given curves nothing is refitted: no warning, curves recorded as given
    given = {"x": (Curve("LL.4", F1, "truth"), Curve("LL.4", F2, "truth"))}
    assert (pk.tl.synergy(data, method="zip", curve_fits=given)["curves"] == "truth; truth").all()
