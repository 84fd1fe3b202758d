"""Small simulated experiments with planted truth, shared by the principles tests."""

from __future__ import annotations

import pytest
import scanpy as sc

import perturbkit as pk


def _embed(adata, n_comps=10):
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    sc.pp.pca(adata, n_comps=n_comps, random_state=0)
    return adata


@pytest.fixture
def sim():
    """3 cell types x 3 donors x 2 conditions, 40 cells each; type2 is a planted null."""
    return _embed(pk.data.simulate_perturbation(n_cells=40, n_genes=80, seed=1))


@pytest.fixture
def sim_counts():
    return pk.data.simulate_perturbation(n_cells=30, n_genes=60, seed=2)
