"""The tissue simulator plants what its docstring promises."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def tissue():
    return pk.data.simulate_tissue(600, seed=0)


def test_schema(tissue):
    assert tissue.obsm["spatial"].shape == (600, 2)
    assert tissue.layers["counts"].dtype == np.int64
    assert {"cell_type", "niche", "perturbation", "clone"} <= set(tissue.obs.columns)
    truth = tissue.uns["truth"]
    assert {"niches", "lr_pairs", "paracrine", "juxtacrine", "grn", "clones"} <= set(truth)
    assert len(truth["grn"]) == 9
    assert len(truth["clones"]) == 8
    # ~15 µm between cells: a 367 µm square
    assert tissue.obsm["spatial"].max() < 15 * np.sqrt(600)


def test_seed_determinism():
    a = pk.data.simulate_tissue(300, seed=3, clone_radius_um=25)
    b = pk.data.simulate_tissue(300, seed=3, clone_radius_um=25)
    c = pk.data.simulate_tissue(300, seed=4, clone_radius_um=25)
    np.testing.assert_array_equal(a.layers["counts"], b.layers["counts"])
    np.testing.assert_array_equal(a.obsm["spatial"], b.obsm["spatial"])
    assert not np.array_equal(a.layers["counts"], c.layers["counts"])


def test_planted_niches_and_markers(tissue):
    comp = tissue.obs.groupby("niche", observed=True)["cell_type"].value_counts(normalize=True).unstack()
    assert comp.loc["stroma", "Fibroblast"] > 0.35
    assert comp.loc["tumor", "Tumor"] > 0.6
    assert comp.loc["immune", "Macrophage"] > 0.45
    assert comp.loc["stroma", "T cell"] > 0.25
    epcam = tissue[:, "EPCAM"].X.ravel()
    tumour = (tissue.obs["cell_type"] == "Tumor").to_numpy()
    assert epcam[tumour].mean() > 10 * epcam[~tumour].mean()


def test_planted_paracrine_signal(tissue):
    truth = tissue.uns["truth"]
    t = (tissue.obs["cell_type"] == "T cell").to_numpy()
    nr4a1 = tissue[:, "NR4A1"].X.ravel() / tissue.obs["library_size"].to_numpy()
    rho = np.corrcoef(truth["received_signal"][t], nr4a1[t])[0, 1]
    assert rho > 0.5


def test_knockouts_and_clones(tissue):
    ko = tissue.obs["perturbation"].astype(str)
    for gene in ("SOCS1", "JAK1", "TGFBR2"):
        x = tissue[:, gene].X.ravel()
        ctrl = ((ko == "control") & (tissue.obs["cell_type"] == "Tumor")).to_numpy()
        assert x[(ko == gene).to_numpy()].mean() < 0.3 * x[ctrl].mean()
    in_jak1 = tissue.obs["clone"].astype(str).str.startswith("JAK1").to_numpy()
    assert (tissue.obs.loc[in_jak1, "cell_type"] == "T cell").sum() == 0


def test_too_small_raises():
    with pytest.raises(ValueError, match="do not fit"):
        pk.data.simulate_tissue(300, seed=0, n_clones_per_ko=3)
    with pytest.raises(ValueError, match="n_cells"):
        pk.data.simulate_tissue(50)
