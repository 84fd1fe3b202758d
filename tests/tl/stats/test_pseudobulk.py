from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


def test_pseudobulk_sums(sim_counts):
    pb = pk.get.pseudobulk(sim_counts, sample_key="sample", cell_type_key="cell_type")
    assert pb.shape == (3 * 3 * 2, 60)
    assert (pb.obs["n_cells"] == 30).all()
    assert {"donor", "perturbation", "cell_type", "sample"} <= set(pb.obs.columns)
    assert pb.X.sum() == pytest.approx(sim_counts.layers["counts"].sum())
    one = sim_counts[(sim_counts.obs["sample"] == "ctrl_d0") & (sim_counts.obs["cell_type"] == "type1")]
    row = pb[(pb.obs["sample"] == "ctrl_d0") & (pb.obs["cell_type"] == "type1")]
    assert np.allclose(row.X.ravel(), np.asarray(one.layers["counts"].sum(0)).ravel())


def test_pseudobulk_min_cells_and_bad_counts(sim_counts):
    assert pk.get.pseudobulk(sim_counts, min_cells=31).n_obs == 0
    bad = sim_counts.copy()
    bad.layers["counts"] = bad.layers["counts"] * 0.5
    with pytest.raises(ValueError, match="not integers"):
        pk.get.pseudobulk(bad)
    with pytest.raises(KeyError, match="raw"):
        pk.get.pseudobulk(sim_counts, layer="raw")


def test_de_recovers_planted_genes(sim_counts):
    de = pk.tl.pseudobulk_de(sim_counts)
    assert {"cell_type", "perturbation", "gene", "base_mean", "log2fc", "lfc_se", "stat",
            "pvalue", "padj", "n_samples"} == set(de.columns)
    truth = sim_counts.uns["truth"]
    for ct in ("type0", "type1"):
        hits = set(de.query("cell_type == @ct and padj < 0.05")["gene"])
        planted = set(truth["de_genes"][ct])
        assert len(hits & planted) >= 0.8 * len(planted), ct
        assert len(hits - planted) <= 2, ct
    assert (de.query("cell_type == 'type2'")["padj"].dropna() > 0.05).all()
    # sign convention: log2fc = log2(stimulated / control)
    d0 = de.query("cell_type == 'type0'").set_index("gene")
    g = truth["de_genes"]["type0"]
    signs = np.sign(truth["log_fc"].loc[g, "type0"])
    assert (np.sign(d0.loc[g, "log2fc"]) == signs).mean() >= 0.9


def test_de_does_not_modify(sim_counts):
    before = sim_counts.copy()
    pk.tl.pseudobulk_de(sim_counts, split_by=None)
    assert (sim_counts.X != before.X).nnz == 0
    assert list(sim_counts.obs.columns) == list(before.obs.columns)


def test_de_bad_input(sim_counts):
    with pytest.raises(KeyError, match="batch"):
        pk.tl.pseudobulk_de(sim_counts, covariates=("batch",))
    with pytest.raises(ValueError, match="control label"):
        pk.tl.pseudobulk_de(sim_counts, control="untreated")
    mixed = sim_counts.copy()
    mixed.obs["sample"] = mixed.obs["donor"]
    with pytest.raises(ValueError, match="mix several"):
        pk.tl.pseudobulk_de(mixed)
    two = pk.data.simulate_perturbation(n_cell_types=1, n_donors=1, n_cells=20, n_genes=30, seed=0)
    with pytest.raises(ValueError, match="cannot fit design"):
        pk.tl.pseudobulk_de(two, split_by=None)
