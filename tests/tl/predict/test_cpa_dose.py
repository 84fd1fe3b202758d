import numpy as np
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def plate():
    return pk.data.simulate_dose_plate(n_compounds=10, n_genes=50, noise=0.3, seed=0)


@pytest.fixture(scope="module")
def held_out_doses(plate):
    return pk.tl.cpa_dose_benchmark(plate, holdout="doses", n_epochs=250, seed=0)


def _explained(res):
    g = res.groupby("method")
    return 1 - g["sse"].sum() / g["obs_ss"].sum()


def test_simulated_plate_has_planted_hill_curves():
    plate = pk.data.simulate_dose_plate(n_compounds=4, n_genes=20, noise=0.0, seed=1)
    sig = plate.uns["truth"]["signature"]
    ctrl = plate[plate.obs["perturbation"] == "control"].X.mean(0)
    treated = plate[plate.obs["perturbation"] != "control"]
    np.testing.assert_allclose(treated.X - ctrl, sig.to_numpy(), atol=1e-5)
    # monotone in dose along each compound's direction
    for comp in ["c00", "c01", "c02", "c03"]:
        rows = sig.loc[treated.obs_names[treated.obs["perturbation"] == comp]]
        norms = np.linalg.norm(rows.to_numpy(), axis=1)
        assert (np.diff(norms) > 0).all()


def test_layout_and_baselines(plate, held_out_doses):
    res = held_out_doses
    assert set(res["method"]) == {"control", "nearest_dose", "log_linear", "cpa"}
    # the interior doses are held out, each for every compound
    assert sorted(res["dose"].unique()) == [0.12, 0.37, 1.11, 3.33]
    assert len(res) == 4 * 10 * 4
    ctrl = res[res["method"] == "control"]
    np.testing.assert_allclose(ctrl["shift_explained"], 0.0)


def test_log_linear_baseline_is_exact_between_doses():
    # with noise-free, log-linear signatures, interpolation in log dose is exact
    plate = pk.data.simulate_dose_plate(n_compounds=3, n_genes=20, noise=0.0, seed=2)
    dose = plate.obs["dose"].to_numpy()
    is_t = dose > 0
    ctrl = plate.X[~is_t].mean(0)
    direction = np.random.default_rng(0).normal(size=20)
    plate.X[is_t] = ctrl + np.log(dose[is_t] / 0.01)[:, None] * direction
    res = pk.tl.cpa_dose_benchmark(plate, holdout="doses", n_epochs=5)
    lin = res[res["method"] == "log_linear"]
    assert (lin["shift_explained"] > 1 - 1e-6).all()


def test_cpa_recovers_planted_dose_response_better_than_baselines(held_out_doses):
    # held-out wells carry independent noise, so the ranking by error against the observed
    # wells is the ranking against the planted signatures
    ex = _explained(held_out_doses)
    assert ex["cpa"] > ex["nearest_dose"] + 0.1, ex
    assert ex["cpa"] > ex["log_linear"], ex
    assert ex["cpa"] > 0.1, ex


def test_same_seed_same_numbers(plate):
    a = pk.tl.cpa_dose_benchmark(plate, holdout="pairs", n_folds=3, n_epochs=20, seed=3)
    b = pk.tl.cpa_dose_benchmark(plate, holdout="pairs", n_folds=3, n_epochs=20, seed=3)
    np.testing.assert_allclose(a["sse"], b["sse"])
    assert a["perturbation"].nunique() == 10 and len(a) == 60 * 4


def test_bad_input(plate):
    with pytest.raises(ValueError, match="holdout"):
        pk.tl.cpa_dose_benchmark(plate, holdout="compounds")
    bad = plate.copy()
    bad.obs.loc[bad.obs_names[-1], "dose"] = 0.0
    with pytest.raises(ValueError, match="'dose'"):
        pk.tl.cpa_dose_benchmark(bad)
    with pytest.raises(KeyError):
        pk.tl.cpa_dose_benchmark(plate, dose_key="conc")
    with pytest.raises(ValueError, match="doses must be positive"):
        pk.data.simulate_dose_plate(doses=(0.0, 1.0))
