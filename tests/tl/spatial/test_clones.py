"""Perturb-Map clone neighbourhoods (per cell and with clones as units) and the Celcomen
regression baseline vs planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk

PLANTED = {("SOCS1", "T cell"): 1, ("JAK1", "Macrophage"): 1, ("JAK1", "T cell"): -1, ("TGFBR2", "Fibroblast"): 1}


@pytest.fixture(scope="module")
def tissue():
    return pk.data.simulate_tissue(800, seed=3)


def test_clone_neighbourhood_recovers_planted(tissue):
    before = tissue.obs.copy()
    res = pk.tl.clone_neighbourhood(tissue, control="NT", exclude_types=["Tumor"])
    pd.testing.assert_frame_equal(tissue.obs, before)
    assert {"perturbation", "cell_type", "fraction", "fraction_control", "log2_ratio", "pvalue", "padj",
            "n_clones", "n_clones_same_sign"} <= set(res.columns)
    assert set(res["perturbation"]) == {"SOCS1", "JAK1", "TGFBR2"}
    r = res.set_index(["perturbation", "cell_type"])
    hits = [r.loc[k, "pvalue"] < 0.05 and np.sign(r.loc[k, "log2_ratio"]) == v for k, v in PLANTED.items()]
    assert sum(hits) >= 3, r.loc[list(PLANTED)]
    # the strongest results are planted ones, replicated in both clones
    assert tuple(res.iloc[0][["perturbation", "cell_type"]]) in PLANTED
    assert (res.head(3)["n_clones_same_sign"] == 2).all()


def test_clone_null():
    ad = pk.data.simulate_tissue(800, seed=3)
    clone = ad.obs["clone"].astype(str)
    fake = (clone == "NT_0") & (ad.obs["perturbation"] == "NT")
    ad.obs["perturbation"] = ad.obs["perturbation"].astype(str).where(~fake, "FAKE")
    ad.obs = ad.obs.assign(perturbation=ad.obs["perturbation"].where(ad.obs["perturbation"].isin(["FAKE", "NT", "control"]), "control"))
    res = pk.tl.clone_neighbourhood(ad, control="NT", exclude_types=["Tumor"])
    assert set(res["perturbation"]) == {"FAKE"}
    assert (res["padj"] > 0.05).all()


def test_clone_bad_input(tissue):
    with pytest.raises(ValueError, match="control perturbation 'nt' not found"):
        pk.tl.clone_neighbourhood(tissue, control="nt")
    with pytest.raises(KeyError, match="clones"):
        pk.tl.clone_neighbourhood(tissue, control="NT", clone_key="clones")
    ad = tissue.copy()
    del ad.obsm["spatial"]
    with pytest.raises(KeyError, match="coordinates"):
        pk.tl.clone_neighbourhood(ad, control="NT")


@pytest.fixture(scope="module")
def normed(tissue):
    ad = tissue.copy()
    sc.pp.normalize_total(ad)
    sc.pp.log1p(ad)
    return ad


def test_intra_vs_inter_regulation(normed):
    truth = normed.uns["truth"]
    grn = truth["grn"]
    targets = ["CD274", "NR4A1", *grn["target"].head(3)]
    predictors = ["CD3E", "COL1A1", "CXCL12", "EPCAM", "CD68", "TF1", "TF2", "TF3"]
    before = normed.X.copy()
    res = pk.tl.intercellular_regression(normed, targets, predictors=predictors, cell_type_key="cell_type", seed=0)
    np.testing.assert_array_equal(normed.X, before)
    top = res.groupby(["group", "target"]).head(1).set_index(["group", "target"])
    # juxtacrine: CD274 of tumour cells from neighbouring T cells; paracrine: NR4A1 of T cells from fibroblasts
    assert tuple(top.loc[("Tumor", "CD274"), ["predictor", "scope"]]) == ("CD3E", "inter")
    assert top.loc[("T cell", "NR4A1"), "scope"] == "inter"
    nr = res[(res["group"] == "T cell") & (res["target"] == "NR4A1")]
    # the strongest *positive* neighbour effect comes from the senders (fibroblast genes);
    # negative ones (macrophage genes) only mark the niche without fibroblasts
    assert nr.sort_values("coef").iloc[-1]["predictor"] in {"CXCL12", "COL1A1"}
    assert nr.sort_values("coef").iloc[-1]["scope"] == "inter"
    assert top.loc[("Tumor", "CD274"), "gain"] > 0.1
    # intra-cellular network: each target's top predictor is its own TF, acting inside the cell
    for tf, target in grn[["tf", "target"]].head(3).itertuples(index=False):
        assert tuple(top.loc[("Tumor", target), ["predictor", "scope"]]) == (tf, "intra")
        assert abs(top.loc[("Tumor", target), "gain"]) < 0.05
    again = pk.tl.intercellular_regression(normed, targets, predictors=predictors, cell_type_key="cell_type", seed=0)
    pd.testing.assert_frame_equal(res, again)


def test_regression_bad_input(normed):
    with pytest.raises(KeyError, match="var_names"):
        pk.tl.intercellular_regression(normed, ["nope"])
    with pytest.raises(KeyError, match="no column 'celltype'"):
        pk.tl.intercellular_regression(normed, ["CD274"], cell_type_key="celltype")


def test_clone_level_test_null_calibrated_where_cell_level_is_not():
    """Null clones (both arms alike, compositions varying from clone to clone): clone-level
    p-values are uniform-ish; the per-cell Fisher test on the same tissues rejects far more."""
    p_clone, p_cell = [], []
    for s in range(20):
        ad = pk.data.simulate_clones(6, seed=s)
        r = pk.tl.clone_level_test(ad, control="NT", exclude_types=["Tumor"], n_perms=500, seed=s)
        f = pk.tl.clone_neighbourhood(ad, control="NT", exclude_types=["Tumor"])
        p_clone.append(r.set_index("cell_type").loc["T cell", "pvalue"])
        p_cell.append(f.set_index("cell_type").loc["T cell", "pvalue"])
    p_clone, p_cell = np.array(p_clone), np.array(p_cell)
    assert (p_clone < 0.05).mean() <= 0.15, p_clone
    assert 0.35 < p_clone.mean() < 0.7, p_clone.mean()
    assert (p_cell < 0.05).mean() >= (p_clone < 0.05).mean() + 0.1, (p_cell, p_clone)


def test_clone_level_test_finds_planted_effect_and_states_its_floor():
    ad = pk.data.simulate_clones(8, effect=2.0, seed=3)
    r = pk.tl.clone_level_test(ad, control="NT", exclude_types=["Tumor"], n_perms=2000, seed=0).set_index("cell_type")
    assert r.loc["T cell", "pvalue"] < 0.01 and r.loc["T cell", "delta"] > 0.1
    assert r["delta"].idxmax() == "T cell"  # the others fall as its mirror (closed composition)
    assert set(r["n_clones"]) == {8} and set(r["n_clones_control"]) == {8}
    again = pk.tl.clone_level_test(ad, control="NT", exclude_types=["Tumor"], n_perms=2000, seed=0).set_index("cell_type")
    assert again.equals(r)
    # two clones against two: 6 splits, the observed one and its mirror -> p >= 1/3
    tissue = pk.data.simulate_tissue(1200, seed=0)
    res = pk.tl.clone_level_test(tissue, control="NT", exclude_types=["Tumor"])
    assert (res["min_pvalue"] == 0.3333).all() and (res["pvalue"] >= 1 / 3 - 1e-9).all()
    small = ad[~ad.obs["clone"].isin([f"KO_{i}" for i in range(1, 8)])].copy()
    with pytest.raises(ValueError, match="'KO' has 1 clone"):
        pk.tl.clone_level_test(small, control="NT")
    with pytest.raises(KeyError, match="clone_id"):
        pk.tl.clone_level_test(ad, control="NT", clone_key="clone_id")
