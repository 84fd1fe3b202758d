from __future__ import annotations

import numpy as np
import pytest
import scanpy as sc

import perturbkit as pk

HP = {"n_epochs": 100, "batch_size": 64, "hidden": 64}


@pytest.fixture(scope="module")
def shifted():
    """A shared planted response (15 genes) plus 5 type-specific genes per cell type."""
    a = pk.data.simulate_perturbation(n_cells=40, n_genes=60, n_de=5, n_shared=15, n_cell_types=4,
                                      response=[1.0, 1.0, 1.0, 1.0], seed=0)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


@pytest.fixture(scope="module")
def bench(shifted):
    return pk.tl.response_benchmark(shifted, holdout="type1", seeds=[0], progress=False, n_top=20, **HP)


def test_every_predictor_beats_control_mean(bench):
    r = bench.set_index("method")
    assert set(r.index) == {"noise_ceiling", *pk.tl._response_prediction.METHODS}
    base = r.loc["control_mean"]
    assert base["pearson_delta"] == 0.0
    for m in pk.tl._response_prediction.METHODS[1:]:
        assert r.loc[m, "pearson_delta"] > 0.5, m
        assert r.loc[m, "r2_top100"] > base["r2_top100"], m
        assert r.loc[m, "edistance"] < base["edistance"], m


def test_noise_ceiling_above_every_predictor(bench):
    r = bench.set_index("method")
    preds = r.drop(index="noise_ceiling")
    assert (r.loc["noise_ceiling", "r2_top100"] > preds["r2_top100"]).all()
    assert (r.loc["noise_ceiling", "pearson_delta"] > preds["pearson_delta"]).all()


@pytest.mark.parametrize("method", ["scgen", "cvae", "cpa", "ot", "linear"])
def test_deterministic(shifted, method):
    kw = {"n_epochs": 3, "hidden": 16}
    a = pk.tl.predict_response(shifted, holdout="type2", method=method, seed=1, progress=False, **kw)
    b = pk.tl.predict_response(shifted, holdout="type2", method=method, seed=1, progress=False, **kw)
    assert np.array_equal(a.X, b.X)
    assert a.shape == (120, 60) and a.uns["prediction"]["method"] == method
    assert (a.obs["perturbation"] == "stimulated").all()


def test_does_not_modify(shifted):
    before = shifted.copy()
    pk.tl.predict_response(shifted, holdout="type0", method="mean_shift")
    assert np.array_equal(shifted.X.toarray(), before.X.toarray())
    assert list(shifted.obs.columns) == list(before.obs.columns)


def test_bad_input(shifted):
    with pytest.raises(ValueError, match="holdout 'type9'"):
        pk.tl.predict_response(shifted, holdout="type9", method="mean_shift")
    with pytest.raises(ValueError, match="unknown method"):
        pk.tl.predict_response(shifted, holdout="type0", method="gears")
    with pytest.raises(TypeError, match="hyper-parameters"):
        pk.tl.predict_response(shifted, holdout="type0", method="scgen", n_layers=3)
    with pytest.raises(ValueError, match="control label"):
        pk.tl.predict_response(shifted, holdout="type0", control="ctrl")
    missing = shifted[~((shifted.obs["cell_type"] == "type0") & (shifted.obs["perturbation"] == "stimulated"))].copy()
    with pytest.raises(ValueError, match="type0"):
        pk.tl.response_benchmark(missing, holdout="type1", methods=["mean_shift"], seeds=[0])
    nan = shifted.copy()
    nan.X = nan.X.toarray()
    nan.X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.predict_response(nan, holdout="type0", method="mean_shift")
