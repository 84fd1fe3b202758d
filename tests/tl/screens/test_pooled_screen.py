"""Pooled CRISPR screens: normalisation, sgRNA test, alpha-RRA, QC, essential families."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

import perturbkit as pk
from perturbkit.tl._screens._pooled_screen import gini
from perturbkit.tl._screens._rra import _rho, rra_null_pvalue

T, C = ["final_1", "final_2"], ["initial_1", "initial_2"]


@pytest.fixture(scope="module")
def screen():
    s = pk.data.simulate_pooled_screen(n_genes=100, n_essential=10, n_enriched=5, seed=1)
    pk.pp.normalize_screen(s)
    return s


def test_normalize_keys_dtypes_and_copy():
    s = pk.data.simulate_pooled_screen(n_genes=40, seed=0)
    before = s.X.copy()
    out = pk.pp.normalize_screen(s, copy=True)
    assert "normalized" not in s.layers and "size_factor" not in s.var  # input untouched
    np.testing.assert_array_equal(s.X, before)
    assert out.layers["normalized"].dtype == np.float64
    assert out.layers["normalized"].shape == s.shape
    assert out.uns["normalized"]["params"]["method"] == "median"
    # median-ratio: after normalisation every sample has the same median log ratio to
    # the guide's geometric mean
    x = out.layers["normalized"]
    pos = np.all(s.X > 0, axis=1)
    lr = np.log(x[pos]) - np.log(x[pos]).mean(axis=1, keepdims=True)
    med = np.median(lr, axis=0)
    np.testing.assert_allclose(med, med[0], atol=1e-12)


def test_median_ratio_hand_computed():
    counts = np.array([[10, 20], [20, 40], [30, 60], [5, 10]] * 3, dtype=float)
    sf = pk.pp._normalize_screen.size_factors(counts)
    np.testing.assert_allclose(sf, [1 / np.sqrt(2), np.sqrt(2)])


def test_normalize_rejects_bad_counts():
    s = pk.data.simulate_pooled_screen(n_genes=20, n_essential=4, seed=0)
    s.layers["counts"] = s.layers["counts"].astype(float)
    s.layers["counts"][0, 0] = -3
    with pytest.raises(ValueError, match="negative"):
        pk.pp.normalize_screen(s)
    s.layers["counts"][0, 0] = 2.5
    with pytest.raises(ValueError, match="not integers"):
        pk.pp.normalize_screen(s)


def test_planted_essential_and_enriched_genes_recovered(screen):
    res = pk.tl.mageck_test(screen, treatment_samples=T, control_samples=C, n_perm=1000)
    truth = screen.uns["truth"]
    essential = set(truth.index[truth.essential])
    enriched = set(truth.index[truth.enriched])
    assert len(set(res.gene[:10]) & essential) >= 9
    assert len(set(res.sort_values("pos_rank").gene[:5]) & enriched) >= 4
    hits = set(res.gene[res.neg_padj < 0.1])
    assert len(hits & essential) >= 8 and len(hits - essential) <= 1
    # essential genes carry a negative median fold change
    assert (res.set_index("gene").loc[sorted(essential), "lfc"] < -0.5).all()


def test_mageck_test_schema_and_seed(screen):
    a = pk.tl.mageck_test(screen, treatment_samples=T, control_samples=C, n_perm=200, seed=3)
    b = pk.tl.mageck_test(screen, treatment_samples=T, control_samples=C, n_perm=200, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert a.shape[0] == 100 and a["gene"].is_unique
    assert a["n_sgrna"].dtype == np.int64 and a["neg_rank"].tolist() == list(range(1, 101))
    assert a["neg_pvalue"].between(0, 1).all() and a["neg_padj"].between(0, 1).all()
    assert "normalized" in screen.layers and screen.n_vars == 4  # not modified further


def test_sgrna_lfc_sign_and_columns(screen):
    sg = pk.tl.sgrna_lfc(screen, treatment_samples=T, control_samples=C)
    assert sg.index.name == "sgRNA" and len(sg) == screen.n_obs
    ess = screen.uns["truth"].index[screen.uns["truth"].essential]
    active = sg["gene"].isin(ess) & (screen.obs["efficiency"].to_numpy() > 0.5)
    assert sg.loc[active, "lfc"].median() < -1.5
    assert (sg.loc[active, "pvalue_low"] < 0.05).mean() > 0.8
    assert sg[["pvalue_low", "pvalue_high"]].apply(lambda c: c.between(0, 1).all()).all()


def test_sgrna_lfc_bad_input(screen):
    with pytest.raises(ValueError, match="not in adata.var_names"):
        pk.tl.sgrna_lfc(screen, treatment_samples=["day21"], control_samples=C)
    with pytest.raises(ValueError, match="both treatment and control"):
        pk.tl.sgrna_lfc(screen, treatment_samples=T, control_samples=T)
    bad = screen.copy()
    bad.obs["gene"] = bad.obs["gene"].astype(object)
    bad.obs.iloc[3, bad.obs.columns.get_loc("gene")] = None
    with pytest.raises(ValueError, match="have no gene"):
        pk.tl.sgrna_lfc(bad, treatment_samples=T, control_samples=C)
    raw = pk.data.simulate_pooled_screen(n_genes=20, n_essential=4, seed=0)
    with pytest.raises(KeyError, match="normalize_screen"):
        pk.tl.sgrna_lfc(raw, treatment_samples=T, control_samples=C)


def test_rho_matches_beta_order_statistics():
    # one gene, percentiles 0.01 and 0.5 of n=2 guides, alpha=0.1: only k=1 counts
    r = _rho(np.array([[0.01, 0.5]]), alpha=0.1)
    assert r[0] == pytest.approx(special.betainc(1, 2, 0.01))  # 1 - 0.99^2
    assert r[0] == pytest.approx(1 - 0.99**2)
    # nothing under alpha: rho = 1
    assert _rho(np.array([[0.6, 0.9]]), alpha=0.1)[0] == 1.0
    # padded row (gene with fewer guides) uses its own n
    assert _rho(np.array([[0.05, np.nan]]), alpha=0.1)[0] == pytest.approx(0.05)


def test_rra_bad_input():
    tab = pd.DataFrame({"gene": ["a", "a", "b", "b"], "pvalue_low": [0.1, 0.2, 0.5, 0.9], "lfc": [-1, -1, 0, 0]})
    with pytest.raises(KeyError, match="pvalue_high"):
        pk.tl.rra(tab, score="pvalue_high")
    tab2 = tab.copy()
    tab2.loc[0, "gene"] = None
    with pytest.raises(ValueError, match="no gene"):
        pk.tl.rra(tab2)


def test_screen_qc_and_gini():
    s = pk.data.simulate_pooled_screen(n_genes=30, seed=0)
    qc = pk.tl.screen_qc(s)
    assert list(qc.index) == list(s.var_names)
    assert qc["reads"].tolist() == s.X.sum(axis=0).tolist()
    assert gini([5, 5, 5]) == 0.0 and gini([0, 0, 0, 10]) == pytest.approx(0.75)
    assert qc["gini"].between(0, 1).all()


def test_core_essential_families():
    fam = pk.tl.core_essential_genes(["RPL11", "RPS4X", "RPL3L", "RPS6KA1", "PSMD14", "POLR2A", "ANAPC4", "GAPDH"])
    assert list(fam.index) == ["RPL11", "RPS4X", "PSMD14", "POLR2A", "ANAPC4"]
    assert fam["POLR2A"] == "RNA polymerase"


def test_simulator_seed_and_truth():
    a = pk.data.simulate_pooled_screen(n_genes=30, seed=5)
    b = pk.data.simulate_pooled_screen(n_genes=30, seed=5)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.X.dtype == np.int64 and (a.X >= 0).all()
    assert a.uns["truth"]["essential"].sum() == 20
    with pytest.raises(ValueError, match="exceeds n_genes"):
        pk.data.simulate_pooled_screen(n_genes=10, n_essential=10, n_enriched=5)


@pytest.mark.parametrize(("n", "alpha"), [(1, 1.0), (4, 0.2), (10, 0.05), (10, 1.0)])
def test_exact_rra_null_matches_simulated_null(n, alpha):
    # the exact tail equals the frequency of null scores <= x among simulated uniform guides
    rng = np.random.default_rng(0)
    null = _rho(np.sort(rng.random((200_000, n)), axis=1), alpha)
    for x in (1e-3, 1e-2, 0.05):
        emp = float(np.mean(null <= x))
        exact = float(rra_null_pvalue(x, n, alpha)[0])
        assert abs(emp - exact) < 4.5 * np.sqrt(exact * (1 - exact) / null.size) + 1e-5, (n, alpha, x, emp, exact)
    # one guide, no cut-off: rho is the guide's percentile, a uniform
    if n == 1:
        np.testing.assert_allclose(rra_null_pvalue(np.array([1e-12, 0.3]), 1, 1.0), [1e-12, 0.3])


def test_exact_rra_tail_resolves_tiny_scores():
    # far below machine epsilon the tail approaches Bonferroni (n * rho) from below: the n
    # crossing events overlap less and less as rho shrinks; not 0 and not floored
    p = rra_null_pvalue(np.array([1e-40, 1e-20, 1.0]), 5, 0.1)
    np.testing.assert_allclose(p[:2], 5 * np.array([1e-40, 1e-20]), rtol=1e-4)
    assert (p[:2] <= 5 * np.array([1e-40, 1e-20])).all()
    assert p[2] == 1.0
    with pytest.raises(ValueError, match="alpha"):
        rra_null_pvalue(0.1, 3, 0.0)


def test_exact_rra_separates_top_genes(screen):
    exact = pk.tl.mageck_test(screen, treatment_samples=T, control_samples=C)
    perm = pk.tl.mageck_test(screen, treatment_samples=T, control_samples=C, n_perm=200)
    # with 200 draws the top planted essentials tie at the 1/201 floor; exact p-values differ
    assert (perm["neg_pvalue"].head(5) == 1 / 201).all()
    assert exact["neg_pvalue"].head(10).is_unique and exact["neg_pvalue"].iloc[0] < 1e-4
    assert exact["neg_pvalue"].is_monotonic_increasing  # same guide count: p increases with rho
    # same ranking either way (rho does not depend on the null)
    assert exact["gene"].tolist() == perm["gene"].tolist()
