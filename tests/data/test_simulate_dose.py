"""The dose simulators: shapes, seeds and planted truth that the fitters recover."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def test_simulate_dose_table_shape_and_seed():
    a = pk.data.simulate_dose_table(n_groups=2, seed=0)
    b = pk.data.simulate_dose_table(n_groups=2, seed=0)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["perturbation", "dose", "dose_unit", "replicate", "response",
                               "true_b", "true_c", "true_d", "true_e"]
    assert a.groupby("perturbation")["true_e"].first()["drug1"] == pytest.approx(12.0)
    with pytest.raises(ValueError, match="no free parameter"):
        pk.data.simulate_dose_table(model="LL.3", params={"c": 1.0})


def test_simulate_dose_response_schema_and_truth():
    sim = pk.data.simulate_dose_response(n_genes=50, n_cells=30, seed=0)
    assert {"perturbation", "dose", "dose_unit", "cell_type", "replicate", "well"} <= set(sim.obs)
    assert (sim.obs.loc[sim.obs["dose"] == 0, "perturbation"] == pk.data.CONTROL).all()
    assert "counts" in sim.layers and sim.X.shape == (sim.n_obs, 50)
    truth = sim.uns["truth"]
    assert truth["ec50"] == {"type0": 0.1, "type1": 1.0, "type2": 10.0}
    assert truth["resistant"].shape == (sim.n_obs,) and truth["resistant"].dtype == bool
    assert truth["resistant"][sim.obs["cell_type"].to_numpy() != "type0"].sum() == 0
    again = pk.data.simulate_dose_response(n_genes=50, n_cells=30, seed=0)
    assert (again.X != sim.X).nnz == 0


def test_cell_numbers_recover_planted_ec50():
    """Viability from surviving cell numbers per well: a binomial LL.2 fit finds each EC50."""
    sim = pk.data.simulate_dose_response(n_genes=20, n_cells=200, resistant_fraction=0.0, seed=1)
    counts = sim.obs.groupby(["cell_type", "dose", "replicate"], observed=True).size().rename("n").reset_index()
    seeded = sim.uns["truth"]["seeded"]
    for cell_type, sub in counts.groupby("cell_type"):
        fit = pk.dose.fit_curve(sub["dose"], sub["n"] / seeded, model="LL.2", type="binomial",
                                weights=np.full(len(sub), seeded))
        assert fit.converged
        assert fit.params["e"] == pytest.approx(sim.uns["truth"]["ec50"][cell_type], rel=0.25)
        assert fit.params["b"] == pytest.approx(sim.uns["truth"]["hill"], rel=0.25)


def test_simulate_response_transfer_planted_subclones():
    bulk, cells = pk.data.simulate_response_transfer(n_subclones=4, seed=0)
    plain_bulk, plain_cells = pk.data.simulate_response_transfer(seed=0)
    np.testing.assert_array_equal(bulk.X, plain_bulk.X)  # the lines never get subclones
    assert "subclone" not in plain_cells.obs and cells.obs["subclone"].value_counts().to_dict() == {
        "c0": 150, "c1": 150, "c2": 150, "c3": 150}
    prog = cells.obs.groupby("subclone")["programme"]
    np.testing.assert_allclose(prog.mean(), [-1.5, -0.5, 0.5, 1.5], atol=0.1)  # planted means
    np.testing.assert_allclose(prog.std(), 0.5, atol=0.06)  # within-subclone SD
    # a subclone mostly responds as one: c0 nearly all sensitive, c3 nearly all resistant
    resistant = cells.obs.groupby("subclone")["resistant"].mean()
    assert resistant["c0"] < 0.01 and resistant["c3"] > 0.99, resistant
    with pytest.raises(ValueError, match="n_subclones"):
        pk.data.simulate_response_transfer(n_subclones=1)
