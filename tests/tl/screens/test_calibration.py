from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def sparse_screen():
    # shallow cells and small non-targeting groups: the regime where t approximations break
    a = pk.data.simulate_screen(n_cells=1200, n_genes=60, n_targets=2, nt_fraction=0.8, n_nt_guides=6,
                                moi=0.8, mean_library=150, dispersion=1.0, seed=5)
    pk.tl.assign_guides(a, method="mixture")
    return a


def test_null_table(sparse_screen) -> None:
    null = pk.tl.negative_control_tests(sparse_screen, n_permutations=99, min_cells=20)
    assert list(null.columns) == ["guide", "gene", "n_group", "n_reference", "log2fc", "t", "pvalue_ttest",
                                  "pvalue_permutation"]
    assert null["guide"].str.startswith("NTg").all()
    assert len(null) == null["guide"].nunique() * sparse_screen.n_vars
    assert null["pvalue_permutation"].min() >= 1 / 100


def test_permutation_keeps_fpr(sparse_screen) -> None:
    null = pk.tl.negative_control_tests(sparse_screen, n_permutations=199, min_cells=20, seed=1)
    p = null["pvalue_permutation"].to_numpy()
    bound = 0.05 + 3 * np.sqrt(0.05 * 0.95 / p.size)
    assert (p < 0.05).mean() <= bound


def test_deterministic(sparse_screen) -> None:
    a = pk.tl.negative_control_tests(sparse_screen, n_permutations=20, seed=3)
    b = pk.tl.negative_control_tests(sparse_screen, n_permutations=20, seed=3)
    assert a.equals(b)


def test_bad_input(sparse_screen) -> None:
    with pytest.raises(ValueError, match="at least two non-targeting guides"):
        pk.tl.negative_control_tests(sparse_screen, min_cells=10_000)
    with pytest.raises(ValueError, match="non-targeting label 'NT'"):
        pk.tl.negative_control_tests(sparse_screen, non_targeting="NT")
    with pytest.raises(KeyError, match="guide_id"):
        pk.tl.negative_control_tests(sparse_screen, guide_key="guide_id")


def test_qq_plot(sparse_screen) -> None:
    null = pk.tl.negative_control_tests(sparse_screen, n_permutations=20)
    ax = pk.pl.qq(null)
    assert ax.get_xlabel().startswith("expected")
    with pytest.raises(KeyError, match="pvalue_x"):
        pk.pl.qq(null, ["pvalue_x"])
