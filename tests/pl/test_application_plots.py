"""The pl twins of asgard, connectivity and isogenic_interaction draw labelled axes and refuse wrong input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
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


def test_screen_plots_draw_what_they_are_given():
    s = pk.data.simulate_pooled_screen(n_genes=40, n_essential=6, seed=0)
    pk.pp.normalize_screen(s)
    sg = pk.tl.sgrna_lfc(s, treatment_samples=["final_1", "final_2"], control_samples=["initial_1", "initial_2"])
    ax = pk.pl.sgrna_lfc(sg, pvalue=1e-2)
    assert len(ax.collections[1].get_offsets()) == int((sg["pvalue_low"] < 1e-2).sum())
    with pytest.raises(ValueError, match="pvalue"):
        pk.pl.sgrna_lfc(sg, pvalue=5)
    betas = pd.DataFrame({"A": [-1.0, 0.1, -0.2], "B": [-1.2, 0.0, -2.0]}, index=["g1", "g2", "g3"])
    ax = pk.pl.mle_betas(betas, x="A", y="B", highlight=["g3", "absent"])
    assert [t.get_text() for t in ax.texts] == ["g3"]
    with pytest.raises(KeyError, match="'C'"):
        pk.pl.mle_betas(betas, x="A", y="C")
    lfc = pd.Series([-3.0, -2.5, 0.1, 0.0, -0.2], index=list("abcde"))
    ax = pk.pl.essential_lfc(lfc, ["a", "b"], bins=5)
    assert sum(p.get_height() > 0 for p in ax.patches) >= 2
    with pytest.raises(ValueError, match="some, but not all"):
        pk.pl.essential_lfc(lfc, ["zz"])
    t = pd.DataFrame({"lfc": [0.0] * 5 + [-1.0] * 5, "segment": [0] * 5 + [1] * 5,
                      "segment_median": [0.0] * 5 + [-1.0] * 5, "gene": list("abcdefghij")})
    ax = pk.pl.genome_track(t, mark_genes=["g"])
    assert len(ax.lines) == 2  # the segment line and one marker
    with pytest.raises(KeyError, match="crisprcleanr"):
        pk.pl.genome_track(t.drop(columns="segment"))
    for a in (ax,):
        assert a.get_xlabel() and a.get_ylabel() and a.get_title()
    plt.close("all")


def test_synergy_summary_plots():
    blocks = pk.data.simulate_combination(seed=0)
    scores = pk.tl.synergy_scores(blocks)
    ax = pk.pl.synergy_scores(scores)
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == sorted(round(v, 6) for v in [*scores["hsa"], *scores["bliss"]])
    with pytest.raises(KeyError, match="zip"):
        pk.pl.synergy_scores(scores, methods=("zip",))
    wells = pd.concat([pk.tl.synergy(blocks, method=m) for m in ("hsa", "bliss")])
    ax = pk.pl.synergy_wells(wells)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["HSA", "Bliss"]
    full = wells[wells["n_drugs"] == wells.groupby(["block_id", "method"])["n_drugs"].transform("max")]
    expected = [float(full.loc[(full.method == m) & (full.block_id == b), "synergy"].median())
                for m in ("hsa", "bliss") for b in pd.unique(full["block_id"])]
    medians = [float(line.get_ydata()[0]) for line in ax.lines if line.get_label() == "median"]
    np.testing.assert_allclose(medians, expected)
    ax = pk.pl.synergy_wells(wells, xlabel="block (three-drug wells)", ylabel="synergy")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("block (three-drug wells)", "synergy")
    with pytest.raises(KeyError, match="pk.tl.synergy"):
        pk.pl.synergy_wells(scores)
    plt.close("all")
