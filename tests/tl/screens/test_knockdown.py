from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def test_knockdown_recovers_planted_own_mrna(screen) -> None:
    kd = pk.tl.knockdown(screen, n_permutations=99).set_index("target")
    truth = screen.uns["truth"]
    assert set(kd.index) == set(truth["effects"].index)
    # expected remaining = ko_fraction * 0.25 + (1 - ko_fraction) * 1 (escapes keep their mRNA)
    expected = truth["ko_fraction"] * 0.25 + (1 - truth["ko_fraction"])
    assert np.corrcoef(kd.loc[expected.index, "remaining"], expected)[0, 1] > 0.8
    assert (kd["remaining"] < 0.95).all()
    assert (kd["pvalue_ttest"] < 1e-3).sum() >= 6
    assert kd["pvalue_permutation"].min() == pytest.approx(1 / 100)


def test_columns_and_no_side_effects(screen) -> None:
    before = screen.obs.copy()
    kd = pk.tl.knockdown(screen, targets=["T0"], n_permutations=0)
    pd.testing.assert_frame_equal(screen.obs, before)
    assert list(kd.columns) == ["target", "gene", "n_cells", "n_control", "mean_target", "mean_control",
                                "remaining", "log2fc", "t", "pvalue_ttest"]


def test_permutation_seeded(screen) -> None:
    a = pk.tl.perturbation_test(screen, group="T5", n_permutations=50, seed=1)
    b = pk.tl.perturbation_test(screen, group="T5", n_permutations=50, seed=1)
    c = pk.tl.perturbation_test(screen, group="T5", n_permutations=50, seed=2)
    assert a["pvalue_permutation"].equals(b["pvalue_permutation"])
    assert not a["pvalue_permutation"].equals(c["pvalue_permutation"])


def test_calibrated_test_keeps_fpr_on_null_guides() -> None:
    """Non-targeting guide vs the other non-targeting cells: every gene is null."""
    a = pk.data.simulate_screen(n_cells=1500, n_genes=40, n_targets=2, nt_fraction=0.9, n_nt_guides=4,
                                moi=0.8, seed=11)
    pk.tl.assign_guides(a, method="mixture")
    nt = a.obs["target"] == "non-targeting"
    a = a[nt].copy()
    a.obs["nt_guide"] = np.where(a.obs["guide"].astype(str) == "NTg1", "NTg1", "other")
    res = pk.tl.perturbation_test(a, groupby="nt_guide", group="NTg1", reference="other", n_permutations=199)
    p = res["pvalue_permutation"].to_numpy()
    assert (p < 0.05).mean() <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / p.size)
    assert (p < 0.2).mean() == pytest.approx(0.2, abs=0.15)


def test_bad_input(screen) -> None:
    with pytest.raises(ValueError, match="control label 'ctrl' not found"):
        pk.tl.knockdown(screen, control="ctrl")
    with pytest.raises(ValueError, match="target 'T99' has no cells"):
        pk.tl.knockdown(screen, targets=["T99"])
    b = screen.copy()
    b.obs["perturbation"] = b.obs["perturbation"].cat.add_categories(["G0x"])
    with pytest.raises(ValueError, match="'G0x' has no cells"):
        pk.tl.knockdown(b, targets=["G0x"])
    with pytest.raises(ValueError, match="not in adata.var_names"):
        pk.tl.knockdown(screen, targets=["T0"], target_genes={"T0": "NOPE"})
    with pytest.raises(KeyError, match="batch"):
        pk.tl.perturbation_test(screen, group="T0", strata="batch")
