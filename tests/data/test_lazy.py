"""Out-of-core data: chunked zarr copies, lazy reading, and pseudobulk sums block by block."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest
from scipy import sparse

import perturbkit as pk
from perturbkit import _chunked
from perturbkit._chunked import _blocks
from perturbkit._validate import as_dense

pytest.importorskip("dask")
pytest.importorskip("zarr")


@pytest.fixture(scope="module")
def screen() -> ad.AnnData:
    adata = pk.data.simulate_screen(n_cells=600, n_genes=40, seed=3)
    pk.tl.assign_guides(adata, method="mixture")
    adata.uns = {}  # the planted-truth Series are not what these tests are about
    return adata


def test_to_zarr_read_lazy_round_trip(screen, tmp_path) -> None:
    lazy = pk.data.read_lazy(pk.data.to_zarr(screen, tmp_path / "s.zarr", chunk_size=128), chunk_size=128)
    counts = lazy.layers["counts"]
    assert _chunked.is_lazy(counts)
    assert counts.chunks[0] == (128, 128, 128, 128, 88)
    np.testing.assert_array_equal(as_dense(counts.compute()), as_dense(screen.layers["counts"]))
    assert lazy.obs.equals(screen.obs)


def test_sparse_matrix_round_trip_stays_sparse(screen, tmp_path) -> None:
    a = screen.copy()
    assert sparse.issparse(a.layers["counts"])  # the simulator's counts are CSR
    lazy = pk.data.read_lazy(pk.data.to_zarr(a, tmp_path / "sp.zarr"), chunk_size=100)
    block = next(_chunked.iter_row_blocks(lazy.layers["counts"]))[2]
    assert sparse.issparse(block) and block.shape == (100, 40)
    assert (block != a.layers["counts"][:100]).nnz == 0


@pytest.mark.parametrize("form", ["zarr", "h5ad_lazy", "h5ad_backed", "large_dense"])
def test_pseudobulk_chunked_equals_in_memory(screen, tmp_path, monkeypatch, form) -> None:
    expected = pk.get.pseudobulk(screen, sample_key="perturbation", cell_type_key="replicate")
    if form == "zarr":
        other = pk.data.read_lazy(pk.data.to_zarr(screen, tmp_path / "s.zarr"), chunk_size=97)
    elif form == "h5ad_lazy":
        screen.write_h5ad(tmp_path / "s.h5ad")
        other = pk.data.read_lazy(tmp_path / "s.h5ad", chunk_size=97)
    elif form == "h5ad_backed":  # anndata's own backed mode backs X only
        a = ad.AnnData(X=as_dense(screen.layers["counts"]), obs=screen.obs, var=screen.var)
        a.write_h5ad(tmp_path / "b.h5ad")
        other = ad.read_h5ad(tmp_path / "b.h5ad", backed="r")
        expected = pk.get.pseudobulk(a, sample_key="perturbation", cell_type_key="replicate", layer=None)
    else:  # an in-memory dense matrix over the size limit also goes block by block
        monkeypatch.setattr(_blocks, "LARGE_DENSE", 100)
        monkeypatch.setattr(_blocks, "CHUNK_SIZE", 50)
        other = screen.copy()
        other.layers["counts"] = as_dense(other.layers["counts"])
    assert _chunked.wants_chunks(other.X if form == "h5ad_backed" else other.layers["counts"])
    layer = None if form == "h5ad_backed" else "counts"
    got = pk.get.pseudobulk(other, sample_key="perturbation", cell_type_key="replicate", layer=layer)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.X, expected.X, rtol=0, atol=1e-10)
    assert got.obs.equals(expected.obs)
    # an invariant, not only agreement: the sums keep every count
    assert got.X.sum() == pytest.approx(float(as_dense(screen.layers["counts"]).sum()))


def test_chunked_pseudobulk_checks_counts_per_block(screen, tmp_path) -> None:
    bad = screen.copy()
    counts = as_dense(bad.layers["counts"]).copy()
    counts[550, 3] = -1.0  # in the last block only
    bad.layers["counts"] = counts
    lazy = pk.data.read_lazy(pk.data.to_zarr(bad, tmp_path / "bad.zarr"), chunk_size=100)
    with pytest.raises(ValueError, match=r"adata.layers\['counts'\] contain negative"):
        pk.get.pseudobulk(lazy, sample_key="perturbation", cell_type_key=None)


def test_load_lazy_on_mirrored_data_equals_in_memory(mirror, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PERTURBKIT_DATA_DIR", str(tmp_path / "cache"))
    eager = pk.data.load("kang2018_ifnb_muscat")
    lazy = pk.data.load("kang2018_ifnb_muscat", lazy=True, chunk_size=400)
    assert _chunked.is_lazy(lazy.layers["counts"]) and lazy.shape == eager.shape
    assert (tmp_path / "cache" / "zarr" / "kang2018_ifnb_muscat.zarr").is_dir()
    again = pk.data.load("kang2018_ifnb_muscat", lazy=True, chunk_size=400)  # opens the stored copy
    for other in (lazy, again):
        got = pk.get.pseudobulk(other, sample_key="sample", cell_type_key="cell_type")
        want = pk.get.pseudobulk(eager, sample_key="sample", cell_type_key="cell_type")
        np.testing.assert_allclose(got.X, want.X, rtol=0, atol=1e-10)
        assert got.obs.equals(want.obs)


def test_load_lazy_stand_in_is_wrapped(monkeypatch) -> None:
    # the stand-in path is what is tested: strict mode (CI) would turn it into an error
    monkeypatch.delenv("PERTURBKIT_STRICT", raising=False)
    monkeypatch.setenv("PERTURBKIT_DATA_MIRROR", "/nonexistent")
    monkeypatch.setenv("PERTURBKIT_DATA_DIR", "/nonexistent-cache")
    sim = pk.data.simulate_perturbation(seed=0)
    with pytest.warns(UserWarning, match="stand-in"):
        out = pk.data.load("kang2018_ifnb_muscat", fallback=lambda: sim.copy(), lazy=True, chunk_size=50)
    assert _chunked.is_lazy(out.layers["counts"]) and out.layers["counts"].chunks[0][0] == 50


def test_bad_input_errors(screen, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no zarr store"):
        pk.data.read_lazy(tmp_path / "missing.zarr")
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        pk.data.to_zarr(screen, tmp_path / "x.zarr", chunk_size=0)
