"""GDSC-style ANOVA: planted associations, a hand-checked F test, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

import perturbkit as pk


@pytest.fixture(scope="module")
def sim():
    return pk.data.simulate_drug_response(seed=1)


def test_planted_pairs_on_top(sim):
    res = pk.tl.drug_gene_anova(sim["ic50"], sim["features"])
    planted = set(zip(sim["truth"]["drug"], sim["truth"]["feature"], strict=True))
    top = set(zip(res["drug"][:3], res["feature"][:3], strict=True))
    assert top == planted
    assert (res.head(3)["delta"] < -1).all() and (res.head(3)["padj"] < 1e-6).all()
    assert res["padj"].iloc[10:].min() > 1e-3 or len(res) < 10


def test_matches_statsmodels_type1_anova(sim):
    ic50, feats = sim["ic50"], sim["features"]
    drug, feature = 1000, "GENE00_mut"
    res = pk.tl.drug_gene_anova(ic50[[drug]], feats, feature_columns=[feature])
    frame = feats[["TISSUE_FACTOR", "MSI_FACTOR", feature]].assign(y=ic50[drug]).dropna()
    fit = smf.ols(f"y ~ C(TISSUE_FACTOR) + MSI_FACTOR + {feature}", data=frame).fit()
    table = anova_lm(fit, typ=1)
    assert res["pvalue"].iloc[0] == pytest.approx(table.loc[feature, "PR(>F)"], rel=1e-6)
    assert res["f_stat"].iloc[0] == pytest.approx(table.loc[feature, "F"], rel=1e-6)


def test_input_untouched_and_errors(sim):
    ic50 = sim["ic50"].copy()
    pk.tl.drug_gene_anova(ic50, sim["features"])
    pd.testing.assert_frame_equal(ic50, sim["ic50"])
    with pytest.raises(ValueError, match="cell lines are in both"):
        pk.tl.drug_gene_anova(ic50.set_axis([f"x{i}" for i in range(len(ic50))]), sim["features"])
    with pytest.raises(ValueError, match="not 0/1"):
        pk.tl.drug_gene_anova(ic50, sim["features"].assign(GENE01_mut=2), feature_columns=["GENE01_mut"])
    with pytest.raises(KeyError, match="nope"):
        pk.tl.drug_gene_anova(ic50, sim["features"], feature_columns=["nope"])
    with pytest.raises(ValueError, match="enough"):
        pk.tl.drug_gene_anova(ic50, sim["features"], min_mutants=10_000)
    nan = sim["features"].astype({"GENE02_mut": float})
    nan.iloc[0, nan.columns.get_loc("GENE02_mut")] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.drug_gene_anova(ic50, nan, feature_columns=["GENE02_mut"])
