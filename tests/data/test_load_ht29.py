"""HT-29 MinLibCas9 screen: schema and counts."""

from __future__ import annotations

import numpy as np

import perturbkit as pk


def test_schema(mirror):
    ht = pk.data.load("pooled_crispr_ht29_crisprcleanr")
    assert ht.shape == (37722 - 221, 4)
    assert ht.uns["dropped_unannotated_sgRNAs"] == 221
    assert ht.var["role"].tolist() == ["control", "treatment", "treatment", "treatment"]
    assert ht.layers["counts"].dtype == np.int64
    assert ht.obs["gene"].nunique() == 18761
    # column sums of the file (50,720,698 plasmid reads) minus the 221 dropped guides
    assert ht.X.sum(axis=0).tolist() == [50399421, 47926295, 41355430, 35946851]
