"""E-distance from row blocks of the distance matrix equals the one-shot matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from scipy.spatial.distance import cdist

import perturbkit as pk
from perturbkit._chunked import _edistance as blocks
from perturbkit.tl._stats._edistance import _estat


@pytest.fixture(scope="module")
def embedded():
    adata = pk.data.simulate_perturbation(seed=1)
    sc.pp.normalize_total(adata)
    sc.pp.log1p(adata)
    sc.pp.pca(adata, n_comps=10)
    return adata


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_blocked_estat_equals_full_matrix(metric) -> None:
    rng = np.random.default_rng(0)
    pts = np.vstack([rng.normal(size=(70, 4)), rng.normal(0.8, 1.0, size=(50, 4))])
    member = np.zeros((120, 6))
    member[:70, 0] = 1.0
    for j in range(1, 6):
        member[:, j] = rng.permutation(member[:, 0])
    want = _estat(cdist(pts, pts, metric=metric), member, 70, 50)
    got = blocks.estat_blocked(pts, member, 70, 50, metric=metric, row_block=17)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    assert got[0] > 0.1  # the planted mean shift of 0.8 per dimension
    # the unbiased (U-statistic) variant, pk.tl.edistance's default, blocks the same way
    want_u = _estat(cdist(pts, pts, metric=metric), member, 70, 50, True)
    got_u = blocks.estat_blocked(pts, member, 70, 50, metric=metric, row_block=17, unbiased=True)
    np.testing.assert_allclose(got_u, want_u, rtol=0, atol=1e-10)
    assert (got_u < got).all()


def test_edistance_blocked_path_equals_in_memory(embedded, monkeypatch) -> None:
    want = pk.tl.edistance(embedded, split_by="cell_type", n_perms=50, seed=4)
    monkeypatch.setattr(blocks, "BLOCK_ABOVE", 10)
    monkeypatch.setattr(blocks, "ROW_BLOCK", 23)
    got = pk.tl.edistance(embedded, split_by="cell_type", n_perms=50, seed=4)
    pd.testing.assert_frame_equal(got.drop(columns="edistance"), want.drop(columns="edistance"))
    np.testing.assert_allclose(got["edistance"], want["edistance"], rtol=0, atol=1e-10)
    # planted truth: the E-test finds exactly the responsive cell types
    found = sorted(got.loc[got["pvalue"] < 0.05, "cell_type"])
    assert found == sorted(embedded.uns["truth"]["responsive"])
