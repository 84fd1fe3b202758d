"""pk.pp.lognormalize and pk.pp.pca: scanpy's numbers, and the same numbers out of core."""

from __future__ import annotations

import numpy as np
import pytest
import scanpy as sc
from scipy import sparse

import perturbkit as pk


@pytest.fixture(scope="module")
def screen():
    adata = pk.data.simulate_screen(n_cells=700, n_genes=60, seed=3)
    adata.uns = {}
    adata.layers["counts"] = adata.layers["counts"].toarray()  # dense here; the sparse case converts back
    return adata


def _scanpy_lognorm(adata, target_sum=1e4):
    ref = sc.AnnData(np.asarray(adata.layers["counts"], dtype=float))
    sc.pp.normalize_total(ref, target_sum=target_sum)
    sc.pp.log1p(ref)
    return ref


def test_lognormalize_is_scanpys_dense_and_sparse(screen):
    ref = _scanpy_lognorm(screen, 5e3).X
    dense = pk.pp.lognormalize(screen, target_sum=5e3, copy=True).layers["lognorm"]
    np.testing.assert_allclose(dense, ref, rtol=1e-12, atol=1e-12)
    sp = screen.copy()
    sp.layers["counts"] = sparse.csr_matrix(sp.layers["counts"])
    pk.pp.lognormalize(sp, target_sum=5e3)
    assert sparse.issparse(sp.layers["lognorm"])
    np.testing.assert_allclose(sp.layers["lognorm"].toarray(), ref, rtol=1e-12, atol=1e-12)


def _angles_cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosines of the principal angles between the column spaces of a and b."""
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    return np.linalg.svd(qa.T @ qb, compute_uv=False)


def test_pca_spans_scanpys_subspace(screen):
    ref = _scanpy_lognorm(screen)
    sc.pp.scale(ref)
    sc.pp.pca(ref, n_comps=8, svd_solver="full")
    ours = pk.pp.pca(screen, n_comps=8, copy=True)
    cos = _angles_cos(ours.obsm["X_pca"], ref.obsm["X_pca"])
    assert cos.min() > 1 - 1e-8, cos
    # each component individually too (up to sign), and the same shares of variance
    for j in range(8):
        r = np.corrcoef(ours.obsm["X_pca"][:, j], ref.obsm["X_pca"][:, j])[0, 1]
        assert abs(r) > 1 - 1e-8, (j, r)
    np.testing.assert_allclose(ours.uns["X_pca"]["variance_ratio"], ref.uns["pca"]["variance_ratio"], rtol=1e-8)
    np.testing.assert_allclose(np.abs(ours.varm["X_pca"]), np.abs(ref.varm["PCs"]), atol=1e-8)


def test_lazy_lognormalize_and_pca_equal_in_memory(screen, tmp_path):
    pytest.importorskip("dask")
    pytest.importorskip("zarr")
    lazy = pk.data.read_lazy(pk.data.to_zarr(screen, tmp_path / "s.zarr", chunk_size=128), chunk_size=128)
    pk.pp.lognormalize(lazy)
    out = lazy.layers["lognorm"]
    assert type(out).__module__.startswith("dask") and out.chunks[0][0] == 128  # nothing loaded yet
    np.testing.assert_allclose(out.compute(), pk.pp.lognormalize(screen, copy=True).layers["lognorm"], rtol=0,
                               atol=1e-12)
    pk.pp.pca(lazy, n_comps=6)
    eager = pk.pp.pca(screen, n_comps=6, copy=True)
    np.testing.assert_allclose(lazy.obsm["X_pca"], eager.obsm["X_pca"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(lazy.varm["X_pca"], eager.varm["X_pca"], rtol=0, atol=1e-12)


def test_bad_input_is_named(screen):
    with pytest.raises(ValueError, match="n_comps must be >= 1, got 0"):
        pk.pp.pca(screen, n_comps=0, copy=True)
    with pytest.raises(KeyError, match="'raw'"):
        pk.pp.lognormalize(screen, layer="raw", copy=True)
    with pytest.raises(ValueError, match="target_sum must be a positive number, got -1"):
        pk.pp.lognormalize(screen, target_sum=-1, copy=True)
    bad = screen.copy()
    bad.layers["counts"] = bad.layers["counts"] + 0.5
    with pytest.raises(ValueError, match=r"adata.layers\['counts'\] are not integers"):
        pk.pp.pca(bad, n_comps=3)
