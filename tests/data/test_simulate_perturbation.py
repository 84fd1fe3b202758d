from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def test_shape_schema_truth():
    a = pk.data.simulate_perturbation(n_cell_types=3, n_donors=2, n_cells=10, n_genes=50, n_de=5, seed=0)
    assert a.shape == (3 * 2 * 2 * 10, 50)
    for col in ("perturbation", "condition", "cell_type", "donor", "replicate", "sample"):
        assert isinstance(a.obs[col].dtype, pd.CategoricalDtype)
    assert list(a.obs["perturbation"].cat.categories) == ["control", "stimulated"]
    truth = a.uns["truth"]
    assert truth["responsive"] == ["type0", "type1"]
    assert truth["de_genes"]["type2"] == []
    assert len(truth["de_genes"]["type0"]) == 5
    lfc = truth["log_fc"]
    assert (lfc["type2"] == 0).all()
    assert np.allclose(lfc.loc[truth["de_genes"]["type0"], "type0"].abs(), 1.5)
    assert np.allclose(lfc.loc[truth["de_genes"]["type1"], "type1"].abs(), 0.75)
    x = a.layers["counts"].toarray()
    assert np.allclose(x, np.round(x)) and (x >= 0).all()


def test_planted_fold_change_visible():
    a = pk.data.simulate_perturbation(n_cell_types=1, response=[1.0], n_cells=400, n_donors=2,
                                      donor_sd=0.0, n_de=5, effect_size=1.0, seed=3)
    x = a.layers["counts"].toarray()
    stim = (a.obs["perturbation"] == "stimulated").to_numpy()
    genes = a.uns["truth"]["de_genes"]["type0"]
    idx = [a.var_names.get_loc(g) for g in genes]
    observed = np.log(x[stim][:, idx].mean(0) / x[~stim][:, idx].mean(0))
    planted = a.uns["truth"]["log_fc"].loc[genes, "type0"].to_numpy()
    assert np.allclose(observed, planted, atol=0.2)


def test_unpaired_design():
    a = pk.data.simulate_perturbation(n_donors=4, paired=False, n_cells=5, seed=0)
    per_donor = a.obs.groupby("donor", observed=True)["perturbation"].nunique()
    assert (per_donor == 1).all()
    assert set(a.obs.loc[a.obs["donor"].isin(["d0", "d1"]), "perturbation"]) == {"control"}


def test_seed():
    a = pk.data.simulate_perturbation(n_cells=5, seed=4)
    b = pk.data.simulate_perturbation(n_cells=5, seed=4)
    c = pk.data.simulate_perturbation(n_cells=5, seed=5)
    assert (a.X != b.X).nnz == 0
    assert (a.X != c.X).nnz > 0


def test_bad_args():
    with pytest.raises(ValueError, match="response"):
        pk.data.simulate_perturbation(n_cell_types=2, response=[1.0])
    with pytest.raises(ValueError, match="n_genes"):
        pk.data.simulate_perturbation(n_genes=5, n_de=10)
    with pytest.raises(ValueError, match="n_donors"):
        pk.data.simulate_perturbation(n_donors=1, paired=False)


def test_names_and_planted_regulons():
    a = pk.data.simulate_perturbation(n_cell_types=2, response=[1.0, 0.0], n_shared=4, n_de=6,
                                      cell_types=["T", "B"], perturbation="IFN", n_cells=5, seed=0)
    assert list(a.obs["cell_type"].cat.categories) == ["B", "T"]
    assert list(a.obs["perturbation"].cat.categories) == ["control", "IFN"]
    reg = a.uns["truth"]["regulons"]
    truth = a.uns["truth"]
    assert set(reg.loc[reg["source"] == "REG_shared", "target"]) == set(truth["shared_genes"])
    own = reg[reg["source"] == "REG_T"].set_index("target")["weight"]
    assert (np.sign(truth["log_fc"].loc[own.index, "T"]) == own).all()
    assert "REG_B" not in set(reg["source"])  # the null type has no regulator
    decoy = reg.loc[reg["source"] == "REG_decoy", "target"]
    assert (truth["log_fc"].loc[decoy].abs().sum(1) == 0).all()
    with pytest.raises(ValueError, match="distinct names"):
        pk.data.simulate_perturbation(n_cell_types=2, cell_types=["A", "A"])
