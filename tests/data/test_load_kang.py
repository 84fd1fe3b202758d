"""Schema of the Kang 2018 loader, and the published sanity numbers of the muscat subset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import perturbkit as pk


@pytest.fixture(scope="module")
def kang(mirror):
    return pk.data.load("kang2018_ifnb_muscat")


def test_shape_and_schema(kang):
    assert kang.shape == (1556, 1267)
    for col in ("perturbation", "condition", "cell_type", "donor", "replicate", "sample"):
        assert col in kang.obs
        assert isinstance(kang.obs[col].dtype, pd.CategoricalDtype)
        assert not kang.obs[col].isna().any()
    assert set(kang.obs["perturbation"]) == {"control", "IFN-beta"}
    assert set(kang.obs["donor"]) == {"101", "107"}
    assert kang.obs["cell_type"].nunique() == 5
    assert kang.uns["dataset"] == "kang2018_ifnb_muscat"
    assert kang.var_names.is_unique and "ISG15" in kang.var_names


def test_counts_raw_and_consistent(kang):
    counts = kang.layers["counts"]
    assert sparse.issparse(counts)
    assert (counts != kang.X).nnz == 0
    data = counts.data
    assert np.all(data >= 0) and np.allclose(data, np.round(data))
    assert int(counts.sum()) == 2_338_396  # total UMIs stated in PROVENANCE.md


def test_cells_per_type_and_sample(kang):
    tab = pd.crosstab(kang.obs["cell_type"], kang.obs["sample"])
    assert tab.loc["CD8 T cells"].tolist() == [74, 20, 100, 15]
    assert tab.loc["CD14+ Monocytes"].tolist() == [100, 100, 100, 100]
    # control vs stimulated sample names agree with the perturbation label
    stim = kang.obs["sample"].astype(str).str.startswith("stim")
    assert ((kang.obs["perturbation"] == "IFN-beta") == stim).all()


def test_isg_sanity_means(kang):
    # PROVENANCE.md: mean ISG15 counts ctrl 0.28 vs stim 47.0
    isg = np.asarray(kang[:, "ISG15"].layers["counts"].toarray()).ravel()
    ctrl = kang.obs["perturbation"] == "control"
    assert isg[ctrl.to_numpy()].mean() == pytest.approx(0.28, abs=0.01)
    assert isg[~ctrl.to_numpy()].mean() == pytest.approx(47.0, abs=0.1)


def test_cell_counts_table(mirror):
    tab = pk.data.load("kang2018_ifnb_muscat", table="cell_counts")
    assert list(tab.columns) == ["sample", "donor", "perturbation", "cell_type", "n_cells"]
    assert len(tab) == 16 * 8
    assert set(tab["perturbation"]) == {"control", "IFN-beta"}
    assert tab["donor"].nunique() == 8
    row = tab[(tab["sample"] == "ctrl101") & (tab["cell_type"] == "B cells")]
    assert int(row["n_cells"].iloc[0]) == 101


def test_bad_table(mirror):
    with pytest.raises(ValueError, match="cell_counts"):
        pk.data.load("kang2018_ifnb_muscat", table="nope")
