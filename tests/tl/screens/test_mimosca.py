from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def screen_fx():
    a = pk.data.simulate_screen(n_cells=1500, n_genes=40, n_targets=4, moi=0.6, nt_fraction=0.3,
                                ko_fraction=1.0, seed=8)
    pk.tl.assign_guides(a, method="mixture")
    return a


def test_recovers_planted_effects(screen_fx) -> None:
    eff = pk.tl.mimosca(screen_fx)
    truth = screen_fx.uns["truth"]["effects"]
    coef = eff.pivot(index="target", columns="gene", values="coef").loc[truth.index, truth.columns]
    for t in truth.index:
        r = np.corrcoef(coef.loc[t], truth.loc[t])[0, 1]
        assert r > 0.9, (t, r)
    # planted non-effects stay near zero, planted effects do not
    planted = truth.to_numpy() != 0
    assert np.abs(coef.to_numpy()[~planted]).mean() < 0.25 * np.abs(coef.to_numpy()[planted]).mean()
    assert eff["cv_r2_gain"].nunique() == 1 and eff["alpha"].nunique() == 1
    assert eff["cv_r2_gain"].iloc[0] > 0  # beats the covariates-only baseline


def test_permutation_pvalues(screen_fx) -> None:
    eff = pk.tl.mimosca(screen_fx, n_permutations=49, seed=1)
    truth = screen_fx.uns["truth"]["effects"].stack()
    eff = eff.set_index(["target", "gene"])
    planted = truth[truth != 0].index
    null = truth[truth == 0].index
    assert (eff.loc[planted, "pvalue"] <= 0.02).mean() > 0.9
    assert (eff.loc[null, "pvalue"] < 0.05).mean() < 0.1


def test_tidy_columns_and_no_side_effects(screen_fx) -> None:
    before = screen_fx.obs.copy()
    eff = pk.tl.mimosca(screen_fx, genes=["T0", "G0"])
    pd.testing.assert_frame_equal(screen_fx.obs, before)
    assert list(eff.columns) == ["target", "gene", "coef", "n_cells", "rank", "alpha", "cv_r2_gain"]
    assert len(eff) == 4 * 2
    assert set(eff["target"]) == {"T0", "T1", "T2", "T3"}


def test_deterministic(screen_fx) -> None:
    a = pk.tl.mimosca(screen_fx, n_permutations=10, seed=2)
    b = pk.tl.mimosca(screen_fx, n_permutations=10, seed=2)
    assert a.equals(b)


def test_bad_input(screen_fx) -> None:
    with pytest.raises(ValueError, match="control label 'NT' not found"):
        pk.tl.mimosca(screen_fx, control="NT")
    with pytest.raises(KeyError, match="batch"):
        pk.tl.mimosca(screen_fx, covariates=("batch",))
    with pytest.raises(ValueError, match="not in adata.var_names"):
        pk.tl.mimosca(screen_fx, genes=["nope"])
    b = screen_fx.copy()
    b.obs["perturbation"] = "control"
    with pytest.raises(ValueError, match="no perturbed cells"):
        pk.tl.mimosca(b)
