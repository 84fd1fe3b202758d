"""scDrug-style subpopulation drug response: planted subclones, the bulk baseline, the cover."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def sim():
    return pk.data.simulate_tumour_subclones(n_lines=200, n_cells=500, seed=0)


@pytest.fixture(scope="module")
def fit(sim):
    return pk.tl.subpopulation_drug_response(sim["cells"], sim["ic50"], sim["expression"], cluster_key="subpopulation")


@pytest.fixture(scope="module")
def res(fit):
    return fit.table


def test_simulator_truth_shapes_and_seed():
    a = pk.data.simulate_tumour_subclones(n_lines=40, n_cells=100, seed=4)
    b = pk.data.simulate_tumour_subclones(n_lines=40, n_cells=100, seed=4)
    assert a["ic50"].shape == (40, 4) and a["expression"].shape == (40, 120) and a["cells"].shape == (100, 120)
    pd.testing.assert_frame_equal(a["ic50"], b["ic50"])
    np.testing.assert_array_equal(a["cells"].X, b["cells"].X)
    cells = a["cells"]
    assert (cells.obs["subpopulation"] == "B").sum() == 15  # minor_fraction 0.15 of 100
    assert set(cells.obs.loc[cells.obs["subpopulation"] == "B", "clone"]) == {"B"}
    truth = cells.uns["truth"]["sensitive"]
    assert truth["A"] == {"drug0": True, "drug1": False, "drug2": False, "drug3": False}
    assert truth["A_cycling"]["drug2"] and not truth["B"]["drug0"] and truth["B"]["drug1"]
    assert not any(row["drug3"] for row in truth.values())  # drug3 is null
    with pytest.raises(ValueError, match="n_marker"):
        pk.data.simulate_tumour_subclones(n_genes=20, n_marker=10)
    with pytest.raises(ValueError, match="minor_fraction"):
        pk.data.simulate_tumour_subclones(minor_fraction=0.0)


def test_table_layout(res, fit, sim):
    assert list(res.columns) == ["level", "cluster", "n_cells", "fraction", "drug", "score", "predicted_ln_ic50",
                                 "delta", "sensitive", "in_cover"]
    assert len(res) == (3 + 1) * 4  # three clusters and the bulk, four drugs
    assert res["sensitive"].dtype == bool and res["in_cover"].dtype == bool
    bulk = res[res["level"] == "bulk"]
    assert set(bulk["cluster"]) == {"bulk"} and (bulk["n_cells"] == 500).all() and np.allclose(bulk["fraction"], 1)
    clus = res[res["level"] == "cluster"].drop_duplicates("cluster")
    assert clus["n_cells"].sum() == 500 and np.isclose(clus["fraction"].sum(), 1)
    calib = fit.calibration
    # driven drugs: higher score (sensitivity genes up) goes with lower ln IC50 across lines
    assert (calib.loc[["drug0", "drug1", "drug2"], "pearson"] < -0.5).all(), calib
    assert abs(calib.loc["drug3", "pearson"]) < 0.3, calib
    np.testing.assert_allclose(res["delta"], res["predicted_ln_ic50"] - res["drug"].map(calib["median_ln_ic50"]))
    assert (res["sensitive"] == (res["delta"] < -0.5)).all()


def test_planted_sensitivities_recovered(res, sim):
    truth = pd.DataFrame(sim["cells"].uns["truth"]["sensitive"]).T
    called = res[res["level"] == "cluster"].pivot(index="cluster", columns="drug", values="sensitive")
    pd.testing.assert_frame_equal(called.loc[truth.index, truth.columns].astype(bool), truth.astype(bool),
                                  check_names=False)
    # the subpopulation planted most resistant (highest ln IC50) is predicted most resistant, and
    # the most sensitive one most sensitive, for every driven drug
    pred = res[res["level"] == "cluster"].pivot(index="cluster", columns="drug", values="predicted_ln_ic50")
    planted = pd.DataFrame(sim["cells"].uns["truth"]["ln_ic50"]).T
    for drug in ("drug0", "drug1", "drug2"):
        assert pred[drug].idxmax() == planted[drug].idxmax(), drug
        assert planted.loc[pred[drug].idxmin(), drug] == planted[drug].min(), drug


def test_minority_detected_bulk_misses_it_cover_includes_its_drug(res, fit, sim):
    minority = sim["cells"].uns["truth"]["minority"]
    row = res[(res["cluster"] == minority) & (res["drug"] == "drug0")].iloc[0]
    assert not row["sensitive"] and row["delta"] > 1  # resistant to drug0 ...
    bulk0 = res[(res["level"] == "bulk") & (res["drug"] == "drug0")].iloc[0]
    assert bulk0["sensitive"]  # ... which the whole-tumour call hides
    assert "drug1" not in fit.bulk_drugs
    assert fit.missed_by_bulk == [minority]
    assert fit.cover == ["drug0", "drug1"] and fit.uncovered == []
    assert res[(res["cluster"] == minority) & res["drug"].isin(fit.cover)]["sensitive"].any()


def test_deterministic_and_inputs_untouched(sim):
    cells = sim["cells"].copy()
    ic50, expr = sim["ic50"].copy(), sim["expression"].copy()
    a = pk.tl.subpopulation_drug_response(cells, ic50, expr, cluster_key="subpopulation")
    b = pk.tl.subpopulation_drug_response(cells, ic50, expr, cluster_key="subpopulation")
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.cover == b.cover
    pd.testing.assert_frame_equal(a.calibration, b.calibration)
    pd.testing.assert_frame_equal(ic50, sim["ic50"])
    pd.testing.assert_frame_equal(expr, sim["expression"])
    np.testing.assert_array_equal(cells.X, sim["cells"].X)
    assert list(cells.obs.columns) == list(sim["cells"].obs.columns) and not cells.obsm


def test_given_signatures_rank_method_and_small_clusters(sim):
    sig = pk.tl.drug_response_signatures(sim["ic50"], sim["expression"], n_genes=10)
    a = pk.tl.subpopulation_drug_response(sim["cells"], sim["ic50"], sim["expression"], cluster_key="subpopulation",
                                          signatures=sig)
    b = pk.tl.subpopulation_drug_response(sim["cells"], sim["ic50"], sim["expression"], cluster_key="subpopulation")
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.params["signatures_given"] and not b.params["signatures_given"]
    r = pk.tl.subpopulation_drug_response(sim["cells"], sim["ic50"], sim["expression"], cluster_key="subpopulation",
                                          method="rank")
    assert r.missed_by_bulk == ["B"] and "drug1" in r.cover
    s = pk.tl.subpopulation_drug_response(sim["cells"], sim["ic50"], sim["expression"], cluster_key="subpopulation",
                                          min_cells=100)
    assert s.too_small == ["B"] and "B" not in set(s.table["cluster"])
    # a resistant minority left out is a minority no drug set is chosen for
    assert s.cover == ["drug0"]


def test_errors(sim):
    cells, ic50, expr = sim["cells"], sim["ic50"], sim["expression"]
    with pytest.raises(KeyError, match="leiden"):
        pk.tl.subpopulation_drug_response(cells, ic50, expr, cluster_key="leiden")
    renamed = expr.set_axis([f"ENSG{i:05d}" for i in range(expr.shape[1])], axis=1)
    with pytest.raises(ValueError, match="no gene in common"):
        pk.tl.subpopulation_drug_response(cells, ic50, renamed, cluster_key="subpopulation")
    bad = cells.copy()
    bad.X[3, 5] = np.nan
    with pytest.raises(ValueError, match="adata.X has 1 NaN"):
        pk.tl.subpopulation_drug_response(bad, ic50, expr, cluster_key="subpopulation")
    bad_expr = expr.copy()
    bad_expr.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="expression has 1 NaN"):
        pk.tl.subpopulation_drug_response(cells, ic50, bad_expr, cluster_key="subpopulation")
    nan_obs = cells.copy()
    nan_obs.obs["cl"] = nan_obs.obs["subpopulation"].astype(object)
    nan_obs.obs.iloc[0, nan_obs.obs.columns.get_loc("cl")] = np.nan
    with pytest.raises(ValueError, match="missing"):
        pk.tl.subpopulation_drug_response(nan_obs, ic50, expr, cluster_key="cl")
    foreign = pd.DataFrame({"source": "drug0", "target": ["x1", "x2", "x3"], "weight": 1.0})
    with pytest.raises(ValueError, match="gene names match"):
        pk.tl.subpopulation_drug_response(cells, ic50, expr, cluster_key="subpopulation", signatures=foreign)
    unknown = pd.DataFrame({"source": "drugX", "target": ["g000", "g001", "g002"], "weight": 1.0})
    with pytest.raises(KeyError, match="drugX"):
        pk.tl.subpopulation_drug_response(cells, ic50, expr, cluster_key="subpopulation", signatures=unknown)
    reserved = cells.copy()
    reserved.obs["cl"] = "bulk"
    with pytest.raises(ValueError, match="reserved"):
        pk.tl.subpopulation_drug_response(reserved, ic50, expr, cluster_key="cl")
    with pytest.raises(ValueError, match="method"):
        pk.tl.subpopulation_drug_response(cells, ic50, expr, cluster_key="subpopulation", method="gsea")
