"""simulate_flows: planted receptor -> module -> ligand dependencies, per condition."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


def _corr(adata, condition, a, b):
    cells = (adata.obs["perturbation"] == condition).to_numpy()
    x = np.log1p(adata.layers["counts"].toarray()[cells])
    genes = list(adata.var_names)

    def score(name):
        cols = [i for i, g in enumerate(genes) if g.startswith(name)]
        return x[:, cols].mean(axis=1)

    return np.corrcoef(score(a), score(b))[0, 1]


def test_planted_dependencies():
    sim = pk.data.simulate_flows(500, seed=0)
    assert sim.shape == (1000, 3 + 36 + 3 + 200)
    assert list(sim.obs["perturbation"].cat.categories) == ["control", "stimulated"]
    edges = sim.uns["truth"]["edges"]
    assert len(edges) == 10
    assert _corr(sim, "control", "RECA", "MOD1") > 0.3 and _corr(sim, "stimulated", "RECA", "MOD1") > 0.3
    assert _corr(sim, "control", "RECB", "MOD2") > 0.3 > abs(_corr(sim, "stimulated", "RECB", "MOD2")) + 0.2
    assert _corr(sim, "stimulated", "RECC", "MOD3") > 0.3 > abs(_corr(sim, "control", "RECC", "MOD3")) + 0.2
    assert _corr(sim, "control", "MOD3", "LIGC") > 0.3
    assert abs(_corr(sim, "control", "RECA", "MOD2")) < 0.1


def test_seeded_and_errors():
    a, b = pk.data.simulate_flows(50, seed=4), pk.data.simulate_flows(50, seed=4)
    assert (a.X != b.X).nnz == 0
    with pytest.raises(ValueError, match="n_cells"):
        pk.data.simulate_flows(5)
    with pytest.raises(ValueError, match="module_size"):
        pk.data.simulate_flows(50, module_size=1)
    with pytest.raises(ValueError, match="control label"):
        pk.data.simulate_flows(50, perturbation="control")
