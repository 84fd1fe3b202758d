from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import perturbkit as pk


def test_matches_scipy_and_finds_planted(sim_counts):
    de = pk.tl.wilcoxon_de(sim_counts)
    assert set(de["cell_type"]) == {"type0", "type1", "type2"}
    d0 = de.query("cell_type == 'type0'")
    planted = set(sim_counts.uns["truth"]["de_genes"]["type0"])
    assert set(d0.head(len(planted))["gene"]) == planted
    # one gene recomputed by hand
    g = d0["gene"].iloc[0]
    sub = sim_counts[sim_counts.obs["cell_type"] == "type0"]
    x = sub.layers["counts"].toarray()
    logx = np.log1p(x / x.sum(1, keepdims=True) * 1e4)[:, sub.var_names.get_loc(g)]
    stim = (sub.obs["perturbation"] == "stimulated").to_numpy()
    p = stats.mannwhitneyu(logx[stim], logx[~stim], method="asymptotic").pvalue
    assert d0["pvalue"].iloc[0] == pytest.approx(p)


def test_bad_input(sim_counts):
    with pytest.raises(ValueError, match="control label"):
        pk.tl.wilcoxon_de(sim_counts, control="none")
    with pytest.raises(KeyError, match="cluster"):
        pk.tl.wilcoxon_de(sim_counts, split_by="cluster")
