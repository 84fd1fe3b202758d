from __future__ import annotations

import numpy as np
import pytest
import scanpy as sc

import perturbkit as pk
from perturbkit.tl._stats._augur import _forest_proba, _loess, _select_genes


@pytest.fixture(scope="module")
def lognorm():
    a = pk.data.simulate_perturbation(n_cells=25, n_genes=60, seed=3)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def test_planted_ranking_and_null(lognorm):
    res = pk.tl.augur(lognorm, n_subsamples=8, n_trees=40, feature_selection="cv", seed=0)
    assert list(res.columns) == ["cell_type", "perturbation", "auc", "auc_sd", "n_control",
                                 "n_perturbed", "cells_per_draw", "n_genes", "genes"]
    auc = res.set_index("cell_type")["auc"]
    assert auc["type0"] > 0.9
    assert auc["type0"] > auc["type1"] > auc["type2"]
    assert auc["type2"] < 0.65  # planted null stays near chance
    assert res.set_index("cell_type").loc["type2", "auc_sd"] > 0.02
    assert (res["n_genes"] == 29).all()  # genes above the median residual of the 58 fitted


def test_augur_filter_drops_the_planted_genes(lognorm):
    """Augur's filter smooths mean / sd, so it keeps the *least* variable genes: the strongly
    induced ones go, and the AUC of a strong planted response falls (as R Augur and pertpy)."""
    truth = set(lognorm.uns["truth"]["de_genes"]["type0"])
    aug = pk.tl.augur(lognorm, n_subsamples=8, n_trees=40, seed=0).set_index("cell_type")
    cv = pk.tl.augur(lognorm, n_subsamples=8, n_trees=40, feature_selection="cv", seed=0).set_index("cell_type")
    assert len(truth & set(aug.loc["type0", "genes"])) <= 2
    assert len(truth & set(cv.loc["type0", "genes"])) >= 8
    assert aug.loc["type0", "auc"] < cv.loc["type0", "auc"] - 0.15
    assert aug.loc["type2", "auc"] < 0.6


def test_loess_reproduces_a_quadratic_and_selects_by_residual():
    x = np.linspace(0.1, 3, 200)
    y = 1.0 - 0.5 * x + 0.3 * x**2
    # degree-2 local fits and their Hermite interpolation are exact on a quadratic
    np.testing.assert_allclose(_loess(x, y, span=0.75), y, atol=1e-9)
    rng = np.random.default_rng(0)
    means = rng.uniform(0.5, 3, 300)
    cells = rng.normal(means, 0.3 * means, size=(400, 300))  # sd proportional to mean
    cells[:, :20] = rng.normal(means[:20], 0.05 * means[:20], size=(400, 20))  # unusually steady
    cells[:, 20:40] = rng.normal(means[20:40], 1.5 * means[20:40], size=(400, 20))  # unusually variable
    steady, variable = set(range(20)), set(range(20, 40))
    kept = set(_select_genes(cells, method="augur", var_quantile=0.5, span=0.75))
    kept_cv = set(_select_genes(cells, method="cv", var_quantile=0.5, span=0.75))
    # the 1% tails of the ratio are clipped before the fit: the most extreme genes are not scored
    assert len(steady & kept) >= 15 and not variable & kept
    assert len(variable & kept_cv) >= 15 and not steady & kept_cv
    assert len(_select_genes(cells, method="none", var_quantile=0.5, span=0.75)) == 300


def test_cell_number_bias_removed_by_subsampling():
    # the same response (shared genes) in a common and a rare cell type
    a = pk.data.simulate_perturbation(n_cell_types=2, n_cells=[200, 10], response=[0.4, 0.4], n_de=0,
                                      n_shared=12, n_donors=2, n_genes=100, seed=0)
    sc.pp.normalize_total(a)
    sc.pp.log1p(a)
    kw = dict(feature_selection="none", n_trees=50)
    full = pk.tl.augur(a, subsample_size=None, n_subsamples=2, **kw).set_index("cell_type")["auc"]
    sub = pk.tl.augur(a, subsample_size=20, n_subsamples=8, **kw).set_index("cell_type")["auc"]
    assert full["type0"] > sub["type0"] + 0.1
    assert full["type0"] - full["type1"] > 0.1  # more cells, higher AUC, same response
    assert abs(sub["type0"] - sub["type1"]) < full["type0"] - full["type1"]


def test_seed_and_no_modification(lognorm):
    before = lognorm.copy()
    a = pk.tl.augur(lognorm, n_subsamples=2, n_trees=10, seed=1)
    b = pk.tl.augur(lognorm, n_subsamples=2, n_trees=10, seed=1)
    c = pk.tl.augur(lognorm, n_subsamples=2, n_trees=10, seed=2)
    assert a.equals(b)
    assert not np.allclose(a["auc"], c["auc"])
    assert list(lognorm.obs.columns) == list(before.obs.columns) and set(lognorm.uns) == set(before.uns)
    assert np.array_equal(lognorm.X.toarray(), before.X.toarray())


def test_bad_input(lognorm):
    with pytest.raises(ValueError, match="subsample_size=80"):
        pk.tl.augur(lognorm, subsample_size=80, n_subsamples=1, n_trees=5)
    with pytest.raises(ValueError, match="2 \\* n_folds"):
        pk.tl.augur(lognorm, subsample_size=4, n_subsamples=1, n_trees=5)
    with pytest.raises(ValueError, match="feature_selection"):
        pk.tl.augur(lognorm, feature_selection="hvg", n_subsamples=1, n_trees=5)
    with pytest.raises(ValueError, match="control label"):
        pk.tl.augur(lognorm, control="ctrl", n_subsamples=1, n_trees=5)
    with pytest.raises(KeyError, match="celltype"):
        pk.tl.augur(lognorm, split_by="celltype", n_subsamples=1, n_trees=5)


@pytest.mark.parametrize("max_features", [2, "sqrt", 0.3, None])
def test_forest_proba_is_scikit_learns_forest_bit_for_bit(max_features):
    """The lean tree loop reproduces RandomForestClassifier's probabilities exactly (same
    seeds, same trees, same summation order), tied feature values included."""
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    for seed in range(3):
        x = rng.normal(size=(30, 40))
        x[:, :6] = np.round(x[:, :6])  # ties, as in sparse expression
        y = rng.permutation(np.r_[np.zeros(14), np.ones(16)])
        x_test = rng.normal(size=(12, 40))
        forest = RandomForestClassifier(n_estimators=25, max_features=max_features, random_state=seed, n_jobs=1)
        expected = forest.fit(x, y).predict_proba(x_test)[:, 1]
        got = _forest_proba(x, y, x_test, n_trees=25, max_features=max_features, random_state=seed)
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="labels 0 and 1"):
        _forest_proba(x, y + 1, x_test, n_trees=2, max_features=2, random_state=0)
    with pytest.raises(ValueError, match="max_features"):
        _forest_proba(x, y, x_test, n_trees=2, max_features="half", random_state=0)
