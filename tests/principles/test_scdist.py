from __future__ import annotations

import numpy as np
import pytest
import scanpy as sc

import perturbkit as pk


def _lognorm(a):
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


@pytest.fixture
def unpaired():
    """Donors nested in condition; type0 null, type1 responds."""
    return _lognorm(pk.data.simulate_perturbation(n_cell_types=2, response=[0.0, 1.0], n_donors=10,
                                                  paired=False, n_cells=20, n_genes=80,
                                                  donor_sd=0.4, seed=0))


def test_donor_effect_fools_naive_not_scdist(unpaired):
    res = pk.tl.scdist(unpaired, n_draws=1000).set_index("cell_type")
    assert {"distance", "ci_low", "ci_high", "pvalue", "naive_distance", "naive_pvalue",
            "n_samples", "n_cells"} <= set(res.columns)
    assert res.loc["type0", "naive_pvalue"] < 0.01  # the naive test is fooled
    assert res.loc["type0", "pvalue"] > 0.1  # the mixed model is not
    assert res.loc["type0", "ci_low"] == 0.0
    assert res.loc["type1", "pvalue"] < 0.02
    assert res.loc["type1", "distance"] > res.loc["type0", "distance"] + 1.5
    assert (res["ci_low"] <= res["ci_high"]).all()


def test_paired_planted_effect():
    a = _lognorm(pk.data.simulate_perturbation(n_cell_types=2, response=[1.0, 0.0], n_donors=5,
                                               n_cells=30, n_genes=80, seed=1))
    res = pk.tl.scdist(a, covariates=("donor",), n_draws=1000).set_index("cell_type")
    assert res.loc["type0", "pvalue"] < 0.02
    assert res.loc["type1", "distance"] < res.loc["type0", "distance"] / 3


def test_seed(unpaired):
    a = pk.tl.scdist(unpaired, n_draws=200, seed=4)
    b = pk.tl.scdist(unpaired, n_draws=200, seed=4)
    assert a.equals(b)


def test_bad_input(unpaired):
    with pytest.raises(KeyError, match="batch"):
        pk.tl.scdist(unpaired, sample_key="batch")
    two = _lognorm(pk.data.simulate_perturbation(n_cell_types=1, n_donors=1, n_cells=20, n_genes=40, seed=0))
    with pytest.raises(ValueError, match="samples"):
        pk.tl.scdist(two, n_draws=100)
    bad = unpaired.copy()
    bad.X = bad.X.toarray()
    bad.X[3, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        pk.tl.scdist(bad, n_draws=100)
    with pytest.raises(ValueError, match="control label"):
        pk.tl.scdist(unpaired, control="ctrl", n_draws=100)


def test_does_not_modify(unpaired):
    before = unpaired.copy()
    pk.tl.scdist(unpaired, n_draws=100)
    assert list(unpaired.obs.columns) == list(before.obs.columns)
    assert set(unpaired.obsm) == set(before.obsm) and set(unpaired.uns) == set(before.uns)
    assert np.array_equal(unpaired.X.toarray(), before.X.toarray())
