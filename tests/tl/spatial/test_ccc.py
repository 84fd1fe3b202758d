"""LIANA+ scores and differential interactions: planted sender/receiver, errors, Kang IFN-beta."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk


@pytest.fixture(scope="module")
def tissue(make_tissue):
    return make_tissue(600, seed=0)


def test_lr_scores_planted_pair(tissue, pairs):
    before = tissue.copy()
    lr = pk.tl.lr_scores(tissue, cell_type_key="cell_type", resource=pairs, n_perms=20, seed=0)
    assert {"source", "target", "ligand", "receptor", "lr_means", "magnitude_rank", "lr_probs"} <= set(lr.columns)
    top = lr.sort_values("magnitude_rank").iloc[0]
    assert (top["source"], top["target"], top["ligand"], top["receptor"]) == ("Fibroblast", "T cell", "CXCL12", "CXCR4")
    # adata untouched
    assert set(tissue.uns) == set(before.uns)
    np.testing.assert_array_equal(tissue.X, before.X)
    again = pk.tl.lr_scores(tissue, cell_type_key="cell_type", resource=pairs, n_perms=20, seed=0)
    pd.testing.assert_frame_equal(lr, again)


def test_lr_scores_split_by(tissue, pairs):
    lr = pk.tl.lr_scores(tissue, cell_type_key="cell_type", resource=pairs, split_by="niche", n_perms=10)
    assert set(lr["niche"]) == {"stroma", "tumor", "immune"}


def test_bad_inputs(tissue, pairs):
    with pytest.raises(KeyError, match="celltype"):
        pk.tl.lr_scores(tissue, cell_type_key="celltype", resource=pairs)
    mouse = pd.DataFrame({"ligand": ["Cxcl12", "Ccl19"], "receptor": ["Cxcr4", "Ccr7"]})
    with pytest.raises(ValueError, match="none of the 2 ligand-receptor pairs"):
        pk.tl.lr_scores(tissue, cell_type_key="cell_type", resource=mouse)
    with pytest.raises(ValueError, match="'ligand' and 'receptor'"):
        pk.tl.lr_scores(tissue, cell_type_key="cell_type", resource=pd.DataFrame({"source": ["A"]}))
    with pytest.raises(ValueError, match="control 'ctrl' not found"):
        pk.tl.differential_lr(tissue, groupby="niche", control="ctrl", resource=pairs)
    with pytest.raises(ValueError, match="several non-control levels"):
        pk.tl.differential_lr(tissue, groupby="niche", control="stroma", resource=pairs)


def test_differential_planted_induction(pairs):
    ad = pk.data.simulate_tissue(600, seed=2)
    rng = np.random.default_rng(0)
    ad.obs["condition"] = np.where(rng.random(ad.n_obs) < 0.5, "stimulated", "control")
    ad.obs["donor"] = np.where(rng.random(ad.n_obs) < 0.5, "d1", "d2")
    stim = (ad.obs["condition"] == "stimulated").to_numpy()
    ad.X[stim, ad.var_names.get_loc("CCL19")] *= 5  # the stimulus induces CCL19 wherever it is made
    sc.pp.normalize_total(ad)
    sc.pp.log1p(ad)
    d = pk.tl.differential_lr(ad, groupby="condition", sample_key="donor", resource=pairs, n_perms=10)
    assert {"delta", "status", "delta_d1", "delta_d2", "n_consistent"} <= set(d.columns)
    # the five largest changes are all CCL19 interactions, up in both donors
    assert (d.head(5)["ligand"] == "CCL19").all()
    assert (d.head(5)["n_consistent"] == 2).all()
    assert d.loc[d["ligand"] == "CXCL12", "delta"].abs().max() < d["delta"].iloc[0] / 3


@pytest.fixture(scope="module")
def kang(mirror):
    ad = pk.data.load("kang2018_ifnb_muscat")
    sc.pp.normalize_total(ad, target_sum=1e4)
    sc.pp.log1p(ad)
    return ad


def test_kang_ifn_chemokines_gained(kang, mirror):
    omni = pk.data.load("resources_genesets_lr", table="omni")
    d = pk.tl.differential_lr(kang, cell_type_key="cell_type", groupby="perturbation", control="control",
                              sample_key="donor", resource=omni[omni["resource"] == "consensus"], n_perms=20)
    top = d.head(10)
    # interferon-induced chemokines from monocytes lead, consistent in both donors
    assert top["ligand"].isin(["CCL8", "CCL2", "CXCL11", "CCL7", "CXCL10", "TNFSF13B"]).mean() >= 0.8
    assert (top["source"].str.contains("Monocytes")).all()
    assert (top["n_consistent"] == 2).all()
