from __future__ import annotations

import numpy as np
import pytest
import scanpy as sc

import perturbkit as pk


def _lognorm(a):
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


@pytest.fixture
def unpaired():
    """Donors nested in condition; type0 null, type1 responds."""
    return _lognorm(pk.data.simulate_perturbation(n_cell_types=2, response=[0.0, 1.0], n_donors=10,
                                                  paired=False, n_cells=20, n_genes=80,
                                                  donor_sd=0.4, seed=0))


def test_donor_effect_fools_naive_not_scdist(unpaired):
    res = pk.tl.scdist(unpaired, n_draws=1000).set_index("cell_type")
    assert {"distance", "ci_low", "ci_high", "pvalue", "naive_distance", "naive_pvalue",
            "n_samples", "n_cells"} <= set(res.columns)
    assert res.loc["type0", "naive_pvalue"] < 0.01  # the naive test is fooled
    assert res.loc["type0", "pvalue"] > 0.1  # the mixed model is not
    assert res.loc["type0", "ci_low"] == 0.0
    assert res.loc["type1", "pvalue"] < 0.02
    assert res.loc["type1", "distance"] > res.loc["type0", "distance"] + 1.5
    assert (res["ci_low"] <= res["ci_high"]).all()


def test_paired_planted_effect():
    a = _lognorm(pk.data.simulate_perturbation(n_cell_types=2, response=[1.0, 0.0], n_donors=5,
                                               n_cells=30, n_genes=80, seed=1))
    res = pk.tl.scdist(a, covariates=("donor",), n_draws=1000).set_index("cell_type")
    assert res.loc["type0", "pvalue"] < 0.02
    assert res.loc["type1", "distance"] < res.loc["type0", "distance"] / 3


def test_seed(unpaired):
    a = pk.tl.scdist(unpaired, n_draws=200, seed=4)
    b = pk.tl.scdist(unpaired, n_draws=200, seed=4)
    assert a.equals(b)


def test_bad_input(unpaired):
    with pytest.raises(KeyError, match="batch"):
        pk.tl.scdist(unpaired, sample_key="batch")
    two = _lognorm(pk.data.simulate_perturbation(n_cell_types=1, n_donors=1, n_cells=20, n_genes=40, seed=0))
    with pytest.raises(ValueError, match="samples"):
        pk.tl.scdist(two, n_draws=100)
    bad = unpaired.copy()
    bad.X = bad.X.toarray()
    bad.X[3, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        pk.tl.scdist(bad, n_draws=100)
    with pytest.raises(ValueError, match="control label"):
        pk.tl.scdist(unpaired, control="ctrl", n_draws=100)


def test_does_not_modify(unpaired):
    before = unpaired.copy()
    pk.tl.scdist(unpaired, n_draws=100)
    assert list(unpaired.obs.columns) == list(before.obs.columns)
    assert set(unpaired.obsm) == set(before.obsm) and set(unpaired.uns) == set(before.uns)
    assert np.array_equal(unpaired.X.toarray(), before.X.toarray())


def _mixed_sim(rng, *, n_samples=8, tau=0.5, balanced=False, k=3):
    ns = np.full(n_samples, 15) if balanced else rng.integers(5, 30, n_samples)
    g = np.repeat(np.arange(n_samples), ns)
    cond = (g >= n_samples // 2).astype(float)
    z = np.column_stack([0.6 * j * cond + rng.normal(0, tau, n_samples)[g] + rng.normal(0, 1, len(g))
                         for j in range(k)])
    return z, np.column_stack([np.ones(len(g)), cond]), g.astype(str)


def test_reml_balanced_matches_anova_by_hand():
    from perturbkit.tl._stats._scdist import _reml_fit

    z, design, g = _mixed_sim(np.random.default_rng(0), balanced=True)
    beta, se, df, tau2, sigma2 = _reml_fit(z, design, g)
    assert df == 6
    n, m = 15, 8
    for k in range(z.shape[1]):
        means = np.array([z[g == s, k].mean() for s in np.unique(g)])
        cond = np.arange(m) >= m // 2
        msw = sum(((z[g == s, k] - z[g == s, k].mean()) ** 2).sum() for s in np.unique(g)) / (len(z) - m)
        fitted = np.where(cond, means[cond].mean(), means[~cond].mean())
        msb = n * ((means - fitted) ** 2).sum() / (m - 2)
        assert beta[k] == pytest.approx(means[cond].mean() - means[~cond].mean(), abs=1e-10)
        if msb > msw:  # interior REML solution = ANOVA estimator
            assert tau2[k] == pytest.approx((msb - msw) / n, rel=1e-6)
            assert sigma2[k] == pytest.approx(msw, rel=1e-6)
            assert se[k] == pytest.approx(np.sqrt(msb / n * (2 / m + 2 / m)), rel=1e-6)


def test_reml_matches_statsmodels_unbalanced():
    import warnings

    import pandas as pd
    import statsmodels.formula.api as smf

    from perturbkit.tl._stats._scdist import _reml_fit

    z, design, g = _mixed_sim(np.random.default_rng(1))
    beta, se, _, tau2, sigma2 = _reml_fit(z, design, g)
    for k in range(z.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = smf.mixedlm("z ~ cond", pd.DataFrame({"z": z[:, k], "cond": design[:, 1], "g": g}),
                            groups="g").fit(reml=True, method=["nm", "bfgs"], maxiter=5000)
        # statsmodels' default (bfgs from a moment start) stops early on some of these
        # components; Nelder-Mead then BFGS reaches the optimum that _reml_fit finds
        assert r.converged
        assert beta[k] == pytest.approx(r.fe_params["cond"], abs=1e-5)
        assert tau2[k] == pytest.approx(float(np.asarray(r.cov_re)[0, 0]), abs=1e-5)
        assert sigma2[k] == pytest.approx(r.scale, rel=1e-5)
        # lme4's standard error, sigma^2 (X' V^-1 X)^-1, at statsmodels' variance estimates
        v = r.scale * np.eye(len(g)) + float(np.asarray(r.cov_re)[0, 0]) * (g[:, None] == g[None, :])
        cov = np.linalg.inv(design.T @ np.linalg.solve(v, design))
        assert se[k] == pytest.approx(np.sqrt(cov[-1, -1]), rel=1e-3)


def test_reml_zero_sample_variance_is_ols():
    from perturbkit.tl._stats._scdist import _ols_fit, _reml_fit

    z, design, g = _mixed_sim(np.random.default_rng(2), tau=0.0)
    beta, se, _, tau2, _ = _reml_fit(z, design, g)
    nbeta, _, _ = _ols_fit(z, design)
    at_zero = tau2 == 0
    assert at_zero.any()
    np.testing.assert_allclose(beta[at_zero], nbeta[at_zero], atol=1e-12)


def test_moments_fast_path_close_to_reml(unpaired):
    reml = pk.tl.scdist(unpaired, n_draws=500).set_index("cell_type")
    mom = pk.tl.scdist(unpaired, method="moments", n_draws=500).set_index("cell_type")
    assert mom.loc["type1", "distance"] == pytest.approx(reml.loc["type1", "distance"], rel=0.1)
    assert mom.loc["type0", "pvalue"] > 0.1
    with pytest.raises(ValueError, match="method"):
        pk.tl.scdist(unpaired, method="ml", n_draws=100)
