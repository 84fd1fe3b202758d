"""MAGeCK leukemia screen: schema, published column sums, design and copy-number tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk
from perturbkit.data._loaders.pooled_crispr_mageck_leukemia import screen_from_table


@pytest.fixture(scope="module")
def leuk(mirror):
    return pk.data.load("pooled_crispr_mageck_leukemia")


def test_schema(leuk):
    assert leuk.shape == (9999, 4)
    assert leuk.obs["gene"].nunique() == 1000
    assert leuk.layers["counts"].dtype == np.int64
    assert {"sgRNA", "gene", "perturbation"} <= set(leuk.obs.columns)
    assert leuk.var["role"].tolist() == ["control", "control", "treatment", "treatment"]
    assert leuk.uns["design"].shape == (4, 3)
    assert "HL60" in leuk.uns["cnv"].columns


def test_published_column_sums(leuk):
    sums = leuk.X.sum(axis=0)
    np.testing.assert_allclose(sums / 1e6, [5.49, 4.56, 12.08, 13.43], atol=0.01)


def test_demo1_table(mirror):
    demo = pk.data.load("pooled_crispr_mageck_leukemia", table="sample")
    assert demo.shape == (999, 4) and demo.obs["gene"].nunique() == 100


def test_bad_count_tables_raise():
    good = pd.DataFrame({"sgRNA": ["a", "b"], "Gene": ["G1", "G2"], "s1": [1, 2]})
    bad = good.assign(s1=[1, -2])
    with pytest.raises(ValueError, match="negative"):
        screen_from_table(bad, sgrna="sgRNA", gene="Gene", samples=["s1"], name="t")
    nogene = good.assign(Gene=["G1", None])
    with pytest.raises(ValueError, match="have no gene"):
        screen_from_table(nogene, sgrna="sgRNA", gene="Gene", samples=["s1"], name="t")
    dup = good.assign(sgRNA=["a", "a"])
    with pytest.raises(ValueError, match="duplicated"):
        screen_from_table(dup, sgrna="sgRNA", gene="Gene", samples=["s1"], name="t")
    with pytest.raises(KeyError, match="s2"):
        screen_from_table(good, sgrna="sgRNA", gene="Gene", samples=["s2"], name="t")


def test_core_essentials_deplete_in_leukemia(leuk):
    screen = leuk.copy()
    pk.pp.normalize_screen(screen)
    res = pk.tl.mageck_test(screen, treatment_samples=["HL60.final", "KBM7.final"],
                            control_samples=["HL60.initial", "KBM7.initial"], n_perm=500)
    ess = pk.tl.core_essential_genes(res.gene)
    ranks = res.set_index("gene").loc[ess.index, "neg_rank"]
    assert (ranks <= 20).sum() >= 4  # ANAPC2/4/11, BUB3 in the top 20 of 1,000 genes
