"""pk.tl.assign_guides reads the guide matrix in blocks of cells and gives the per-cell rule's calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk
from perturbkit.tl._screens import _guides


def _per_cell(adata, method: str, min_umis: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rule written one cell at a time (the implementation before the blocks), as reference."""
    dense = adata.obsm["guide_counts"].toarray()
    table = adata.uns["guides"].loc[list(adata.uns["guide_names"])]
    names, targets = table.index.to_numpy(str), table["target"].to_numpy(str)
    guide = np.full(dense.shape[0], "unassigned", dtype=object)
    target = guide.copy()
    n_guides = np.zeros(dense.shape[0], dtype=int)
    if method == "mixture":
        positive = np.column_stack([(pk.tl.guide_mixture(dense[:, j])["posterior"] >= 0.5) & (dense[:, j] >= min_umis)
                                    for j in range(dense.shape[1])])
    for i, row in enumerate(dense):
        if method == "max":
            top = row.max()
            if top < max(min_umis, 1):
                continue
            hit_t = set(targets[row == top])
            if len(hit_t) > 1:
                guide[i] = target[i] = "multiple"
                n_guides[i] = len(hit_t)
            else:
                guide[i], target[i], n_guides[i] = names[row.argmax()], targets[row.argmax()], 1
        else:
            hits = np.flatnonzero(positive[i])
            n_guides[i] = hits.size
            if hits.size == 0:
                continue
            if len(set(targets[hits])) == 1:
                best = hits[np.argmax(row[hits])]
                guide[i] = names[best] if hits.size == 1 else "multiple"
                target[i] = targets[best]
            else:
                guide[i] = target[i] = "multiple"
    return guide.astype(str), target.astype(str), n_guides


@pytest.fixture(scope="module")
def screen():
    adata = pk.data.simulate_screen(n_cells=1500, n_genes=20, seed=2)
    # a few exact ties between guides of different targets, so the "multiple" branch is exercised
    gc = adata.obsm["guide_counts"].toarray()
    gc[:25, 0] = gc[:25, -1] = 9
    adata.obsm["guide_counts"] = type(adata.obsm["guide_counts"])(gc)
    return adata


@pytest.mark.parametrize("method", ["max", "mixture"])
def test_blocks_equal_the_per_cell_rule(screen, monkeypatch, method) -> None:
    whole = pk.tl.assign_guides(screen, method=method, copy=True)
    guide, target, n_guides = _per_cell(screen, method)
    assert (whole.obs["guide"].astype(str).to_numpy() == guide).all()
    assert (whole.obs["target"].astype(str).to_numpy() == target).all()
    np.testing.assert_array_equal(whole.obs["n_guides"].to_numpy(), n_guides)
    assert (target == "multiple").sum() >= 20 and (target == "unassigned").sum() < len(target)
    monkeypatch.setattr(_guides, "GUIDE_BLOCK", 37)  # many blocks, one not full
    blocks = pk.tl.assign_guides(screen, method=method, copy=True)
    pd.testing.assert_frame_equal(blocks.obs, whole.obs)
    if method == "mixture":
        pd.testing.assert_frame_equal(blocks.uns["guide"]["mixture"], whole.uns["guide"]["mixture"])
        # planted truth: cells whose one guide was captured get that guide's target
        cells = screen.uns["truth"]["cells"].iloc[25:]
        one = cells[(cells["n_guides"] == 1) & (cells["captured"] != "")]
        assert len(one) > 300
        hit = blocks.obs.loc[one.index, "target"].astype(str) == one["target"].astype(str)
        assert hit.mean() > 0.9, hit.mean()


def test_lazy_store_gives_the_same_calls(screen, tmp_path) -> None:
    pytest.importorskip("dask")
    pytest.importorskip("zarr")
    plain = screen.copy()
    plain.uns = {k: screen.uns[k] for k in ("guide_names", "guides")}
    lazy = pk.data.read_lazy(pk.data.to_zarr(plain, tmp_path / "g.zarr", chunk_size=200), chunk_size=200)
    pk.tl.assign_guides(lazy, method="mixture")
    whole = pk.tl.assign_guides(screen, method="mixture", copy=True)
    for col in ("guide", "target", "perturbation", "n_guides"):
        assert (lazy.obs[col].astype(str).to_numpy() == whole.obs[col].astype(str).to_numpy()).all(), col
