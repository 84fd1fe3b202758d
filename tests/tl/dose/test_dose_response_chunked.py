"""pk.tl.dose_response fitted in blocks of genes (gene_chunk, lazy input) equals the one-block fit."""

from __future__ import annotations

import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk


@pytest.fixture(scope="module")
def cells():
    # two drugs, so the table's perturbation-major order is exercised across blocks
    sim = pk.data.simulate_dose_response(n_cell_types=1, ec50=[1.0], hill=1.0, n_genes=23, n_response_genes=6,
                                         n_cells=40, effect_size=2.5, resistant_fraction=0.0,
                                         doses=(0, 0.03, 0.3, 3, 30), drugs=("drugA", "drugB"), seed=1)
    sc.pp.normalize_total(sim, target_sum=1e4)
    sc.pp.log1p(sim)
    return sim


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert list(zip(a["group"], a["feature"], strict=True)) == list(zip(b["group"], b["feature"], strict=True))
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=False, rtol=1e-10,
                                  atol=1e-12)


def test_gene_blocks_give_the_one_block_table(cells):
    whole = pk.tl.dose_response(cells, gene_chunk=cells.n_vars)
    assert len(whole) == 2 * cells.n_vars
    # the planted responders are called (6 per drug), so the BH-dependent columns are exercised
    assert whole.groupby("group")["responsive"].sum().min() >= 5
    for chunk in (1, 5, 7):
        _same(pk.tl.dose_response(cells, gene_chunk=chunk), whole)
    # the default picks its own block size and gives the same table
    _same(pk.tl.dose_response(cells), whole)


def test_lazy_input_is_read_per_gene_block(cells, tmp_path):
    pytest.importorskip("dask")
    pytest.importorskip("zarr")
    whole = pk.tl.dose_response(cells)
    on_disk = cells.copy()
    on_disk.uns.pop("log1p")  # scanpy's marker holds a None zarr cannot store
    lazy = pk.data.read_lazy(pk.data.to_zarr(on_disk, tmp_path / "dose.zarr", chunk_size=50), chunk_size=50)
    assert type(lazy.X).__module__.startswith("dask")
    _same(pk.tl.dose_response(lazy, gene_chunk=6), whole)


def test_bad_gene_chunk_names_the_value(cells):
    with pytest.raises(ValueError, match="gene_chunk must be >= 1, got 0"):
        pk.tl.dose_response(cells, gene_chunk=0)
