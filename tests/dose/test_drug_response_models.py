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
