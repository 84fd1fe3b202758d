"""pk.tl.dose_response / dose_potency / gene_set_scores on the single-cell simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk


@pytest.fixture(scope="module")
def pseudobulk():
    sim = pk.data.simulate_dose_response(n_genes=40, n_response_genes=10, n_cells=80, effect_size=2.0,
                                         resistant_fraction=0.0, doses=(0, 0.01, 0.1, 1, 10, 100, 1000), seed=0)
    pb = pk.get.pseudobulk(sim, sample_key="well", cell_type_key="cell_type")
    sc.pp.normalize_total(pb, target_sum=1e4)
    sc.pp.log1p(pb)
    return sim, pb[pb.obs["cell_type"] == "type1"].copy()


def test_table_schema_and_input_untouched(pseudobulk):
    sim, pb = pseudobulk
    before = pb.copy()
    res = pk.tl.dose_response(pb)
    assert len(res) == pb.n_vars  # one perturbation x 40 genes
    for col, kind in {"converged": "b", "status": "i", "bmd": "f", "bmdl": "f", "padj": "f",
                      "responsive": "b", "direction": "i"}.items():
        assert res[col].dtype.kind == kind, col
    assert (res.loc[res["converged"], "bmdl"] <= res.loc[res["converged"], "bmd"]).all()
    np.testing.assert_array_equal(before.X, pb.X)
    assert list(before.obs.columns) == list(pb.obs.columns)


def test_planted_response_genes_are_found(pseudobulk):
    sim, pb = pseudobulk
    res = pk.tl.dose_response(pb).set_index("feature")
    planted = set(sim.uns["truth"]["response_genes"])
    called = set(res.index[res["responsive"]])
    assert len(called & planted) >= 0.7 * len(planted)
    assert len(called - planted) <= 2
    # transcriptional ED50 of the planted genes sits near the planted EC50 (1 uM, one decade)
    ed50 = res.loc[sorted(called & planted), "ed50"]
    assert 0.1 < float(np.median(ed50)) < 10


def test_bad_input(pseudobulk):
    _, pb = pseudobulk
    with pytest.raises(ValueError, match="control"):
        pk.tl.dose_response(pb, control="DMSO")
    with pytest.raises(KeyError, match="no column"):
        pk.tl.dose_response(pb, dose_key="concentration")
    bad = pb.copy()
    bad.obs["dose"] = -bad.obs["dose"].astype(float)
    with pytest.raises(ValueError, match="negative"):
        pk.tl.dose_response(bad)


def test_gene_set_scores_and_potency(pseudobulk):
    sim, pb = pseudobulk
    sets = pd.DataFrame({"source": ["resp"] * 10 + ["other"] * 10,
                         "target": sim.uns["truth"]["response_genes"][:10]
                         + [g for g in sim.var_names if g not in sim.uns["truth"]["response_genes"]][:10]})
    out = pk.tl.gene_set_scores(pb, sets, copy=True)
    assert "gene_set_scores" not in pb.obsm
    scores = out.obsm["gene_set_scores"]
    assert list(scores.columns) == ["other", "resp"] and scores.shape == (pb.n_obs, 2)
    res = pk.tl.dose_response(out, obsm_key="gene_set_scores")
    assert set(res["feature"]) == {"other", "resp"}
    table = pk.tl.dose_response(pb)
    pot = pk.tl.dose_potency(table, nth_gene=3)
    assert pot.loc["drugA", "n_responsive"] == int(table["responsive"].sum())
    by_set = pk.tl.dose_potency(table, gene_sets=sets)
    assert set(by_set["gene_set"]) == {"resp", "other"}
    row = by_set.set_index("gene_set").loc["resp"]
    assert row["n_responsive"] >= 5 and row["enrichment_pvalue"] < 0.01


def test_gene_set_scores_names_a_gene_with_nan_control(pseudobulk):
    # issue #12: a NaN control value used to drop the gene from its set silently
    sim, pb = pseudobulk
    genes = sim.uns["truth"]["response_genes"][:6]
    sets = pd.DataFrame({"source": "resp", "target": genes})
    bad = pb.copy()
    bad.X = np.asarray(bad.X, float).copy()
    ctrl = np.flatnonzero((bad.obs["perturbation"].astype(str) == "control").to_numpy())[0]
    bad.X[ctrl, bad.var_names.get_loc(genes[2])] = np.nan
    with pytest.raises(ValueError, match=genes[2]):
        pk.tl.gene_set_scores(bad, sets)
    # a NaN in a gene outside every set leaves the scores unchanged
    other = [g for g in pb.var_names if g not in genes][0]
    ok = pb.copy()
    ok.X = np.asarray(ok.X, float).copy()
    ok.X[ctrl, ok.var_names.get_loc(other)] = np.nan
    pk.tl.gene_set_scores(ok, sets, min_size=3)
    pk.tl.gene_set_scores(pb, sets, min_size=3)
    np.testing.assert_allclose(ok.obsm["gene_set_scores"], pb.obsm["gene_set_scores"])
