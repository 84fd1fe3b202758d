"""ASGARD's drug score against planted truth, hand-computed pieces and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import perturbkit as pk
from perturbkit.tl._dose._asgard import _ceg_sums, _fisher


@pytest.fixture(scope="module")
def sim():
    return pk.data.simulate_cluster_reversal(seed=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_broad_reverser_first_niche_reverser_not(seed):
    sim = pk.data.simulate_cluster_reversal(seed=seed)
    res = pk.tl.asgard(sim, sim.uns["signatures"])
    drugs = res.drugs.set_index("drug")
    assert drugs.loc["broad_reverser", "rank"] == 1
    assert drugs.loc["niche_reverser", "rank"] > 1
    # the niche compound is the best match of the small cluster, and only there
    cl = res.clusters.set_index(["cell_type", "drug"])
    small = sim.uns["truth"]["small_cluster"]
    assert cl.loc[(small, "niche_reverser"), "rank_in_cluster"] == 1
    assert drugs.loc["broad_reverser", "score"] > 5 * drugs.loc["niche_reverser", "score"]
    # the naive baseline crowns the niche compound in the small cluster
    naive = pk.tl.cluster_connectivity(sim, sim.uns["signatures"])
    top = naive[naive["rank"] == 1].set_index("cell_type")["drug"]
    assert top[small] == "niche_reverser" and (top.drop(small) == "broad_reverser").all()


def test_score_is_the_published_formula(sim):
    res = pk.tl.asgard(sim, sim.uns["signatures"])
    cl = res.clusters
    # proportions: diseased cells per cluster over all diseased cells, rounded as ASGARD does
    case = sim.obs[sim.obs["perturbation"] != "control"]
    expected = (100 * case["cell_type"].astype(str).value_counts(sort=False) / len(case)).round(2) / 100
    got = cl.drop_duplicates("cell_type").set_index("cell_type")["proportion"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index().astype(float), check_names=False)
    np.testing.assert_allclose(cl["contribution"], cl["proportion"] * -np.log10(cl["padj"]) * cl["treated_ratio"])
    score = cl.groupby("drug")["contribution"].sum()
    np.testing.assert_allclose(res.drugs.set_index("drug")["score"], score.loc[res.drugs["drug"]])
    # Fisher's combination of the cluster p-values
    p = cl[cl["drug"] == "drug_03"]["pvalue"]
    fisher = stats.chi2.sf(-2 * np.log(p).sum(), 2 * len(p))
    assert res.drugs.set_index("drug").loc["drug_03", "pvalue"] == pytest.approx(fisher)
    assert (res.drugs["score"] >= 0).all() and res.drugs["rank"].tolist() == list(range(1, len(res.drugs) + 1))
    # broad reverser reverses nearly every DEG of the large clusters
    big = cl[(cl.drug == "broad_reverser") & (cl.cell_type != sim.uns["truth"]["small_cluster"])]
    assert (big["treated_ratio"] > 0.8).all()


def test_ceg_sums_hand_computed():
    # 4 genes; query t ascending ranks [1, 2, 3, 4]; one signature reversing exactly, one mimicking
    t = np.array([-3.0, -1.0, 1.0, 3.0])
    ranks = np.array([[1.0, 4.0], [2.0, 3.0], [3.0, 2.0], [4.0, 1.0]])
    got = _ceg_sums(t, ranks, threshold=0.1)
    # reverser: gene 1 has p_max = (1/4)^2 = 0.0625 <= 0.1; gene 4: p_min = (1 - 3/4)^2 = 0.0625
    z = stats.norm.isf(0.0625)
    assert got[0] == pytest.approx(2 * z)
    assert got[1] == 0.0


def test_fisher_keeps_an_underflowed_pvalue():
    # Fisher by hand: -2 (ln 0.01 + ln 0.2) = 12.43 on 4 df
    assert _fisher(pd.Series([0.01, 0.2])) == pytest.approx(stats.chi2.sf(-2 * np.log(0.002), 4))
    # a p-value of 0 is the strongest evidence: the combination must be far below the other p (0.5),
    # not 0.5 as when the 0 is dropped
    assert _fisher(pd.Series([0.0, 0.5])) < 1e-300
    assert _fisher(pd.Series([0.3])) == 0.3


def test_same_input_same_result_and_input_untouched(sim):
    before = sim.copy()
    a = pk.tl.asgard(sim, sim.uns["signatures"])
    b = pk.tl.asgard(sim, sim.uns["signatures"])
    pd.testing.assert_frame_equal(a.drugs, b.drugs)
    np.testing.assert_array_equal(sim.X, before.X)


def test_bad_input(sim):
    sig = sim.uns["signatures"]
    with pytest.raises(KeyError, match="celltype"):
        pk.tl.asgard(sim, sig, cell_type_key="celltype")
    with pytest.raises(ValueError, match="healthy"):
        pk.tl.asgard(sim, sig, control="healthy")
    with pytest.raises(ValueError, match="genes are shared"):
        pk.tl.asgard(sim, sig.rename(columns=lambda g: g + "_x"))
    with pytest.raises(ValueError, match="drug_labels has 3"):
        pk.tl.asgard(sim, sig, drug_labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="deg_padj"):
        pk.tl.asgard(sim, sig, deg_padj=5)
    bad = sig.copy()
    bad.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="signatures"):
        pk.tl.asgard(sim, bad)
    only_ctrl = sim[sim.obs["perturbation"] == "control"].copy()
    with pytest.raises(ValueError, match="diseased"):
        pk.tl.asgard(only_ctrl, sig)
    # a cluster with too few diseased cells is left out with a warning naming it
    drop = (sim.obs["cell_type"] == "cluster_2") & (sim.obs["perturbation"] == "disease")
    thin = sim[~drop.to_numpy() | (np.cumsum(drop.to_numpy()) <= 2)].copy()
    with pytest.warns(UserWarning, match="cluster_2"):
        res = pk.tl.asgard(thin, sig)
    assert "cluster_2" not in set(res.clusters["cell_type"])
