"""scDR: the rank-based DRS by hand, and sensitive/resistant cell types on planted subclones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import perturbkit as pk


@pytest.fixture(scope="module")
def tumour():
    sim = pk.data.simulate_tumour_subclones(n_cells=400, seed=0)
    cells = sim["cells"]
    pk.tl.scdr_scores(cells, pk.tl.drug_response_signatures(sim["ic50"], sim["expression"]))
    return cells


def test_drs_by_hand_and_monotone_invariance():
    x = np.array([[5.0, 1.0, 3.0, 2.0, 4.0], [1.0, 5.0, 2.0, 4.0, 3.0]])
    cells = AnnData(x, obs=pd.DataFrame(index=["c1", "c2"]), var=pd.DataFrame(index=list("abcde")))
    sig = pd.DataFrame({"source": "d", "target": ["a", "b", "c"], "weight": [1.0, 1.0, -1.0]})
    pk.tl.scdr_scores(cells, sig, min_genes=1)
    # scaled ranks (rank - 1) / 4: c1 a=1, b=0, c=0.5 -> 0.5 - 0.5 = 0; c2 a=0, b=1, c=0.25 -> 0.25
    np.testing.assert_allclose(cells.obsm["scdr"]["d"], [0.0, 0.25])
    warped = cells.copy()
    warped.X = np.exp(warped.X) * 3 + 1  # monotone within each cell: same ranks, same DRS
    pk.tl.scdr_scores(warped, sig, min_genes=1)
    np.testing.assert_allclose(warped.obsm["scdr"]["d"], cells.obsm["scdr"]["d"])
    assert cells.uns["scdr"]["n_genes"] == {"d": 3}


def test_planted_cell_type_calls(tumour):
    tab = pk.tl.scdr_cell_types(tumour, cell_type_key="subpopulation")
    truth = tumour.uns["truth"]["sensitive"]
    for drug in ("drug0", "drug1", "drug2"):  # the drugs with a planted programme
        for ct in ("A", "A_cycling", "B"):
            call = tab.query("cell_type == @ct and drug == @drug")["call"].item()
            assert call == ("sensitive" if truth[ct][drug] else "resistant"), (ct, drug, call)
    b1 = tab.query("cell_type == 'B' and drug == 'drug1'").iloc[0]
    assert b1["auroc"] > 0.85 and b1["padj"] < 1e-10
    null = tab.query("drug == 'drug3'")
    assert ((null["auroc"] - 0.5).abs() < 0.2).all(), null  # the null drug separates nothing well
    assert set(tab.columns) >= {"pvalue", "padj", "call", "delta"}
    assert (tab["padj"] >= tab["pvalue"] - 1e-15).all()


def test_copy_and_bad_input(tumour):
    sig = pd.DataFrame({"source": "d", "target": ["g000", "g001", "g002"], "weight": [1.0, 1.0, -1.0]})
    out = pk.tl.scdr_scores(tumour, sig, copy=True, key_added="other")
    assert "other" in out.obsm and "other" not in tumour.obsm
    with pytest.raises(ValueError, match="no drug has"):
        pk.tl.scdr_scores(tumour, sig.assign(target="nope"))
    with pytest.raises(KeyError, match="scdr_scores"):
        pk.tl.scdr_cell_types(AnnData(tumour.X.copy(), obs=tumour.obs.copy()), cell_type_key="clone")
    with pytest.raises(KeyError, match="nope"):
        pk.tl.scdr_cell_types(tumour, cell_type_key="nope")
    with pytest.raises(ValueError, match="no 'clone' group"):
        pk.tl.scdr_cell_types(tumour, cell_type_key="clone", min_cells=10_000)
    with pytest.raises(ValueError, match="fdr"):
        pk.tl.scdr_cell_types(tumour, cell_type_key="clone", fdr=5)


def test_uncentred_rank_auroc_is_scdr(tumour):
    # signature_auroc(method="rank", center=False) scores exactly scDR's DRS
    from sklearn.metrics import roc_auc_score

    sim = pk.data.simulate_tumour_subclones(n_cells=400, seed=0)
    sig = pk.tl.drug_response_signatures(sim["ic50"], sim["expression"])
    tab = pk.tl.signature_auroc(tumour, sig, "drug1", label_key="clone", positive="B", method="rank", center=False)
    direct = roc_auc_score(tumour.obs["clone"] == "B", tumour.obsm["scdr"]["drug1"])
    # equal up to float summation order, which can break exact ties between cells
    assert tab.loc["signature", "auroc"] == pytest.approx(direct, abs=1e-3)
    assert tab.loc["signature", "auroc"] > tab.loc["random_set", "auroc"] + 0.3
