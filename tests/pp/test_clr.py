from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


def test_clr_matches_seurat_formula_and_removes_cell_depth() -> None:
    adt = pk.data.simulate_protein_screen(n_cells=400, seed=1)
    x = adt.X.astype(float)
    pk.pp.clr(adt)
    g = np.exp(np.log1p(x).sum(1, keepdims=True) / x.shape[1])  # Seurat: exp(sum(log1p(x[x>0]))/length(x))
    assert adt.layers["clr"] == pytest.approx(np.log1p(x / g))
    # a cell with every tag doubled keeps nearly the same per-cell CLR profile (depth cancels)
    b = adt[:1].copy()
    b.X = b.X * 2
    pk.pp.clr(b)
    assert np.abs(b.layers["clr"] - adt.layers["clr"][:1]).max() < 0.1
    f = pk.pp.clr(adt, axis="feature", copy=True)
    gf = np.exp(np.log1p(x).sum(0, keepdims=True) / x.shape[0])
    assert f.layers["clr"] == pytest.approx(np.log1p(x / gf))
    assert f.uns["clr"]["params"]["axis"] == "feature"


def test_clr_bad_input() -> None:
    adt = pk.data.simulate_protein_screen(n_cells=100, seed=0)
    with pytest.raises(ValueError, match="axis must be 'cell' or 'feature'"):
        pk.pp.clr(adt, axis="row")
    with pytest.raises(KeyError, match="adata.layers has no 'adt'"):
        pk.pp.clr(adt, layer="adt")
    adt.X[0, 0] = -1
    with pytest.raises(ValueError, match="adata.X"):
        pk.pp.clr(adt)


def test_clr_hand_computed() -> None:
    """Seurat's CLR on two tags by hand: cell [1, 3] has g = exp((ln 2 + ln 4) / 2) = sqrt(8)."""
    import anndata as ad

    a = ad.AnnData(np.array([[1.0, 3.0], [0.0, 7.0]]))
    pk.pp.clr(a)
    g0, g1 = np.sqrt(8.0), np.exp(np.log(8.0) / 2)  # second cell: (ln 1 + ln 8) / 2, the zero counts as log1p(0)
    expected = np.array([[np.log1p(1 / g0), np.log1p(3 / g0)], [0.0, np.log1p(7 / g1)]])
    np.testing.assert_allclose(a.layers["clr"], expected, rtol=1e-12)
    np.testing.assert_allclose(expected, [[0.3027, 0.7230], [0.0, 1.2456]], atol=1e-4)  # the numbers themselves
