from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


def test_energy_distance_properties():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3))
    y = rng.normal(size=(80, 3)) + 2.0
    assert pk.tl.energy_distance(x, x, unbiased=False) == pytest.approx(0.0, abs=1e-12)
    # the U-statistic of a set against itself is negative: the between mean keeps the self-pairs
    assert pk.tl.energy_distance(x, x) < 0
    e = pk.tl.energy_distance(x, y)
    assert e > 0
    assert e == pytest.approx(pk.tl.energy_distance(y, x))
    # sqeuclidean V-statistic = 2 |mean difference|^2 exactly
    sq = pk.tl.energy_distance(x, y, metric="sqeuclidean", unbiased=False)
    assert sq == pytest.approx(2 * np.sum((x.mean(0) - y.mean(0)) ** 2))
    # a pure change of spread is seen by the energy distance, not by the squared version
    z = rng.normal(size=(400, 3)) * 3.0
    w = rng.normal(size=(400, 3))
    assert pk.tl.energy_distance(z, w) > 1.0


def _reference_points():
    rng = np.random.default_rng(0)
    return rng.normal(size=(30, 3)), rng.normal(size=(20, 3)) * 1.5 + 0.5


def test_matches_scperturb_and_r_energy():
    """Reference values computed on these points by scperturb 0.1.0 and R energy 1.7-11."""
    x, y = _reference_points()
    # scperturb.edist_to_control(dist=..., sample_correct=True): U-statistic
    assert pk.tl.energy_distance(x, y, metric="sqeuclidean") == pytest.approx(0.6579114379, rel=1e-8)
    assert pk.tl.energy_distance(x, y) == pytest.approx(0.2010266588, rel=1e-8)
    # energy::edist(rbind(x, y), c(30, 20)) = n m / (n + m) * V-statistic
    assert 30 * 20 / 50 * pk.tl.energy_distance(x, y, unbiased=False) == pytest.approx(5.21324585726, rel=1e-9)


def test_unbiased_removes_small_sample_bias():
    """Two samples of one distribution: the V-statistic is biased upward, the U-statistic is not."""
    rng = np.random.default_rng(1)
    u, v = [], []
    for _ in range(300):
        a, b = rng.normal(size=(8, 5)), rng.normal(size=(8, 5))
        u.append(pk.tl.energy_distance(a, b))
        v.append(pk.tl.energy_distance(a, b, unbiased=False))
    u, v = np.array(u), np.array(v)
    se = u.std() / np.sqrt(len(u))
    assert abs(u.mean()) < 3 * se
    # expected V-bias: mean within distance (about sqrt(2 * 5 - 1) = 3) times (1/8 + 1/8)
    assert 0.5 < v.mean() - u.mean() < 1.0
    with pytest.raises(ValueError, match="at least 2"):
        pk.tl.energy_distance(rng.normal(size=(1, 2)), rng.normal(size=(5, 2)))


def test_planted_effects_found_null_not(sim):
    res = pk.tl.edistance(sim, n_perms=200, seed=0)
    assert list(res.columns) == ["cell_type", "perturbation", "n_control", "n_perturbed",
                                 "edistance", "pvalue", "padj"]
    res = res.set_index("cell_type")
    assert res.loc["type0", "pvalue"] < 0.01 and res.loc["type1", "pvalue"] < 0.01
    assert res.loc["type2", "pvalue"] > 0.05
    # the stronger planted response is the larger distance
    assert res.loc["type0", "edistance"] > res.loc["type1", "edistance"] > res.loc["type2", "edistance"]
    assert res["n_control"].dtype.kind == "i" and (res["n_control"] == 120).all()


def test_unbiased_and_v_statistic_agree_on_large_groups(sim):
    u = pk.tl.edistance(sim, n_perms=0)["edistance"]
    v = pk.tl.edistance(sim, n_perms=0, unbiased=False)["edistance"]
    assert (v > u).all()
    assert np.allclose(u, v, atol=0.05 * v.max())


def test_pvalue_floor_and_seed(sim):
    a = pk.tl.edistance(sim, n_perms=99, seed=3)
    b = pk.tl.edistance(sim, n_perms=99, seed=3)
    assert a.equals(b)
    assert a["pvalue"].min() == pytest.approx(1 / 100)


def test_no_split_and_no_test(sim):
    res = pk.tl.edistance(sim, split_by=None, n_perms=0)
    assert len(res) == 1 and "cell_type" not in res
    assert np.isnan(res["pvalue"].iloc[0])


def test_does_not_modify(sim):
    before = sim.copy()
    pk.tl.edistance(sim, n_perms=10)
    assert list(sim.obs.columns) == list(before.obs.columns)
    assert set(sim.uns) == set(before.uns)


def test_bad_input(sim):
    with pytest.raises(KeyError, match="no_such"):
        pk.tl.edistance(sim, groupby="no_such", n_perms=10)
    with pytest.raises(ValueError, match="control label 'ctrl' not found"):
        pk.tl.edistance(sim, control="ctrl", n_perms=10)
    with pytest.raises(KeyError, match="X_umap"):
        pk.tl.edistance(sim, obsm_key="X_umap", n_perms=10)
    nan = sim.copy()
    nan.obsm["X_pca"][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.edistance(nan, n_perms=10)
    lonely = sim[~((sim.obs["cell_type"] == "type1") & (sim.obs["perturbation"] == "stimulated"))].copy()
    with pytest.raises(ValueError, match="type1"):
        pk.tl.edistance(lonely, n_perms=10)
    only_ctrl = sim[sim.obs["perturbation"] == "control"].copy()
    with pytest.raises(ValueError, match="only the control"):
        pk.tl.edistance(only_ctrl, n_perms=10)
    na = sim.copy()
    na.obs["perturbation"] = na.obs["perturbation"].astype(object)
    na.obs.iloc[0, na.obs.columns.get_loc("perturbation")] = np.nan
    with pytest.raises(ValueError, match="missing"):
        pk.tl.edistance(na, n_perms=10)
