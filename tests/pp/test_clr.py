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
