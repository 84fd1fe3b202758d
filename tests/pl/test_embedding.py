"""pk.pl.embedding draws each cell at its embedding coordinates, in the colour of its value."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from anndata import AnnData  # noqa: E402

import perturbkit as pk  # noqa: E402


@pytest.fixture
def cells() -> AnnData:
    obs = pd.DataFrame({"perturbation": pd.Categorical(["control", "stim", "stim", "control"])},
                       index=[f"c{i}" for i in range(4)])
    adata = AnnData(np.arange(8, dtype=float).reshape(4, 2), obs=obs, var=pd.DataFrame(index=["g1", "g2"]))
    adata.obsm["X_umap"] = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]])
    adata.obsm["tf_activity"] = pd.DataFrame({"STAT1": [3.0, -1.0, 0.0, 2.0]}, index=adata.obs_names)
    return adata


def test_categories_at_their_coordinates(cells):
    ax = pk.pl.embedding(cells, "perturbation", palette=["#9e9e9e", "#d62728"])
    control, stim = ax.collections
    assert control.get_offsets().tolist() == [[0.0, 1.0], [6.0, 7.0]]
    assert stim.get_offsets().tolist() == [[2.0, 3.0], [4.0, 5.0]]
    assert matplotlib.colors.to_hex(stim.get_facecolor()[0]) == "#d62728"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("UMAP 1 (a.u.)", "UMAP 2 (a.u.)", "perturbation")
    with pytest.raises(ValueError, match="palette has 1 colours"):
        pk.pl.embedding(cells, "perturbation", palette=["red"])
    plt.close("all")


def test_scores_from_obsm_and_genes(cells):
    ax = pk.pl.embedding(cells, "STAT1", obsm_key="tf_activity", vmin=-6, vmax=6, colorbar_label="ulm score")
    points = ax.collections[0]
    assert points.get_array().tolist() == [-1.0, 0.0, 2.0, 3.0]  # sorted: highest drawn on top
    assert points.get_offsets().tolist() == [[2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [0.0, 1.0]]
    assert points.get_clim() == (-6, 6)
    assert ax.figure.axes[-1].get_ylabel() == "ulm score"
    gene = pk.pl.embedding(cells, "g2").collections[0]
    assert gene.get_array().tolist() == [1.0, 3.0, 5.0, 7.0]
    plt.close("all")


def test_missing_embedding_or_value_named(cells):
    with pytest.raises(KeyError, match=r"'X_pca'.*sc\.pp\.pca"):
        pk.pl.embedding(cells, "perturbation", basis="pca")
    with pytest.raises(KeyError, match="neither an obs column nor a gene"):
        pk.pl.embedding(cells, "IRF9")
    with pytest.raises(KeyError, match=r"'IRF9' is not a column of adata\.obsm\['tf_activity'\]"):
        pk.pl.embedding(cells, "IRF9", obsm_key="tf_activity")
    with pytest.raises(KeyError, match="no 'tf'"):
        pk.pl.embedding(cells, "STAT1", obsm_key="tf")
