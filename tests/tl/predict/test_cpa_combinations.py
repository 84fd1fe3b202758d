import numpy as np
import pytest
from scipy.stats import spearmanr

import perturbkit as pk


@pytest.fixture(scope="module")
def sim():
    return pk.data.simulate_latent_combinations(n_perturbations=6, n_interacting=3, n_cells=30, seed=0)


@pytest.fixture(scope="module")
def held_out(sim):
    return pk.tl.cpa_combination_benchmark(sim, n_epochs=150, seed=0)


def _explained(res):
    g = res.groupby("method")
    return 1 - g["sse"].sum() / g["obs_ss"].sum()


def test_layout_and_baselines(sim, held_out):
    res = held_out
    pairs = sim.uns["truth"]["pairs"]
    assert set(res["method"]) == {"control", "additive", "cpa"}
    assert sorted(res["perturbation"].unique()) == sorted(pairs.index) and len(res) == 15 * 3
    assert (res["n_perturbations"] == 2).all() and (res["n_cells"] == 30).all()
    np.testing.assert_allclose(res.loc[res["method"] == "control", "shift_explained"], 0.0)
    # the additive baseline is the sum of the singles' observed signatures, by hand
    x = sim.X
    lab = sim.obs["perturbation"].astype(str).to_numpy()
    mean = {g: x[lab == g].mean(0) for g in ("control", "P0", "P1", "P0+P1")}
    add = mean["P0"] + mean["P1"] - 2 * mean["control"]
    obs = mean["P0+P1"] - mean["control"]
    row = res[(res["perturbation"] == "P0+P1") & (res["method"] == "additive")].iloc[0]
    assert row["sse"] == pytest.approx(float(((add - obs) ** 2).sum()), rel=1e-5)


def test_additive_baseline_is_exact_when_expression_adds_up():
    # cells built additively in expression space, no noise: the additive baseline is exact
    sim = pk.data.simulate_latent_combinations(n_perturbations=3, n_interacting=0, n_cells=20, noise=0.0, seed=1)
    rng = np.random.default_rng(0)
    lab = sim.obs["perturbation"].astype(str).to_numpy()
    sig = {p: rng.normal(size=sim.n_vars) for p in ("P0", "P1", "P2")}
    base = rng.normal(size=sim.n_vars)
    sim.X = np.vstack([base + sum((sig[p] for p in g.split("+")), np.zeros(sim.n_vars)) if g != "control" else base
                       for g in lab]).astype(np.float32)
    res = pk.tl.cpa_combination_benchmark(sim, n_epochs=5)
    assert (res.loc[res["method"] == "additive", "shift_explained"] > 1 - 1e-5).all()


def test_cpa_composes_latent_additive_pairs(sim, held_out):
    res = held_out
    kind = sim.uns["truth"]["pairs"]["kind"]
    additive = res[res["perturbation"].map(kind) == "additive"]
    ex = _explained(additive)
    # never trained on a pair, CPA's sum of single embeddings recovers most of the pairs' shift
    assert ex["cpa"] > 0.6, ex
    assert ex["cpa"] > ex["control"] + 0.6, ex
    # planted interactions are beyond both predictors: they explain less there
    inter = _explained(res[res["perturbation"].map(kind) == "interacting"])
    assert inter["cpa"] < ex["cpa"] and inter["additive"] < ex["additive"], (inter, ex)


def test_cpa_gains_where_expression_is_not_additive(sim, held_out):
    # the decoder saturates: where the sum of single shifts misses a latent-additive pair's
    # true shift (large planted expression gap), CPA's latent sum gains on the additive baseline
    pairs = sim.uns["truth"]["pairs"]
    w = held_out.pivot(index="perturbation", columns="method", values="shift_explained")
    lat = pairs.index[pairs["kind"] == "additive"]
    rho = spearmanr(w.loc[lat, "cpa"] - w.loc[lat, "additive"], pairs.loc[lat, "true_expression_gap"])[0]
    assert rho > 0.3, rho
    close = lat[pairs.loc[lat, "true_expression_gap"] < 0.1]
    # and where expression itself adds up, the additive baseline is the one to beat
    assert _explained(held_out[held_out["perturbation"].isin(close)]).pipe(lambda e: e["additive"] > e["cpa"])


def test_training_on_some_pairs_uses_the_sum_of_embeddings(sim):
    train = ["P0+P1", "P2+P3"]
    res = pk.tl.cpa_combination_benchmark(sim, train_combinations=train, n_epochs=150, seed=0)
    assert not set(train) & set(res["perturbation"]) and res["perturbation"].nunique() == 13
    kind = sim.uns["truth"]["pairs"]["kind"]
    ex = _explained(res[res["perturbation"].map(kind) == "additive"])
    assert ex["cpa"] > 0.6, ex


def test_same_seed_same_numbers(sim):
    a = pk.tl.cpa_combination_benchmark(sim, n_epochs=10, hidden=16, seed=3)
    b = pk.tl.cpa_combination_benchmark(sim, n_epochs=10, hidden=16, seed=3)
    np.testing.assert_allclose(a["sse"], b["sse"])


def test_bad_input(sim):
    singles_only = sim[sim.obs["n_perturbations"] < 2].copy()
    with pytest.raises(ValueError, match="no combination"):
        pk.tl.cpa_combination_benchmark(singles_only)
    no_p0 = sim[sim.obs["perturbation"] != "P0"].copy()
    with pytest.raises(ValueError, match="'P0'"):
        pk.tl.cpa_combination_benchmark(no_p0)
    with pytest.raises(ValueError, match="'P9\\+P0'"):
        pk.tl.cpa_combination_benchmark(sim, train_combinations=["P9+P0"])
    with pytest.raises(KeyError, match="condition"):
        pk.tl.cpa_combination_benchmark(sim, groupby="condition")
    with pytest.raises(ValueError, match="'vehicle'"):
        pk.tl.cpa_combination_benchmark(sim, control="vehicle")
