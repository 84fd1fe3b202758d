"""Small simulated screens shared by the screens tests (a few hundred cells, <= 60 genes)."""

from __future__ import annotations

import pytest
from anndata import AnnData

import perturbkit as pk


@pytest.fixture(scope="module")
def screen() -> AnnData:
    """Low-MOI screen, guides assigned with the mixture rule."""
    adata = pk.data.simulate_screen(n_cells=800, n_genes=40, moi=0.8, seed=0)
    pk.tl.assign_guides(adata, method="mixture")
    return adata
