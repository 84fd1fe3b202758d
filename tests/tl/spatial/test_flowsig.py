"""FlowSig: planted flows recovered with high bootstrap frequency, absent ones not; the gained
and lost edge found; FlowSig's flow model (nothing points into an inflow) always holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk
from perturbkit.tl._spatial._flowsig import _flow_edges

LR = pd.DataFrame({"ligand": ["LIGA", "LIGB", "LIGC"], "receptor": ["RECA", "RECB", "RECC"]})


def _sim(seed: int, n_cells: int = 300):
    sim = pk.data.simulate_flows(n_cells, seed=seed)
    sc.pp.normalize_total(sim)
    sc.pp.log1p(sim)
    return sim


@pytest.fixture(scope="module")
def fitted():
    sim = _sim(0)
    pk.tl.flowsig(sim, resource=LR, n_modules=5, n_bootstraps=20, seed=0)
    return sim


def _module_map(adata) -> dict[str, str]:
    """Planted module -> the GEM that loads most on its genes."""
    loadings = adata.uns["flowsig"]["modules"]
    return {m: loadings.loc[genes].sum().idxmax() for m, genes in adata.uns["truth"]["modules"].items()}


def _signal_edges(adata, condition: str, threshold: float):
    """Planted and found inflow/outflow edges (GEM names mapped back to planted modules)."""
    back = {gem: m for m, gem in _module_map(adata).items()}
    truth = adata.uns["truth"]["edges"].query("condition == @condition")
    planted = set(zip(truth["source"], truth["target"], strict=True))
    e = adata.uns["flowsig"]["edges"].query("condition == @condition and (source_type != 'module' or target_type != 'module')")
    freq = {(back.get(s, s), back.get(t, t)): f for s, t, f in zip(e["source"], e["target"], e["frequency"], strict=True)}
    found = {k for k, f in freq.items() if f >= threshold}
    return planted, found, freq


def test_modules_recovered(fitted):
    mapping = _module_map(fitted)
    assert len(set(mapping.values())) == 3, mapping  # three planted modules, three different GEMs
    var = fitted.uns["flowsig"]["variables"]
    for m, gem in mapping.items():
        assert var.loc[gem, "genes"].startswith(f"MOD{m[-1]}_"), var


@pytest.mark.parametrize("condition", ["control", "stimulated"])
def test_planted_flows_high_frequency_absent_low(fitted, condition):
    planted, found, freq = _signal_edges(fitted, condition, 0.7)
    assert all(freq.get(edge, 0.0) >= 0.8 for edge in planted), (planted, freq)
    absent = {k: f for k, f in freq.items() if k not in planted}
    assert all(f <= 0.2 for f in absent.values()), absent
    precision = len(found & planted) / len(found)
    recall = len(found & planted) / len(planted)
    assert precision == 1.0 and recall == 1.0, (precision, recall, found, planted)


@pytest.mark.parametrize("seed", [1, 2])
def test_recovery_other_seeds(seed):
    sim = _sim(seed)
    pk.tl.flowsig(sim, resource=LR, n_modules=5, n_bootstraps=10, seed=seed)
    for condition in ("control", "stimulated"):
        planted, found, _ = _signal_edges(sim, condition, 0.7)
        assert len(found & planted) / len(planted) >= 0.8
        assert len(found & planted) / max(len(found), 1) >= 0.8, (found, planted)


def test_changes_gained_and_lost(fitted):
    ch = pk.tl.flowsig_changes(fitted, control="control")
    mapping = _module_map(fitted)
    signal = ch[(ch["source_type"] == "inflow") | (ch["target_type"] == "outflow")]
    changed = {(r.source, r.target): r.status for r in signal.itertuples() if r.status != "kept"}
    assert changed == {("RECC", mapping["module3"]): "gained", ("RECB", mapping["module2"]): "lost"}, changed
    row = ch.set_index(["source", "target"]).loc[("RECC", mapping["module3"])]
    assert row["delta"] >= 0.8 and row["frequency_control"] <= 0.2
    assert set(ch.columns) == {"condition", "source", "target", "source_type", "target_type",
                               "frequency_control", "frequency", "delta", "status"}


def test_flow_model_holds(fitted):
    e = fitted.uns["flowsig"]["edges"]
    assert (e["target_type"] != "inflow").all()
    assert (e["source_type"] != "outflow").all()
    assert not ((e["source_type"] == "inflow") & (e["target_type"] == "outflow")).any()
    assert e["frequency"].between(0, 1).all()


def test_flow_edges_follow_flowsig_rules():
    types = np.array(["inflow", "module", "module", "outflow"])
    g = np.zeros((4, 4))
    g[0, 1] = g[1, 0] = -1  # inflow -- module: oriented inflow -> module
    g[3, 2], g[2, 3] = -1, 1  # outflow -> module: against the flow, dropped
    g[1, 2] = g[2, 1] = -1  # module -- module: both directions
    g[0, 3], g[3, 0] = -1, 1  # inflow -> outflow: not in the model
    kept = {(int(i), int(j)) for i, j in zip(*np.nonzero(_flow_edges(g, types)), strict=True)}
    assert kept == {(0, 1), (1, 2), (2, 1)}
    g2 = np.zeros((4, 4))
    g2[2, 3], g2[3, 2] = -1, 1  # module -> outflow: kept
    assert _flow_edges(g2, types)[2, 3] and not _flow_edges(g2, types)[3, 2]


def test_keys_copy_and_seed():
    sim = _sim(0, n_cells=150)
    out = pk.tl.flowsig(sim, resource=LR, n_modules=4, n_bootstraps=3, seed=3, copy=True)
    assert "flowsig" not in sim.uns and "flowsig_variables" not in sim.obsm
    res = out.uns["flowsig"]
    assert list(res["variables"]["type"].value_counts().sort_index()) == [3, 4, 3]
    assert out.obsm["flowsig_variables"].shape == (300, 10)
    assert res["modules"].shape[1] == 4 and not res["modules"].index.str.startswith(("LIG", "REC")).any()
    assert res["params"]["n_bootstraps"] == 3
    again = pk.tl.flowsig(sim, resource=LR, n_modules=4, n_bootstraps=3, seed=3, copy=True)
    pd.testing.assert_frame_equal(res["edges"], again.uns["flowsig"]["edges"])


def test_runs_on_the_communication_stand_in():
    sim = pk.data.simulate_communication(seed=0)
    sc.pp.normalize_total(sim)
    sc.pp.log1p(sim)
    pk.tl.flowsig(sim, resource=sim.uns["truth"]["lr_pairs"], n_modules=4, n_bootstraps=2)
    assert set(sim.uns["flowsig"]["edges"]["condition"]) <= {"control", "stimulated"}


def test_bad_input():
    sim = _sim(0, n_cells=50)
    with pytest.raises(KeyError, match="nope"):
        pk.tl.flowsig(sim, resource=LR, groupby="nope")
    with pytest.raises(ValueError, match="fewer than 20 cells"):
        pk.tl.flowsig(sim[:60].copy(), resource=LR)
    with pytest.raises(ValueError, match="no ligand"):
        pk.tl.flowsig(sim, resource=LR, min_frac=1.01)
    with pytest.raises(ValueError, match="alpha"):
        pk.tl.flowsig(sim, resource=LR, alpha=5)
    neg = sim.copy()
    neg.X = neg.X.toarray() - 1.0
    with pytest.raises(ValueError, match="non-negative"):
        pk.tl.flowsig(neg, resource=LR)
    with pytest.raises(KeyError, match="pk.tl.flowsig"):
        pk.tl.flowsig_changes(sim)
    pk.tl.flowsig(sim, resource=LR, n_modules=3, n_bootstraps=1)
    with pytest.raises(ValueError, match="'ctrl' not found"):
        pk.tl.flowsig_changes(sim, control="ctrl")
    with pytest.raises(ValueError, match="min_frequency"):
        pk.tl.flowsig_changes(sim, min_frequency=0)
