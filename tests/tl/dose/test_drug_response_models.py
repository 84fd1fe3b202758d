"""Drug-response predictors against their baselines, on planted low-rank and genotype data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def test_matrix_factorisation_beats_means_on_low_rank_data():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(80, 3)) @ rng.normal(size=(3, 50)) + rng.normal(0, 0.1, (80, 50))
    y[rng.random(y.shape) < 0.3] = np.nan
    scores, pred = pk.tl.ic50_matrix_factorisation(pd.DataFrame(y), rank=3, seed=0)
    assert list(scores.index) == ["row_mean", "column_mean", "additive", "matrix_factorisation"]
    assert scores.loc["matrix_factorisation", "rmse"] < 0.5 * scores.loc["additive", "rmse"]
    assert scores.loc["matrix_factorisation", "per_drug_pearson"] > 0.9
    assert len(pred) > 100 and {"observed", "matrix_factorisation"} <= set(pred.columns)
    again, _ = pk.tl.ic50_matrix_factorisation(pd.DataFrame(y), rank=3, seed=0)
    pd.testing.assert_frame_equal(scores, again)
    with pytest.raises(ValueError, match="holdout"):
        pk.tl.ic50_matrix_factorisation(pd.DataFrame(y), holdout=1.5)


def test_genotype_response_finds_planted_marker():
    rng = np.random.default_rng(1)
    feats = pd.DataFrame(rng.random((150, 20)) < 0.3, columns=[f"g{i}_mut" for i in range(20)]).astype(int)
    ic50 = pd.DataFrame({"drugA": -2.0 * feats["g0_mut"] + rng.normal(0, 0.5, 150),
                         "drugB": rng.normal(0, 1, 150)})
    out = pk.tl.genotype_response(ic50, feats, drugs=["drugA", "drugB"], models=("mean", "ridge", "random_forest"))
    table = out.pivot(index="drug", columns="model", values="pearson")
    assert table.loc["drugA", "ridge"] > 0.7 and table.loc["drugA", "random_forest"] > 0.7
    assert table.loc["drugB", "ridge"] < 0.3
    with pytest.raises(ValueError, match="unknown models"):
        pk.tl.genotype_response(ic50, feats, models=("svm",))


def test_predict_dose_signature_runs_and_scores():
    import scanpy as sc

    sim = pk.data.simulate_dose_response(n_cell_types=1, n_genes=30, n_response_genes=10, seed=0,
                                         doses=(0, 0.001, 0.01, 0.1, 1), ec50=[10.0])
    pb = pk.get.pseudobulk(sim, sample_key="well", cell_type_key="cell_type")
    sc.pp.normalize_total(pb, target_sum=1e4)
    sc.pp.log1p(pb)
    drug = pb.obs["replicate"].astype(int).map({1: "drugA", 2: "drugB"}).astype(str)
    pb.obs["perturbation"] = drug.where(pb.obs["dose"].astype(float) > 0, pk.data.CONTROL)
    third = pb[pb.obs["perturbation"] == "drugB"].copy()
    third.obs["perturbation"] = "drugC"
    third.obs_names = [f"{n}_c" for n in third.obs_names]
    import anndata as ad

    plate = ad.concat([pb, third])
    res = pk.tl.predict_dose_signature(plate, n_holdout=6, n_components=2, n_folds=2, seed=0)
    assert set(res["method"]) == {"mean_at_dose", "nearest_compound", "own_doses", "conditioned_net"}
    assert res["pearson"].between(-1, 1).all() and (res["rmse"] >= 0).all()
    # drugC copies drugB: the nearest compound is its twin and predicts it almost exactly
    twin = res[(res["method"] == "nearest_compound") & res["compound"].isin(["drugB", "drugC"])]
    assert (twin["pearson"] > 0.99).all()
    bad = plate.copy()
    bad.X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.predict_dose_signature(bad, n_holdout=2)
    with pytest.raises(ValueError, match="at least 3 compounds"):
        pk.tl.predict_dose_signature(pb, n_holdout=2)
    zero = plate.copy()
    zero.obs["perturbation"] = zero.obs["perturbation"].astype(str).replace(pk.data.CONTROL, "drugA")
    zero.obs.iloc[0, zero.obs.columns.get_loc("perturbation")] = pk.data.CONTROL
    with pytest.raises(ValueError, match="dose > 0"):
        pk.tl.predict_dose_signature(zero, n_holdout=2)


def test_transfer_response_on_simulation():
    bulk, cells = pk.data.simulate_response_transfer(n_lines=150, n_cells=200, n_genes=40, seed=0)
    assert bulk.obs["resistant"].dtype == bool and len(cells.uns["truth"]["markers"]) == 10
    res = pk.tl.transfer_response(bulk, cells, seed=0)
    assert list(res.index) == ["naive", "standardise", "coral", "domain_adversarial"]
    assert (res["auroc"] > 0.65).all()
    assert res.loc["standardise", "accuracy"] > res.loc["naive", "accuracy"]
    again = pk.tl.transfer_response(bulk, cells, seed=0)
    pd.testing.assert_frame_equal(res, again)
    with pytest.raises(ValueError, match="unknown methods"):
        pk.tl.transfer_response(bulk, cells, methods=("dann",))
    with pytest.raises(ValueError, match="same genes"):
        pk.tl.transfer_response(bulk, cells[:, ::-1].copy())
