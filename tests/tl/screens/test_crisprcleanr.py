"""CRISPRcleanR-style segment correction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def _table(seed=0):
    rng = np.random.default_rng(seed)
    n_genes = 400
    lfc = rng.normal(0, 0.3, 2 * n_genes)
    lfc[400:480] -= 1.0  # an amplified block: 40 genes drop together
    ess = rng.choice(np.r_[0:390, 490:800:2], 15, replace=False)
    for i in ess:  # essential genes: both guides depleted
        lfc[i - i % 2 : i - i % 2 + 2] -= 3.0
    genes = np.repeat([f"g{i}" for i in range(n_genes)], 2)
    tab = pd.DataFrame({"gene": genes, "lfc": lfc}, index=(np.arange(2 * n_genes) * 997) + 10**9)
    return tab, {genes[i] for i in ess}


def test_block_corrected_essentials_kept():
    tab, ess = _table()
    out = pk.tl.crisprcleanr(tab)
    block = out.iloc[400:480]
    assert block["corrected"].all()
    assert abs(block["lfc_corrected"].mean()) < 0.25 and block["lfc"].mean() < -0.8
    g = out.groupby("gene")["lfc_corrected"].median()
    assert (g.loc[sorted(ess)] < -2).all()
    assert out["segment"].dtype == np.int64


def test_input_untouched_and_deterministic():
    tab, _ = _table(1)
    before = tab.copy()
    a = pk.tl.crisprcleanr(tab)
    pd.testing.assert_frame_equal(tab, before)
    pd.testing.assert_frame_equal(a, pk.tl.crisprcleanr(tab))


def test_errors():
    tab, _ = _table()
    with pytest.raises(ValueError, match="not numeric"):
        pk.tl.crisprcleanr(tab.set_axis([f"sg{i}" for i in range(len(tab))]))
    with pytest.raises(KeyError, match="position"):
        pk.tl.crisprcleanr(tab, position="pos")
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.segment_values(np.array([0.0, np.nan, 1.0]))


def test_segment_values_finds_block():
    rng = np.random.default_rng(0)
    x = np.r_[np.zeros(300), np.full(50, 1.0), np.zeros(300)] + rng.normal(0, 0.3, 650)
    seg = pk.tl.segment_values(x)
    assert np.bincount(seg).tolist() == [300, 50, 300]
    assert pk.tl.segment_values(rng.normal(0, 0.3, 500)).max() == 0  # pure noise: one segment
