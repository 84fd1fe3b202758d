"""Stand-in resources: planted gene sets, ligand-receptor pairs and communication change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def dose():
    return pk.data.simulate_dose_response(n_cell_types=1, ec50=[0.5], n_genes=60, n_cells=20, seed=0)


@pytest.fixture(scope="module")
def comm():
    return pk.data.simulate_communication(n_cells=30, n_genes=40, seed=0)


def test_gene_sets_planted_set_is_the_response_genes(dose):
    sets = pk.data.simulate_gene_sets(dose, n_sets=5, set_size=12, seed=0)
    assert list(sets.columns) == ["source", "target", "weight", "planted"]
    assert (sets["weight"] == 1.0).all()
    planted = sets.loc[sets["source"] == "SIM_PLANTED_RESPONSE", "target"]
    assert sorted(planted) == sorted(dose.uns["truth"]["response_genes"])
    sizes = sets.groupby("source").size()
    assert len(sizes) == 6 and (sizes.drop("SIM_PLANTED_RESPONSE") == 12).all()
    assert set(sets["target"]) <= set(dose.var_names)
    flags = sets.groupby("source")["planted"].agg(["all", "any"])
    assert (flags["all"] == flags["any"]).all()  # one flag per set
    assert list(flags.index[~flags["any"]]) == [f"SIM_RANDOM_{k:02d}" for k in range(1, 6)]
    assert list(flags.index[flags["any"]]) == ["SIM_PLANTED_RESPONSE"]


def test_gene_sets_signed_split_follows_planted_sign(dose):
    sets = pk.data.simulate_gene_sets(dose, n_sets=2, signed=True, seed=0)
    lfc = dose.uns["truth"]["log_fc"]
    up = sets.loc[sets["source"] == "SIM_PLANTED_RESPONSE_UP", "target"]
    down = sets.loc[sets["source"] == "SIM_PLANTED_RESPONSE_DOWN", "target"]
    assert (lfc[up] > 0).all() and (lfc[down] < 0).all()
    assert sorted([*up, *down]) == sorted(dose.uns["truth"]["response_genes"])
    assert sorted(set(sets.loc[sets["planted"], "source"])) == ["SIM_PLANTED_RESPONSE_DOWN", "SIM_PLANTED_RESPONSE_UP"]
    with pytest.raises(KeyError, match="log_fc"):
        pk.data.simulate_gene_sets(_no_lfc(dose), signed=True)


def _no_lfc(adata):
    out = adata.copy()
    out.uns["truth"] = {k: v for k, v in out.uns["truth"].items() if k != "log_fc"}
    return out


def test_gene_sets_seeded_and_input_untouched(dose):
    before = dose.uns["truth"]["response_genes"][:]
    a = pk.data.simulate_gene_sets(dose, seed=3)
    b = pk.data.simulate_gene_sets(dose, seed=3)
    c = pk.data.simulate_gene_sets(dose, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert dose.uns["truth"]["response_genes"] == before


def test_gene_sets_bad_input(dose):
    with pytest.raises(KeyError, match="truth"):
        pk.data.simulate_gene_sets(_no_truth(dose))
    with pytest.raises(KeyError, match="nope"):
        pk.data.simulate_gene_sets(dose, truth_key="nope")
    with pytest.raises(ValueError, match="set_size"):
        pk.data.simulate_gene_sets(dose, set_size=10_000)
    with pytest.raises(ValueError, match="n_sets"):
        pk.data.simulate_gene_sets(dose, n_sets=-1)


def _no_truth(adata):
    out = adata.copy()
    del out.uns["truth"]
    return out


def test_communication_shape_and_schema(comm):
    assert comm.shape == (4 * 2 * 2 * 30, 40 + 12)
    assert set(comm.obs["perturbation"].cat.categories) == {pk.data.CONTROL, "stimulated"}
    for col in ("cell_type", "donor", "replicate", "sample", "condition"):
        assert col in comm.obs
    np.testing.assert_array_equal(comm.X.toarray(), comm.layers["counts"].toarray())
    a = pk.data.simulate_communication(n_cells=30, n_genes=40, seed=0)
    np.testing.assert_array_equal(a.X.toarray(), comm.X.toarray())


def test_communication_planted_ligand_rises_in_sender(comm):
    truth = comm.uns["truth"]
    assert truth["induced_ligands"] == ["LIG1", "LIG2"] and truth["sender"] == "type0"
    x = comm.layers["counts"].toarray()
    x = np.log1p(1e4 * x / x.sum(1, keepdims=True))
    expr = pd.DataFrame(x, columns=comm.var_names, index=comm.obs_names)
    stim = (comm.obs["perturbation"] != pk.data.CONTROL).to_numpy()
    sender = (comm.obs["cell_type"] == "type0").to_numpy()
    for lig in truth["lr_pairs"]["ligand"]:
        change = expr.loc[sender & stim, lig].mean() - expr.loc[sender & ~stim, lig].mean()
        if lig in truth["induced_ligands"]:
            assert change > 1.0, (lig, change)
        else:
            assert abs(change) < 0.4, (lig, change)
        # ligands are made by the sender only
        assert (comm[~sender, lig].layers["counts"].toarray() > 0).mean() < 0.05
    rec = truth["lr_pairs"]["receptor"].tolist()
    assert (comm[:, rec].layers["counts"].toarray() > 0).mean() > 0.5  # receptors on every type


def test_communication_bad_input():
    with pytest.raises(ValueError, match="n_induced"):
        pk.data.simulate_communication(n_pairs=2, n_induced=3)
    with pytest.raises(ValueError, match="sender"):
        pk.data.simulate_communication(sender=9)
    with pytest.raises(ValueError, match="cell_types"):
        pk.data.simulate_communication(cell_types=["a", "a", "b", "c"])
    with pytest.raises(ValueError, match=">= 1"):
        pk.data.simulate_communication(n_cells=0)


def test_lr_resource_holds_planted_pairs(comm):
    table = pk.data.simulate_lr_resource(comm, n_decoys=10, seed=0)
    assert list(table.columns) == ["ligand", "receptor", "ligand_uniprot", "receptor_uniprot", "resource", "planted"]
    assert len(table) == 6 + 10 and (table["resource"] == "consensus").all()
    planted = set(zip(comm.uns["truth"]["lr_pairs"]["ligand"], comm.uns["truth"]["lr_pairs"]["receptor"],
                      strict=True))
    assert planted <= set(zip(table["ligand"], table["receptor"], strict=True))
    assert table["planted"].tolist() == [True] * 6 + [False] * 10
    decoys = table.iloc[6:]
    assert not (set(decoys["ligand"]) | set(decoys["receptor"])) & {g for p in planted for g in p}
    assert set(table["ligand"]) | set(table["receptor"]) <= set(comm.var_names)
    pd.testing.assert_frame_equal(table, pk.data.simulate_lr_resource(comm, n_decoys=10, seed=0))


def test_lr_resource_bad_input(comm, dose):
    with pytest.raises(KeyError, match="lr_pairs"):
        pk.data.simulate_lr_resource(dose)
    with pytest.raises(ValueError, match="n_decoys"):
        pk.data.simulate_lr_resource(comm, n_decoys=1000)


def test_stand_in_used_when_data_missing(monkeypatch, tmp_path, comm):
    monkeypatch.delenv("PERTURBKIT_DATA_MIRROR", raising=False)
    monkeypatch.setenv("PERTURBKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PERTURBKIT_OFFLINE", "1")
    monkeypatch.delenv("PERTURBKIT_STRICT", raising=False)
    with pytest.warns(UserWarning, match="simulated stand-in"):
        omni = pk.data.load("resources_genesets_lr", table="omni",
                            fallback=lambda: pk.data.simulate_lr_resource(comm, seed=0))
    assert pk.data.is_stand_in("resources_genesets_lr")
    assert omni["planted"].sum() == len(comm.uns["truth"]["lr_pairs"])


def test_dose_response_several_drugs_keep_one_drug_stream():
    one = pk.data.simulate_dose_response(n_cell_types=1, ec50=[0.5], n_genes=30, n_cells=20, seed=0)
    same = pk.data.simulate_dose_response(n_cell_types=1, ec50=[0.5], n_genes=30, n_cells=20, seed=0,
                                          drugs=["drugA"])
    np.testing.assert_array_equal(one.X.toarray(), same.X.toarray())
    many = pk.data.simulate_dose_response(n_cell_types=1, ec50=[0.5], n_genes=30, n_cells=20, seed=0,
                                          drugs=["a", "b", "c"], drug_ec50_fold=10.0)
    assert set(many.obs["perturbation"].cat.categories) == {pk.data.CONTROL, "a", "b", "c"}
    assert many.uns["truth"]["ec50_by_drug"]["c"]["type0"] == pytest.approx(50.0)
    # a less potent compound kills fewer cells at the top dose
    top = many.obs[many.obs["dose"] == many.obs["dose"].max()]["perturbation"].value_counts()
    assert top["a"] < top["c"]
    with pytest.raises(ValueError, match="distinct"):
        pk.data.simulate_dose_response(drugs=["a", "a"])
    with pytest.raises(ValueError, match="distinct"):
        pk.data.simulate_dose_response(drugs=[pk.data.CONTROL])


def test_viability_plates_planted_ic50_recovered():
    plates = pk.data.simulate_viability_plates(n_cell_lines=8, n_drugs=2, seed=0)
    assert {"SCAN_ID", "TAG", "COSMIC_ID", "DRUG_ID", "CONC", "INTENSITY"} <= set(plates.columns)
    wells = pk.pp.gdsc_normalise(plates)
    fits = pk.dose.fit_curves(wells, dose="CONC", response="viability", groupby=["COSMIC_ID", "DRUG_ID"], model="LL.2")
    truth = plates.dropna(subset=["true_ln_ic50"]).groupby(["COSMIC_ID", "DRUG_ID"])["true_ln_ic50"].first()
    truth = truth.reset_index().astype({"DRUG_ID": int})
    m = fits.merge(truth, on=["COSMIC_ID", "DRUG_ID"])
    ok = m[m["converged"] & m["ic50_in_range"]]
    assert len(ok) >= 8 and (ok["ln_ic50"] - ok["true_ln_ic50"]).abs().median() < 0.3, ok
    published = pk.data.published_ic50(plates)
    assert list(published.columns) == ["COSMIC_ID", "DRUG_ID", "ln_ic50"] and len(published) == 16
    assert 0 < (published["ln_ic50"] - truth["true_ln_ic50"]).abs().mean() < 1  # noisy, not unrelated
    with pytest.raises(KeyError, match="published_ln_ic50"):
        pk.data.published_ic50(plates.drop(columns="published_ln_ic50"))
    pd.testing.assert_frame_equal(plates, pk.data.simulate_viability_plates(n_cell_lines=8, n_drugs=2, seed=0))
    with pytest.raises(ValueError, match="dilution"):
        pk.data.simulate_viability_plates(dilution=1.0)
    with pytest.raises(ValueError, match=">= 1"):
        pk.data.simulate_viability_plates(n_drugs=0)
