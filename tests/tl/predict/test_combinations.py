from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def combo():
    return pk.data.simulate_combinations(n_genes=150, seed=0)


def _split(combo, seed=0):
    names = np.array(combo.uns["truth"]["pairs"].index)
    rng = np.random.default_rng(seed)
    rng.shuffle(names)
    return list(names[: len(names) // 2]), list(names[len(names) // 2:])


def _errors(pred: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    err = pred.assign(additive=(pred["observed"] - pred["additive"]) ** 2,
                      model=(pred["observed"] - pred["model"]) ** 2).groupby("pair")[["additive", "model"]].mean()
    return err.join(pairs)


def test_simulator_plants_interactions(combo) -> None:
    pairs = combo.uns["truth"]["pairs"]
    eff = combo.uns["truth"]["effects"]
    assert set(pairs["kind"]) == {"additive", "synergy", "buffering"}
    a, b = pairs[pairs["module"] == -1].index[0].split("+")
    assert np.allclose(eff.loc[f"{a}+{b}"], eff.loc[a] + eff.loc[b])
    syn = pairs[pairs["kind"] == "synergy"].index[0]
    a, b = syn.split("+")
    assert np.abs(eff.loc[syn]).sum() > np.abs(eff.loc[a] + eff.loc[b]).sum()
    assert combo.obs.loc["control", "n_perturbations"] == 0


def test_model_beats_additive_on_interacting_pairs(combo) -> None:
    train, test = _split(combo)
    fit = pk.tl.predict_combinations(combo, train=train, test=test)
    err = _errors(fit.predictions, combo.uns["truth"]["pairs"])
    inter = err[err["kind"] != "additive"]
    assert (inter["model"] < inter["additive"]).mean() > 0.9
    assert inter["model"].mean() < 0.3 * inter["additive"].mean()
    add = err[err["kind"] == "additive"]
    assert add["model"].mean() == pytest.approx(add["additive"].mean(), rel=0.1)  # nothing to gain
    assert fit.loss.empty and fit.params["model"] == "community"
    coefs = sorted(fit.coefficients)
    assert coefs[0] < -0.4 and coefs[-1] > 0.4  # buffering and synergy recovered


def test_unseen_module_stays_additive(combo) -> None:
    pairs = combo.uns["truth"]["pairs"]
    held = pairs[pairs["module"] == 1].index  # a synergy module with no training pair
    train = [p for p in pairs.index if p not in set(held)][::2]
    pred = pk.tl.predict_combinations(combo, train=train, test=list(held)).predictions
    assert np.allclose(pred["model"], pred["additive"])


def test_bad_input(combo) -> None:
    pairs = list(combo.uns["truth"]["pairs"].index)
    with pytest.raises(ValueError, match="share pairs"):
        pk.tl.predict_combinations(combo, train=pairs[:3], test=pairs[2:5])
    with pytest.raises(ValueError, match="must be 'A\\+B'"):
        pk.tl.predict_combinations(combo, train=["P0+P99"], test=pairs[:2])
    with pytest.raises(ValueError, match="control label"):
        pk.tl.predict_combinations(combo, train=pairs[:2], test=pairs[2:4], control="ctrl")
    with pytest.raises(ValueError, match="module kinds"):
        pk.data.simulate_combinations(module_kinds=("epistatic",))


def test_deterministic(combo) -> None:
    train, test = _split(combo, seed=1)
    a = pk.tl.predict_combinations(combo, train=train, test=test)
    b = pk.tl.predict_combinations(combo, train=train, test=test)
    assert a.predictions.equals(b.predictions) and a.coefficients.equals(b.coefficients)


def test_simulator_seeded() -> None:
    a = pk.data.simulate_combinations(n_genes=100, seed=3)
    b = pk.data.simulate_combinations(n_genes=100, seed=3)
    c = pk.data.simulate_combinations(n_genes=100, seed=4)
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.X, c.X)
    with pytest.raises(ValueError, match="too small"):
        pk.data.simulate_combinations(n_genes=20)


@pytest.fixture(scope="module")
def gnn_run(combo):
    train, test = _split(combo)
    return pk.tl.predict_combinations(combo, train=train, test=test, model="gnn", epochs=300, seed=0)


def test_gnn_beats_additive_on_seen_interactions(combo, gnn_run) -> None:
    err = _errors(gnn_run.predictions, combo.uns["truth"]["pairs"])
    for kind in ("synergy", "buffering"):
        inter = err[err["kind"] == kind]
        assert inter["model"].mean() < 0.85 * inter["additive"].mean(), (kind, inter[["additive", "model"]].mean())
    assert len(gnn_run.loss) == 300 and gnn_run.loss.iloc[-1] < 0.1 * gnn_run.loss.iloc[0]
    assert gnn_run.coefficients.empty


def test_gnn_invents_no_interaction_on_additive_pairs(combo, gnn_run) -> None:
    err = _errors(gnn_run.predictions, combo.uns["truth"]["pairs"])
    add = err[err["kind"] == "additive"]
    assert add["model"].mean() <= 1.1 * add["additive"].mean()
    # predicted non-additive part on additive pairs stays at the noise level of the measured
    # singles (sd 0.05 per condition mean, so ~0.01 for A+B-A-B+control), far below the
    # planted synergy (~0.07)
    pred = gnn_run.predictions
    part = pred.assign(d=(pred["model"] - pred["additive"]) ** 2).groupby("pair")["d"].mean()
    assert part[add.index].mean() < 0.015, part[add.index].mean()


def test_gnn_deterministic(combo) -> None:
    train, test = _split(combo, seed=1)
    a = pk.tl.predict_combinations(combo, train=train, test=test, model="gnn", epochs=30, seed=2)
    b = pk.tl.predict_combinations(combo, train=train, test=test, model="gnn", epochs=30, seed=2)
    c = pk.tl.predict_combinations(combo, train=train, test=test, model="gnn", epochs=30, seed=3)
    assert a.predictions.equals(b.predictions) and a.loss.equals(b.loss)
    assert not np.allclose(a.predictions["model"], c.predictions["model"])


def test_gnn_bad_input(combo) -> None:
    pairs = list(combo.uns["truth"]["pairs"].index)
    with pytest.raises(ValueError, match="model must be 'community' or 'gnn'"):
        pk.tl.predict_combinations(combo, train=pairs[:2], test=pairs[2:4], model="gears")
    no_single = combo[combo.obs["perturbation"] != "P0"].copy()
    with pytest.raises(ValueError, match="must be 'A\\+B'"):
        pk.tl.predict_combinations(no_single, train=[p for p in pairs if "P0+" not in p][:4], test=["P0+P1"],
                                   model="gnn")
