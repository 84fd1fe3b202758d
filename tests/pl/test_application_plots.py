"""The pl twins of asgard, connectivity and isogenic_interaction draw labelled axes and refuse wrong input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


def test_asgard_scores_stacks_cluster_contributions():
    sim = pk.data.simulate_cluster_reversal(seed=0)
    res = pk.tl.asgard(sim, sim.uns["signatures"])
    ax = pk.pl.asgard_scores(res, n_top=3, highlight=["drug_05"])
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 4 and labels[0].startswith("broad_reverser") and "drug_05 *" in labels[-1]
    # bar ends equal the drug scores
    ends = {}
    for patch in ax.patches:
        y = round(patch.get_y() + patch.get_height() / 2)
        ends[y] = max(ends.get(y, 0.0), patch.get_x() + patch.get_width())
    assert max(ends.values()) == pytest.approx(res.drugs["score"].iloc[0])
    plt.close("all")
    with pytest.raises(TypeError, match="AsgardResult"):
        pk.pl.asgard_scores(res.drugs)


def test_connectivity_rank_and_isogenic_scatter():
    sim = pk.data.simulate_signature_screen(seed=0)
    res = pk.tl.connectivity(pk.tl.compound_signatures(sim), up=sim.uns["truth"]["up"],
                             down=sim.uns["truth"]["down"], n_perm=0)
    ax = pk.pl.connectivity_rank(res, highlight=sim.uns["truth"]["reversers"], method="ks")
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert len(ax.texts) == len(sim.uns["truth"]["reversers"])
    with pytest.raises(ValueError, match="method"):
        pk.pl.connectivity_rank(res, method="gsea")
    with pytest.raises(KeyError, match="connectivity"):
        pk.pl.connectivity_rank(res.drop(columns="rank"))
    s = pk.data.simulate_isogenic_screen(n_genes=100, n_essential=10, n_lethal=5, n_suppressed=2, seed=0)
    gi = pk.tl.isogenic_interaction(s, treatment_samples=[v for v in s.var_names if "final" in v],
                                    control_samples=[v for v in s.var_names if "initial" in v])
    ax = pk.pl.isogenic_scatter(gi, highlight=["GENE0010"])
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    with pytest.raises(KeyError, match="isogenic_interaction"):
        pk.pl.isogenic_scatter(pd.DataFrame({"gene": ["a"]}))
    plt.close("all")
