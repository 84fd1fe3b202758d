"""Simulated tissues shared by the spatial tests (each module picks its size and seed)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
import scanpy as sc
from anndata import AnnData

import perturbkit as pk


@pytest.fixture(scope="session")
def make_tissue() -> Callable[..., AnnData]:
    """``make_tissue(n_cells, seed=..., **kw)``: a log-normalised simulated tissue."""

    def make(n_cells: int, **kwargs: object) -> AnnData:
        ad = pk.data.simulate_tissue(n_cells, **kwargs)
        sc.pp.normalize_total(ad)
        sc.pp.log1p(ad)
        return ad

    return make


@pytest.fixture(scope="module")
def pairs(tissue: AnnData) -> pd.DataFrame:
    """The planted ligand-receptor pairs of the module's ``tissue``."""
    return tissue.uns["truth"]["lr_pairs"][["ligand", "receptor"]]
