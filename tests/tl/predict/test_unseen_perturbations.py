from __future__ import annotations

import numpy as np
import pytest
import scanpy as sc

import perturbkit as pk


@pytest.fixture(scope="module")
def lib():
    a = pk.data.simulate_perturbation_library(n_perturbations=30, n_cells=20, n_control=100, seed=1)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def test_simulator_truth():
    a = pk.data.simulate_perturbation_library(n_perturbations=5, n_cells=300, n_control=300, seed=0)
    x = a.layers["counts"].toarray()
    lab = a.obs["perturbation"].to_numpy()
    lfc = a.uns["truth"]["log_fc"]["p00"].to_numpy()
    obs = np.log((x[lab == "p00"].mean(0) + 0.5) / (x[lab == "control"].mean(0) + 0.5))
    big = np.abs(lfc) > 0.5
    assert np.corrcoef(obs[big], lfc[big])[0, 1] > 0.9
    assert list(a.uns["features"].index) == [f"p{i:02d}" for i in range(5)]


def test_features_beat_baselines(lib):
    res = pk.tl.unseen_response_benchmark(lib, lib.uns["features"], test_fraction=0.3, seed=0)
    assert list(res.columns) == ["perturbation", "method", "pearson_delta", "r2_top", "mse"]
    m = res.groupby("method")["pearson_delta"].mean()
    assert res["perturbation"].nunique() == 9
    assert m["kernel_ridge"] > m["mean_response"] + 0.1
    assert m["kernel_ridge"] > m["nearest_seen"]
    assert m["noise_ceiling"] > m.drop("noise_ceiling").max()


def test_unrelated_features_do_not_help(lib):
    rng = np.random.default_rng(0)
    noise = lib.uns["features"].copy()
    noise[:] = rng.normal(size=noise.shape)
    res = pk.tl.unseen_response_benchmark(lib, noise, test_fraction=0.3, seed=0)
    m = res.groupby("method")["mse"].mean()
    assert m["kernel_ridge"] > 0.8 * m["mean_response"]  # no better than ignoring the features


def test_seed_and_bad_input(lib):
    a = pk.tl.unseen_response_benchmark(lib, lib.uns["features"], seed=3)
    b = pk.tl.unseen_response_benchmark(lib, lib.uns["features"], seed=3)
    assert a.equals(b)
    with pytest.raises(KeyError, match="p00"):
        pk.tl.unseen_response_benchmark(lib, lib.uns["features"].drop(index="p00"))
    with pytest.raises(ValueError, match="control label"):
        pk.tl.unseen_response_benchmark(lib, lib.uns["features"], control="DMSO")
    nanf = lib.uns["features"].copy()
    nanf.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.unseen_response_benchmark(lib, nanf)
    with pytest.raises(ValueError, match="unknown methods"):
        pk.tl.unseen_response_benchmark(lib, lib.uns["features"], methods=["gears"])
