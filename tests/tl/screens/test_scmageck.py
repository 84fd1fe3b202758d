from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def screen_fx():
    # >= 100 genes: with very few genes, strong effects shift every other gene's share of the
    # library (a compositional effect) and rank tests rightly detect that shift
    a = pk.data.simulate_screen(n_cells=1200, n_genes=100, n_targets=3, moi=0.6, nt_fraction=0.3,
                                ko_fraction=1.0, n_effect_genes=5, seed=9)
    pk.tl.assign_guides(a, method="mixture")
    return a


def test_direction_and_recovery(screen_fx) -> None:
    rra = pk.tl.scmageck_rra(screen_fx, n_null=200).set_index(["target", "gene"])
    truth = screen_fx.uns["truth"]["effects"].stack()
    down = truth[truth < -0.5].index
    up = truth[truth > 0.5].index
    null = truth[truth == 0].index
    assert (rra.loc[down, "pvalue_down"] < 0.01).mean() > 0.9
    assert (rra.loc[up, "pvalue_up"] < 0.01).mean() > 0.9
    assert (rra.loc[down, "score"] < 0).all() and (rra.loc[up, "score"] > 0).all()
    p = np.minimum(rra.loc[null, "pvalue_down"], rra.loc[null, "pvalue_up"])
    assert (p < 0.025).mean() < 0.08  # each one-sided test at 0.025: ~5 % two-sided


def test_null_is_uniform() -> None:
    """With no effect at all, one-sided p-values are uniform (ties broken at random)."""
    a = pk.data.simulate_screen(n_cells=800, n_genes=40, n_targets=2, ko_fraction=0.0, seed=4)
    pk.tl.assign_guides(a, method="mixture")
    rra = pk.tl.scmageck_rra(a, n_null=300, seed=1)
    p = rra["pvalue_down"].to_numpy()
    assert 0.02 < (p < 0.1).mean() < 0.2
    assert 0.35 < np.median(p) < 0.65


def test_agrees_with_mimosca(screen_fx) -> None:
    rra = pk.tl.scmageck_rra(screen_fx, n_null=100)
    eff = pk.tl.mimosca(screen_fx)
    j = eff.merge(rra, on=["target", "gene"])
    rho = j.groupby("target")[["coef", "score"]].corr(method="spearman").xs("coef", level=1)["score"]
    assert (rho > 0.6).all(), rho


def test_seeded_and_bad_input(screen_fx) -> None:
    a = pk.tl.scmageck_rra(screen_fx, targets=["T0"], n_null=50, seed=3)
    b = pk.tl.scmageck_rra(screen_fx, targets=["T0"], n_null=50, seed=3)
    assert a.equals(b)
    assert list(a.columns) == ["target", "gene", "n_cells", "rho_down", "pvalue_down", "rho_up", "pvalue_up",
                               "score", "rank"]
    with pytest.raises(ValueError, match="target 'T9' has no cells"):
        pk.tl.scmageck_rra(screen_fx, targets=["T9"])
    with pytest.raises(ValueError, match="control label"):
        pk.tl.scmageck_rra(screen_fx, control="NT")
    with pytest.raises(ValueError, match="top must be"):
        pk.tl.scmageck_rra(screen_fx, top=0)


@pytest.fixture(scope="module")
def high_moi():
    """MOI 1.5: most targeted cells carry guides of several targets; T4-T7 never knock out."""
    return pk.data.simulate_screen(n_cells=1500, n_genes=40, moi=1.5, ko_fraction=[0.9] * 4 + [0.0] * 4, seed=1)


def test_lr_recovers_planted_effects_jointly(high_moi) -> None:
    lr = pk.tl.scmageck_lr(high_moi, n_permutations=100)
    truth = high_moi.uns["truth"]["effects"].stack().rename("truth").rename_axis(["target", "gene"])
    m = lr.merge(truth.reset_index(), on=["target", "gene"]).set_index(["target", "gene"])
    active = m.loc[["T0", "T1", "T2", "T3"]]
    assert np.corrcoef(active["coef"], active["truth"])[0, 1] > 0.85
    hits = active[active["truth"].abs() > 0.3]
    assert (hits["pvalue"] < 0.05).mean() > 0.95
    assert (np.sign(hits["coef"]) == np.sign(hits["truth"])).mean() > 0.95
    own = lr[(lr["target"] == lr["gene"]) & lr["target"].isin(["T0", "T1", "T2", "T3"])]
    assert (own["coef"] < -1).all() and (own["pvalue"] <= 1 / 101 + 1e-12).all()
    # targets without a knockout share their cells with active ones: the joint fit keeps them null
    null = m.loc[["T4", "T5", "T6", "T7"], "pvalue"]
    assert (null < 0.05).mean() < 0.08 and (null < 0.5).mean() < 0.6
    assert set(lr.columns) >= {"target", "gene", "n_cells", "coef", "pvalue", "padj", "rank"}


def test_lr_uses_multi_guide_cells(high_moi) -> None:
    """The guide design keeps cells with several targets; single-target labels drop them."""
    joint = pk.tl.scmageck_lr(high_moi, n_permutations=0).groupby("target")["n_cells"].first()
    a = pk.tl.assign_guides(high_moi, method="mixture", copy=True)
    single = pk.tl.scmageck_lr(a, guide_key=None, n_permutations=0).groupby("target")["n_cells"].first()
    assert (joint > 2 * single).all(), (joint, single)
    assert "pvalue" not in pk.tl.scmageck_lr(a, guide_key=None, n_permutations=0)


def test_lr_seeded_and_bad_input(high_moi) -> None:
    a = pk.tl.scmageck_lr(high_moi, n_permutations=20, genes=["T0", "G1"], seed=3)
    b = pk.tl.scmageck_lr(high_moi, n_permutations=20, genes=["T0", "G1"], seed=3)
    assert a.equals(b)
    with pytest.raises(ValueError, match="lambda_ must be > 0"):
        pk.tl.scmageck_lr(high_moi, lambda_=0)
    with pytest.raises(ValueError, match="genes not in adata.var_names: \\['nope'\\]"):
        pk.tl.scmageck_lr(high_moi, genes=["nope"])
    with pytest.raises(KeyError, match="adata.obsm has no 'guides_umi'"):
        pk.tl.scmageck_lr(high_moi, guide_key="guides_umi")
    small = high_moi[:60].copy()
    with pytest.warns(UserWarning, match="fewer than 20 cells left out: \\['T"):
        pk.tl.scmageck_lr(small, min_cells=20, n_permutations=0)
