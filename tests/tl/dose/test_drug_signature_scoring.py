"""DREEP/Beyondcell-style drug-response signatures and cell scoring, on a planted programme."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def sim():
    return pk.data.simulate_drug_signatures(n_lines=200, n_cells=300, seed=0)


@pytest.fixture(scope="module")
def sig(sim):
    return pk.tl.drug_response_signatures(sim["ic50"], sim["expression"], n_genes=10)


def test_simulator_shapes_truth_and_seed():
    a = pk.data.simulate_drug_signatures(n_lines=50, n_cells=40, n_drugs=3, missing=0.1, seed=3)
    b = pk.data.simulate_drug_signatures(n_lines=50, n_cells=40, n_drugs=3, missing=0.1, seed=3)
    assert a["ic50"].shape == (50, 3) and a["expression"].shape == (50, 100) and a["cells"].shape == (40, 100)
    assert a["ic50"].isna().to_numpy().any()
    pd.testing.assert_frame_equal(a["ic50"], b["ic50"])
    assert a["cells"].uns["truth"]["driven_drug"] == "drug0"
    assert (a["cells"].obs["sensitive"] == ~a["cells"].obs["resistant"]).all()
    with pytest.raises(ValueError, match="n_drugs"):
        pk.data.simulate_drug_signatures(n_drugs=0)


def test_signatures_recover_planted_programme(sim, sig):
    assert {"source", "target", "weight", "direction", "correlation", "n_lines"} <= set(sig.columns)
    assert sig.groupby("source").size().eq(20).all()
    markers = set(sim["cells"].uns["truth"]["markers"])
    resistant = set(sig.query("source == 'drug0' and direction == 'resistant'")["target"])
    # at least 8 of the 10 planted resistance genes are the drug's top resistance genes
    assert len(resistant & markers) >= 8
    assert sig.query("source == 'drug0' and direction == 'resistant'")["correlation"].max() < -0.4
    # null drugs: no gene correlates strongly with their (noise) IC50
    assert sig.query("source != 'drug0'")["correlation"].abs().max() < 0.3


def test_sensitive_cells_score_higher_than_baselines(sim, sig):
    cells = sim["cells"]
    for method in ("ulm", "rank"):
        tab = pk.tl.signature_auroc(cells, sig, "drug0", label_key="sensitive", method=method, n_random=10, seed=0)
        assert list(tab.index) == ["signature", "single_gene", "random_set"]
        assert tab.loc["signature", "auroc"] > 0.7, tab
        assert tab.loc["signature", "auroc"] > tab.loc["random_set", "auroc"] + 0.15, tab
        assert abs(tab.loc["random_set", "auroc"] - 0.5) < 0.1, tab


def test_score_cells_keys_copy_and_determinism(sim, sig):
    cells = sim["cells"]
    x_before = np.asarray(cells.X).copy()
    obs_before = cells.obs.copy()
    sig_before = sig.copy()
    out = pk.tl.score_cells(cells, sig, copy=True)
    assert "drug_score" not in cells.obsm and "drug_score" not in cells.uns
    np.testing.assert_array_equal(np.asarray(cells.X), x_before)
    pd.testing.assert_frame_equal(cells.obs, obs_before)
    pd.testing.assert_frame_equal(sig, sig_before)
    scores = out.obsm["drug_score"]
    assert list(scores.columns) == ["drug0", "drug1", "drug2", "drug3"] and scores.shape == (cells.n_obs, 4)
    assert scores.dtypes.eq(np.float64).all()
    assert out.uns["drug_score"]["params"]["method"] == "ulm"
    again = pk.tl.score_cells(cells, sig, copy=True).obsm["drug_score"]
    pd.testing.assert_frame_equal(scores, again)
    # sign convention: positive = predicted sensitive
    assert scores.loc[cells.obs["sensitive"].to_numpy(), "drug0"].mean() > 0
    t1 = pk.tl.signature_auroc(cells, sig, "drug0", label_key="sensitive", n_random=5, seed=1)
    t2 = pk.tl.signature_auroc(cells, sig, "drug0", label_key="sensitive", n_random=5, seed=1)
    pd.testing.assert_frame_equal(t1, t2)
    rank = pk.tl.score_cells(cells, sig, method="rank", copy=True).obsm["drug_score"]
    assert rank.abs().to_numpy().max() <= 1.0


def test_signatures_skip_missing_ic50_and_do_not_modify_inputs():
    s = pk.data.simulate_drug_signatures(n_lines=120, n_cells=20, n_drugs=2, missing=0.2, seed=1)
    ic50, expr = s["ic50"].copy(), s["expression"].copy()
    sig = pk.tl.drug_response_signatures(s["ic50"], s["expression"], n_genes=5)
    pd.testing.assert_frame_equal(ic50, s["ic50"])
    pd.testing.assert_frame_equal(expr, s["expression"])
    assert (sig["n_lines"] < 120).all()


def test_bad_input(sim, sig):
    ic50, expr, cells = sim["ic50"], sim["expression"], sim["cells"]
    with pytest.raises(KeyError, match="nope"):
        pk.tl.drug_response_signatures(ic50, expr, drugs=["nope"])
    bad = expr.copy()
    bad.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.drug_response_signatures(ic50, bad)
    with pytest.raises(ValueError, match="cell lines"):
        pk.tl.drug_response_signatures(ic50, expr.set_axis([f"x{i}" for i in range(len(expr))]))
    with pytest.raises(ValueError, match="n_genes"):
        pk.tl.drug_response_signatures(ic50, expr, n_genes=80)
    with pytest.raises(ValueError, match="gene names"):
        pk.tl.score_cells(cells, sig.assign(target="ENSG0"), copy=True)
    with pytest.raises(KeyError, match="target"):
        pk.tl.score_cells(cells, sig.drop(columns="target"), copy=True)
    with pytest.raises(ValueError, match="method"):
        pk.tl.score_cells(cells, sig, method="gsva", copy=True)
    nan_cells = cells.copy()
    nan_cells.X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.score_cells(nan_cells, sig, copy=True)
    with pytest.raises(KeyError, match="missing_label"):
        pk.tl.signature_auroc(cells, sig, "drug0", label_key="missing_label")
    with pytest.raises(KeyError, match="drug9"):
        pk.tl.signature_auroc(cells, sig, "drug9", label_key="sensitive")
