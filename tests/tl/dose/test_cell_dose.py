"""Single-cell dose response on the simulator: viability from cell numbers, resistant cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def sim():
    return pk.data.simulate_dose_response(n_genes=40, n_cells=80, doses=(0, 0.001, 0.01, 0.1, 1, 10, 100, 1000),
                                          seed=0)


def test_cell_viability_recovers_planted_ec50(sim):
    v = pk.tl.cell_viability(sim)
    assert {"cell_type", "well", "dose", "n_cells", "viability"} <= set(v.columns)
    assert v["n_cells"].dtype.kind == "i"
    fits = pk.dose.fit_curves(v, dose="dose", response="viability", groupby="cell_type", model="LL.2")
    est = fits.set_index("cell_type")["e"]
    truth = pd.Series(sim.uns["truth"]["ec50"])
    # sensitive types within a factor 2; the type with resistant cells looks less sensitive
    for t in ("type1", "type2"):
        assert est[t] == pytest.approx(truth[t], rel=0.5)
    assert est["type0"] >= truth["type0"] * 0.8
    with pytest.raises(ValueError, match="control"):
        pk.tl.cell_viability(sim, control="DMSO")


def test_resistant_cells_found(sim):
    t = sim.uns["truth"]
    sig = pd.DataFrame({"source": "sig", "target": t["log_fc"].index, "weight": np.sign(t["log_fc"].to_numpy())})
    cells = sim.copy()
    pk.tl.gene_set_scores(cells, sig[sig["weight"] != 0])
    cells.obs["score"] = cells.obsm["gene_set_scores"]["sig"]
    out = pk.tl.resistant_cells(cells, score_key="score", ec50=t["ec50"], copy=True)
    assert "resistant" not in cells.obs and out.obs["resistant"].dtype == bool
    called = out.obs["resistant"].to_numpy()
    planted = t["resistant"]
    assert planted[called].mean() > 0.7  # precision
    assert called[out.obs["resistant_evaluated"].to_numpy() & planted].mean() > 0.5  # recall
    with pytest.raises(ValueError, match="ec50 has no value"):
        pk.tl.resistant_cells(cells, score_key="score", ec50={"type0": 0.1})
