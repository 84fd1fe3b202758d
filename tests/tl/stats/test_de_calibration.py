from __future__ import annotations

import pytest

import perturbkit as pk


def test_wilcoxon_inflated_pseudobulk_calibrated():
    res = pk.tl.de_null_calibration(n_rounds=1, n_cell_types=2, n_donors=3, n_cells=30, n_genes=60,
                                    donor_sd=0.3, sample_sd=0.3, seed=0)
    assert list(res.columns) == ["round", "method", "n_tests", "fpr", "n_false_discoveries"]
    fpr = res.set_index("method")["fpr"]
    assert fpr["pseudobulk"] < 0.12
    assert fpr["wilcoxon"] > 0.25
    assert res.set_index("method").loc["pseudobulk", "n_false_discoveries"] <= 2


def test_no_sample_noise_both_calibrated():
    res = pk.tl.de_null_calibration(n_rounds=1, n_cell_types=1, n_donors=3, n_cells=40, n_genes=60,
                                    donor_sd=0.3, sample_sd=0.0, seed=1)
    assert (res["fpr"] < 0.12).all()


def test_seed_and_bad_args():
    a = pk.tl.de_null_calibration(n_rounds=1, methods=("wilcoxon",), n_cell_types=1, n_cells=10, n_genes=30, seed=2)
    b = pk.tl.de_null_calibration(n_rounds=1, methods=("wilcoxon",), n_cell_types=1, n_cells=10, n_genes=30, seed=2)
    assert a.equals(b)
    with pytest.raises(ValueError, match="unknown methods"):
        pk.tl.de_null_calibration(methods=("t-test",))
    with pytest.raises(ValueError, match="alpha"):
        pk.tl.de_null_calibration(alpha=1.5)
