from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def _counts(seed=0, n=6, fold=3.0):
    """Type C expands `fold`-fold under treatment; A and B unchanged in absolute numbers."""
    rng = np.random.default_rng(seed)
    rows = []
    for g, mult in [("control", 1.0), ("treated", fold)]:
        for i in range(n):
            for ct, mu in [("A", 300), ("B", 200), ("C", 50 * mult), ("D", 100)]:
                rows.append({"sample": f"{g}{i}", "perturbation": g, "cell_type": ct,
                             "n_cells": int(rng.poisson(mu * rng.lognormal(0, 0.1)))})
    return pd.DataFrame(rows)


def test_planted_expansion_found():
    res = pk.tl.composition_test(_counts(), reference="A").set_index("cell_type")
    assert res.loc["C", "log2_ratio_change"] == pytest.approx(np.log2(3), abs=0.45)
    assert res.loc["C", "padj"] < 0.01
    assert (res.loc[["B", "D"], "padj"] > 0.01).all()
    assert res["dm_pvalue"].iloc[0] < 0.01
    # proportions of B and D drop although their numbers did not: why a reference is needed
    assert (res.loc[["B", "D"], "prop_perturbed"] < res.loc[["B", "D"], "prop_control"]).all()


def test_null_not_found():
    res = pk.tl.composition_test(_counts(seed=1, fold=1.0), reference="A")
    assert (res["padj"] > 0.05).all()
    assert res["dm_pvalue"].iloc[0] > 0.05


def test_auto_reference_and_haber(mirror):
    haber = pk.data.load("composition_haber2017_sccoda")
    res = pk.tl.composition_test(haber)
    assert set(res["perturbation"]) == {"H.poly.Day3", "H.poly.Day10", "Salmonella"}
    assert res["reference"].nunique() == 1
    sal = res[res["perturbation"] == "Salmonella"].set_index("cell_type")
    # Salmonella infection expands enterocytes (Haber 2017; scCODA's example)
    assert sal["log2_ratio_change"].idxmax() == "Enterocyte"
    assert sal["dm_pvalue"].iloc[0] < 0.001


def test_bad_input():
    c = _counts()
    with pytest.raises(KeyError, match="n_cells"):
        pk.tl.composition_test(c.drop(columns="n_cells"))
    with pytest.raises(ValueError, match="control label"):
        pk.tl.composition_test(c, control="untreated")
    with pytest.raises(ValueError, match="reference 'Z'"):
        pk.tl.composition_test(c, reference="Z")
    nan = c.copy()
    nan.loc[0, "n_cells"] = np.nan
    with pytest.raises(ValueError, match="missing"):
        pk.tl.composition_test(nan)
    mixed = c.copy()
    mixed.loc[0, "perturbation"] = "treated"
    with pytest.raises(ValueError, match="several"):
        pk.tl.composition_test(mixed)


def test_does_not_modify_and_deterministic():
    c = _counts()
    before = c.copy()
    a = pk.tl.composition_test(c)
    b = pk.tl.composition_test(c)
    pd.testing.assert_frame_equal(c, before)
    pd.testing.assert_frame_equal(a, b)


def test_cell_counts_from_anndata():
    a = pk.data.simulate_perturbation(n_cell_types=3, n_donors=2, n_cells=[5, 10, 20], seed=0)
    counts = pk.get.cell_counts(a, sample_key="sample", cell_type_key="cell_type")
    assert {"sample", "perturbation", "donor", "cell_type", "n_cells"} <= set(counts.columns)
    assert len(counts) == 4 * 3 and int(counts["n_cells"].sum()) == a.n_obs
    assert counts.set_index(["sample", "cell_type"]).loc[("ctrl_d0", "type2"), "n_cells"] == 20
    res = pk.tl.composition_test(counts)  # identical composition everywhere: nothing found
    assert (res["pvalue"] == 1.0).all() and (res["log2_ratio_change"] == 0).all()
    with pytest.raises(KeyError, match="batch"):
        pk.get.cell_counts(a, sample_key="batch")
