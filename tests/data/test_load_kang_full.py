"""The reader of pertpy's full Kang 2018 object, on files written in its documented layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import perturbkit as pk

FULL_TYPES = ["B cells", "CD14+ Monocytes", "CD4 T cells", "CD8 T cells", "Dendritic cells",
              "FCGR3A+ Monocytes", "Megakaryocytes", "NK cells"]


@pytest.fixture()
def sim():
    """8 cell types named as in the full data, 3 donors, 12 cells per type x donor x condition."""
    a = pk.data.simulate_perturbation(n_cell_types=8, n_donors=3, n_cells=12, n_genes=40, seed=3,
                                      cell_types=FULL_TYPES)
    a.obs["donor"] = a.obs["donor"].astype(str).map({"d0": "101", "d1": "1015", "d2": "1488"}).astype("category")
    return a


def test_schema_counts_and_labels(sim, pertpy_kang_layout, private_data):
    private_data({"kang2018_full": pertpy_kang_layout(sim)})
    kang = pk.data.load("kang2018_full")
    assert kang.shape == sim.shape and kang.uns["dataset"] == "kang2018_full"
    assert set(kang.obs["perturbation"]) == {"control", "IFN-beta"}
    assert list(kang.obs["perturbation"].cat.categories) == ["control", "IFN-beta"]
    assert sorted(kang.obs["donor"].cat.categories) == ["101", "1015", "1488"]  # "patient_" dropped
    assert (kang.obs["replicate"].astype(str) == kang.obs["donor"].astype(str)).all()
    assert set(kang.obs["sample"]) == {f"{c}{d}" for c in ("ctrl", "stim") for d in ("101", "1015", "1488")}
    assert sorted(kang.obs["cell_type"].cat.categories) == FULL_TYPES
    for col in ("perturbation", "condition", "cell_type", "donor", "replicate", "sample"):
        assert isinstance(kang.obs[col].dtype, pd.CategoricalDtype)
    assert "nCount_RNA" in kang.obs and "label" in kang.obs  # the file's own columns are kept
    counts = kang.layers["counts"]
    assert sparse.issparse(counts) and (counts != kang.X).nnz == 0
    assert int(counts.sum()) == int(sim.layers["counts"].sum())
    assert list(kang.var_names) == list(sim.var_names)
    assert kang.obsm["X_umap_published"].shape == (sim.n_obs, 2)
    # the stimulated label follows the file's "stim", cell by cell
    stim = kang.obs["label"].astype(str) == "stim"
    assert ((kang.obs["perturbation"] == "IFN-beta") == stim).all()


def test_subsampling_is_capped_and_seeded(sim, pertpy_kang_layout, private_data):
    private_data({"kang2018_full": pertpy_kang_layout(sim)})
    a = pk.data.load("kang2018_full", max_cells_per_group=5, seed=1)
    b = pk.data.load("kang2018_full", max_cells_per_group=5, seed=1)
    c = pk.data.load("kang2018_full", max_cells_per_group=5, seed=2)
    tab = pd.crosstab(a.obs["cell_type"], a.obs["sample"])
    assert tab.shape == (8, 6) and (tab.to_numpy() == 5).all()
    assert a.n_obs == 8 * 6 * 5
    assert list(a.obs_names) == list(b.obs_names) and list(a.obs_names) != list(c.obs_names)
    assert a.uns["subsample"]["max_cells_per_group"] == 5 and a.uns["subsample"]["n_cells_in_file"] == sim.n_obs
    # subsampled counts are the file's rows, unchanged
    full = pk.data.load("kang2018_full")
    assert (full[a.obs_names].layers["counts"] != a.layers["counts"]).nnz == 0


def test_cell_types_genes_and_cell_counts(sim, pertpy_kang_layout, private_data):
    private_data({"kang2018_full": pertpy_kang_layout(sim)})
    two = pk.data.load("kang2018_full", cell_types=["CD4 T cells", "NK cells"])
    assert set(two.obs["cell_type"]) == {"CD4 T cells", "NK cells"} and two.n_obs == 2 * 3 * 2 * 12
    with pytest.raises(KeyError, match=r"\['CD4\+ T cells'\].*present: .*'CD4 T cells'"):
        pk.data.load("kang2018_full", cell_types=["CD4+ T cells"])
    few = pk.data.load("kang2018_full", min_cells_per_gene=572)
    detected = np.asarray((sim.layers["counts"] > 0).sum(0)).ravel()
    assert 0 < few.n_vars == int((detected >= 572).sum()) < sim.n_vars
    assert pk.data.load("kang2018_full", min_cells_per_gene=572 / sim.n_obs).n_vars == few.n_vars  # as a fraction
    with pytest.raises(ValueError, match="min_cells_per_gene"):
        pk.data.load("kang2018_full", min_cells_per_gene=-1)
    tab = pk.data.load("kang2018_full", table="cell_counts")
    assert list(tab.columns) == ["sample", "donor", "perturbation", "cell_type", "n_cells"]
    assert len(tab) == 6 * 8 and (tab["n_cells"] == 12).all()
    assert set(tab["perturbation"]) == {"control", "IFN-beta"}
    with pytest.raises(ValueError, match="cell_counts"):
        pk.data.load("kang2018_full", table="nope")
    with pytest.raises(ValueError, match="max_cells_per_group"):
        pk.data.load("kang2018_full", max_cells_per_group=0)


def test_tolerant_layouts(sim, pertpy_kang_layout, private_data):
    # tutorial-style renames, log-normalised X with the counts in a layer
    f = pertpy_kang_layout(sim)
    f.obs = f.obs.rename(columns={"label": "condition", "replicate": "patient"})
    f.obs["condition"] = f.obs["condition"].cat.rename_categories({"ctrl": "control", "stim": "stimulated"})
    f.layers["counts"] = f.X.copy()
    f.X = f.X.copy()
    f.X.data = np.log1p(f.X.data / 3.0)
    private_data({"kang2018_full": f})
    kang = pk.data.load("kang2018_full")
    assert int(kang.layers["counts"].sum()) == int(sim.layers["counts"].sum())
    assert set(kang.obs["perturbation"]) == {"control", "IFN-beta"}
    assert "1015" in set(kang.obs["donor"])


def test_clear_errors(sim, pertpy_kang_layout, private_data):
    f = pertpy_kang_layout(sim)
    f2 = f.copy()
    f2.obs = f2.obs.drop(columns=["replicate"])
    private_data({"kang2018_full": f2})
    with pytest.raises(KeyError, match=r"donor/replicate.*\['replicate', 'patient', 'donor', 'ind'\].*nCount_RNA"):
        pk.data.load("kang2018_full")
    f3 = f.copy()
    f3.obs = f3.obs.drop(columns=["cell_type"])
    private_data({"kang2018_full": f3})
    with pytest.raises(KeyError, match="no 'cell_type' column"):
        pk.data.load("kang2018_full")
    f4 = f.copy()
    f4.obs["label"] = f4.obs["label"].cat.rename_categories({"stim": "IFNb"})
    private_data({"kang2018_full": f4})
    with pytest.raises(ValueError, match=r"labels \['IFNb'\]"):
        pk.data.load("kang2018_full")
    f5 = f.copy()
    f5.X = f5.X.copy()
    f5.X.data = np.log1p(f5.X.data / 3.0)  # normalised only, no counts anywhere
    private_data({"kang2018_full": f5})
    with pytest.raises(ValueError, match="no raw counts"):
        pk.data.load("kang2018_full")


def test_cells_without_labels_are_dropped_with_a_warning(sim, pertpy_kang_layout, private_data):
    f = pertpy_kang_layout(sim)
    f.obs["cell_type"] = f.obs["cell_type"].astype(object)
    f.obs.iloc[:3, f.obs.columns.get_loc("cell_type")] = np.nan
    private_data({"kang2018_full": f})
    with pytest.warns(UserWarning, match="3 cells without"):
        kang = pk.data.load("kang2018_full")
    assert kang.n_obs == sim.n_obs - 3


def test_muscat_cells_in_the_pertpy_layout_give_back_the_muscat_numbers(mirror, pertpy_kang_layout, private_data):
    muscat = pk.data.load("kang2018_ifnb_muscat")
    private_data({"kang2018_full": pertpy_kang_layout(muscat)})
    kang = pk.data.load("kang2018_full")
    assert kang.shape == (1556, 1267)
    assert int(kang.layers["counts"].sum()) == 2_338_396  # total UMIs stated in PROVENANCE.md
    tab = pd.crosstab(kang.obs["cell_type"], kang.obs["sample"])
    assert tab.loc["CD8 T cells"].tolist() == [74, 20, 100, 15]
    assert (kang.obs["sample"].astype(str).to_numpy() == muscat.obs["sample"].astype(str).to_numpy()).all()
