from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def mix():
    a = pk.data.simulate_mixseq(n_cells=1200, seed=0)
    pk.tl.demultiplex_snps(a, a.uns["genotypes"])
    return a


def test_planted_lines_and_doublets_recovered(mix) -> None:
    truth = mix.uns["truth"]["cells"]
    single = ~truth["doublet"]
    call = mix.obs["cell_line"].astype(str)
    assert (call[single] == truth["line"][single]).mean() > 0.99
    assert (call[truth["doublet"]] == "doublet").mean() > 0.9
    assert (call[single] == "doublet").mean() < 0.01
    pairs = mix.obs.loc[truth["doublet"] & (call == "doublet"), "cell_line_pair"]
    planted = truth.loc[pairs.index].apply(lambda r: "+".join(sorted([r["line"], r["line2"]])), axis=1)
    assert (pairs.to_numpy() == planted.to_numpy()).mean() > 0.9


def test_low_coverage_is_ambiguous_not_wrong() -> None:
    a = pk.data.simulate_mixseq(n_cells=600, snp_coverage=0.005, seed=1)
    pk.tl.demultiplex_snps(a, a.uns["genotypes"])
    truth = a.uns["truth"]["cells"]
    call = a.obs["cell_line"].astype(str)[~truth["doublet"]]
    wrong = ~call.isin(["ambiguous", "doublet"]) & (call != truth["line"][~truth["doublet"]])
    assert (call == "ambiguous").mean() > 0.5 and wrong.mean() < 0.01


def test_per_line_response_after_demultiplexing(mix) -> None:
    """Only the planted sensitive lines respond; the pooled comparison cannot say which."""
    resp = mix.uns["truth"]["response"]
    hits = {}
    for line in resp.index:
        sub = mix[(mix.obs["cell_line"] == line).to_numpy()].copy()
        r = pk.tl.perturbation_test(sub, group="drug", groupby="condition", reference="DMSO", strata=None)
        padj = pd.Series(pk.metrics.bh_adjust(r["pvalue_ttest"].to_numpy()), index=r["gene"])
        hits[line] = set(padj.index[padj < 0.05])
    for line in resp.index:
        planted = set(resp.columns[resp.loc[line] != 0])
        if planted:
            assert len(hits[line] & planted) >= 0.8 * len(planted), (line, hits[line])
        assert len(hits[line] - planted) <= 1, (line, hits[line] - planted)


def test_demultiplex_bad_input(mix) -> None:
    g = mix.uns["genotypes"]
    with pytest.raises(KeyError, match="adata.obsm has no 'alt_counts'"):
        pk.tl.demultiplex_snps(mix, g, alt_key="alt_counts")
    with pytest.raises(ValueError, match=r"expected cells x SNPs = \(1200, 100\)"):
        pk.tl.demultiplex_snps(mix, g.iloc[:, :100])
    with pytest.raises(ValueError, match="fractions in \\[0, 1\\]"):
        pk.tl.demultiplex_snps(mix, g * 2)
    with pytest.raises(ValueError, match="error must be in"):
        pk.tl.demultiplex_snps(mix, g, error=0.7)
    c = pk.tl.demultiplex_snps(mix, g, copy=True)
    assert np.array_equal(c.obs["cell_line"], mix.obs["cell_line"])
