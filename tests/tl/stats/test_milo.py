"""pk.tl.milo: neighbourhood differential abundance with a planted enrichment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk
from perturbkit.tl._stats._milo import _weighted_bh


@pytest.fixture(scope="module")
def planted():
    """Three cell types, three donors in both arms, no expression effect; 80% of type0's
    control cells and 80% of type1's stimulated cells removed: type0 enriched and type1
    depleted in stimulated samples (about x5 each way), the sample sizes and so type2's share
    unchanged (a true null)."""
    a = pk.data.simulate_perturbation(n_cell_types=3, n_donors=3, n_cells=150, n_genes=60, response=[0, 0, 0],
                                      seed=0)
    rng = np.random.default_rng(0)
    ct, cond = a.obs["cell_type"].to_numpy(), a.obs["perturbation"].to_numpy()
    drop = (((ct == "type0") & (cond == "control")) | ((ct == "type1") & (cond == "stimulated")))
    drop &= rng.random(a.n_obs) < 0.8
    a = a[~drop].copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    sc.pp.pca(a, n_comps=10, random_state=0)
    return a


def test_planted_enrichment_found_null_type_not(planted):
    da = pk.tl.milo(planted, sample_key="sample", covariates=["donor"], n_neighbors=40, seed=0)
    assert set(da.columns) >= {"nhood", "index_cell", "n_cells", "cell_type", "log2fc", "pvalue", "spatial_fdr"}
    pure = da[da["cell_type_fraction"] > 0.9].groupby("cell_type")
    obs = planted.obs
    for t, d in pure:
        # the planted change relative to sample size (the GLM's offset): the type's share of
        # stimulated cells over its share of control cells
        share = (obs["cell_type"] == t).groupby(obs["perturbation"], observed=True).mean()
        expected = np.log2(share["stimulated"] / share["control"])
        assert len(d) >= 3, t
        assert d["log2fc"].median() == pytest.approx(expected, abs=0.35), (t, expected, d["log2fc"].median())
        if t == "type2":
            # a null type: few of its neighbourhoods called (FDR 10% bounds false calls among calls)
            assert abs(expected) < 0.2 and (d["spatial_fdr"] < 0.1).mean() < 0.1, d
        else:
            assert abs(expected) > 1.5 and (d["spatial_fdr"] < 0.1).mean() > 0.9, d


def test_weighted_bh_reduces_to_bh_with_equal_weights():
    p = np.array([0.01, 0.04, 0.03, 0.5, 0.2])
    np.testing.assert_allclose(_weighted_bh(p, np.ones(5)), pk.metrics.bh_adjust(p))
    # a neighbourhood with a large weight (sparse region) counts more: its adjusted p shrinks
    w = np.array([5.0, 1, 1, 1, 1])
    assert _weighted_bh(p, w)[0] < pk.metrics.bh_adjust(p)[0]


def test_seeded_and_bad_input(planted):
    a = pk.tl.milo(planted, sample_key="sample", n_neighbors=15, seed=3)
    b = pk.tl.milo(planted, sample_key="sample", n_neighbors=15, seed=3)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(KeyError, match="batch"):
        pk.tl.milo(planted, sample_key="batch")
    with pytest.raises(ValueError, match="prop"):
        pk.tl.milo(planted, sample_key="sample", prop=10)
    bad = planted.copy()
    bad.obs["mixed"] = np.arange(bad.n_obs) % 2
    with pytest.raises(ValueError, match="mixed"):
        pk.tl.milo(bad, sample_key="sample", covariates="mixed")
