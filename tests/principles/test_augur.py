from __future__ import annotations

import pytest
import scanpy as sc

import perturbkit as pk


@pytest.fixture
def lognorm():
    a = pk.data.simulate_perturbation(n_cells=25, n_genes=60, seed=3)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def test_planted_ranking_and_null(lognorm):
    res = pk.tl.augur(lognorm, n_subsamples=8, n_trees=40, subsample_size=20, seed=0)
    assert list(res.columns) == ["cell_type", "perturbation", "auc", "auc_sd", "n_control",
                                 "n_perturbed", "cells_per_draw"]
    auc = res.set_index("cell_type")["auc"]
    assert auc["type0"] > 0.9
    assert auc["type0"] > auc["type1"] > auc["type2"]
    assert auc["type2"] < 0.65  # planted null stays near chance
    assert res.set_index("cell_type").loc["type2", "auc_sd"] > 0.02


def test_cell_number_bias_removed_by_subsampling():
    # the same response (shared genes) in a common and a rare cell type
    a = pk.data.simulate_perturbation(n_cell_types=2, n_cells=[200, 10], response=[0.4, 0.4], n_de=0,
                                      n_shared=12, n_donors=2, n_genes=100, seed=0)
    sc.pp.normalize_total(a)
    sc.pp.log1p(a)
    full = pk.tl.augur(a, subsample_size=None, n_subsamples=2, n_trees=50).set_index("cell_type")["auc"]
    sub = pk.tl.augur(a, subsample_size=20, n_subsamples=8, n_trees=50).set_index("cell_type")["auc"]
    assert full["type0"] > sub["type0"] + 0.1
    assert full["type0"] - full["type1"] > 0.1  # more cells, higher AUC, same response
    assert abs(sub["type0"] - sub["type1"]) < full["type0"] - full["type1"]


def test_seed_and_no_modification(lognorm):
    before = lognorm.copy()
    a = pk.tl.augur(lognorm, n_subsamples=2, n_trees=10, seed=1)
    b = pk.tl.augur(lognorm, n_subsamples=2, n_trees=10, seed=1)
    assert a.equals(b)
    assert list(lognorm.obs.columns) == list(before.obs.columns) and set(lognorm.uns) == set(before.uns)


def test_bad_input(lognorm):
    with pytest.raises(ValueError, match="subsample_size=80"):
        pk.tl.augur(lognorm, subsample_size=80, n_subsamples=1, n_trees=5)
    with pytest.raises(ValueError, match="control label"):
        pk.tl.augur(lognorm, control="ctrl", n_subsamples=1, n_trees=5)
    with pytest.raises(KeyError, match="celltype"):
        pk.tl.augur(lognorm, split_by="celltype", n_subsamples=1, n_trees=5)
