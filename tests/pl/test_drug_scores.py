"""pl twins of Beyondcell and gene attributions draw labelled axes and name the missing call."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from anndata import AnnData  # noqa: E402

import perturbkit as pk  # noqa: E402


def test_beyondcell_umap_draws():
    sim = pk.data.simulate_tumour_subclones(n_cells=200, seed=0)
    cells = sim["cells"]
    cells.X = cells.X.clip(0)
    with pytest.raises(KeyError, match="beyondcell_clusters"):
        pk.pl.beyondcell_umap(cells, "drug1")
    pk.tl.beyondcell_scores(cells, pk.tl.drug_response_signatures(sim["ic50"], sim["expression"]))
    pk.tl.beyondcell_clusters(cells)
    fig, axes = plt.subplots(1, 2)
    pk.pl.beyondcell_umap(cells, "drug1", ax=axes[0])
    pk.pl.beyondcell_umap(cells, "therapeutic_cluster", ax=axes[1])
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert "switch point" in fig.axes[-1].get_ylabel()  # the colour bar says where sensitivity starts
    assert len(axes[1].get_legend().get_texts()) == cells.obs["therapeutic_cluster"].nunique()
    with pytest.raises(KeyError, match="neither a drug"):
        pk.pl.beyondcell_umap(cells, "nope")
    plt.close("all")
    assert isinstance(cells, AnnData)


def test_gene_attributions_highlights():
    attr = pd.Series({"g1": 0.9, "g2": 0.5, "g3": 0.1})
    ax = pk.pl.gene_attributions(attr, highlight=["g2"], n_top=2)
    assert {t.get_text() for t in ax.get_yticklabels()} == {"g1", "g2"}
    assert len(ax.patches) == 2 and ax.get_xlabel() and ax.get_title()
    with pytest.raises(TypeError, match="Series"):
        pk.pl.gene_attributions({"g1": 1.0})
    plt.close("all")


def test_drug_scores_by_group_draws():
    sim = pk.data.simulate_tumour_subclones(n_cells=200, seed=0)
    cells = sim["cells"]
    with pytest.raises(KeyError, match="scdr_scores"):
        pk.pl.drug_scores_by_group(cells, key="scdr", group_key="subpopulation")
    pk.tl.scdr_scores(cells, pk.tl.drug_response_signatures(sim["ic50"], sim["expression"]))
    ax = pk.pl.drug_scores_by_group(cells, key="scdr", group_key="subpopulation", score_label="DRS")
    assert ax.get_xlabel() == "drug" and ax.get_ylabel() == "DRS" and ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["drug0", "drug1", "drug2", "drug3"]
    assert len(ax.get_legend().get_texts()) == 3
    # the boxes are the scores: per drug, then per subpopulation (legend order), the medians
    groups = cells.obs["subpopulation"].astype("category")
    scores = pd.DataFrame(cells.obsm["scdr"])
    expected = [float(scores.loc[(groups == g).to_numpy(), d].median())
                for g in groups.cat.categories for d in scores.columns]
    medians = [float(line.get_ydata()[0]) for line in ax.lines if line.get_label() == "median"]
    np.testing.assert_allclose(medians, expected)
    assert ax.get_legend().get_title().get_text() == "subpopulation"
    with pytest.raises(KeyError, match="nope"):
        pk.pl.drug_scores_by_group(cells, key="scdr", group_key="nope")
    plt.close("all")
