"""CaDRReS-Sc: kernel features, projection of held-out profiles and clusters onto planted IC50s."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk
from perturbkit.tl._dose._cadrres import _kernel


@pytest.fixture(scope="module")
def panel():
    return pk.data.simulate_tumour_subclones(n_cells=300, seed=0)


def test_kernel_is_pearson():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 20)), rng.normal(size=(4, 20))
    expected = np.array([[np.corrcoef(x, y)[0, 1] for y in b] for x in a])
    np.testing.assert_allclose(_kernel(a, b), expected, atol=1e-12)


def test_holdout_beats_drug_mean_on_planted_drugs(panel):
    tab = pk.tl.cadrres_holdout(panel["ic50"], panel["expression"], seed=0)
    rmse = tab.pivot(index="drug", columns="method", values="rmse")
    for drug in ("drug0", "drug1", "drug2"):  # IC50s driven by an expression programme
        assert rmse.loc[drug, "cadrres"] < 0.7 * rmse.loc[drug, "drug_mean"], rmse
    # the null drug: no expression signal, so no gain over its mean (and no large loss)
    assert rmse.loc["drug3", "cadrres"] < 1.15 * rmse.loc["drug3", "drug_mean"], rmse
    r = tab.pivot(index="drug", columns="method", values="pearson")
    assert (r.loc[["drug0", "drug1", "drug2"], "cadrres"] > 0.6).all() and r["drug_mean"].isna().all()
    assert (tab["n_test"] == 60).all()


def test_cluster_profiles_get_planted_order(panel):
    model = pk.tl.cadrres_fit(panel["ic50"], panel["expression"], seed=0)
    cells = panel["cells"]
    profiles = pd.DataFrame(cells.X, columns=cells.var_names).groupby(
        cells.obs["subpopulation"].to_numpy()).mean()
    pred = model.predict(profiles)
    truth = pd.DataFrame(cells.uns["truth"]["ln_ic50"]).T.loc[pred.index]
    for drug in ("drug0", "drug1", "drug2"):
        assert pred[drug].idxmax() == truth[drug].idxmax(), (drug, pred, truth)
        assert truth.loc[pred[drug].idxmin(), drug] == truth[drug].min(), (drug, pred, truth)
    assert model.latent(profiles).shape == (3, 8)
    again = pk.tl.cadrres_fit(panel["ic50"], panel["expression"], seed=0)
    pd.testing.assert_frame_equal(again.predict(profiles), pred)


def test_bad_input(panel):
    with pytest.raises(ValueError, match="cell lines are in both"):
        pk.tl.cadrres_fit(panel["ic50"], panel["expression"].set_axis([f"x{i}" for i in range(300)]))
    with pytest.raises(ValueError, match="rank"):
        pk.tl.cadrres_fit(panel["ic50"], panel["expression"], rank=0)
    with pytest.raises(ValueError, match="test_fraction"):
        pk.tl.cadrres_holdout(panel["ic50"], panel["expression"], test_fraction=20)
    model = pk.tl.cadrres_fit(panel["ic50"], panel["expression"], n_epochs=5)
    with pytest.raises(KeyError, match="model genes"):
        model.predict(panel["expression"].iloc[:2, :10])
