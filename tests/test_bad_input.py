"""Issue #12: each input that used to give a silent wrong number now fails clearly (or warns).

Every test names the input and what it used to give on main before the fix.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk


@pytest.fixture(scope="module")
def dose_pb():
    sim = pk.data.simulate_dose_response(n_genes=20, n_response_genes=5, n_cells=40, effect_size=2.0,
                                         resistant_fraction=0.0, doses=(0, 0.1, 1, 10, 100), seed=0)
    pb = pk.get.pseudobulk(sim, sample_key="well", cell_type_key="cell_type")
    sc.pp.normalize_total(pb, target_sum=1e4)
    sc.pp.log1p(pb)
    return pb[pb.obs["cell_type"] == "type1"].copy()


# --- dose-response -----------------------------------------------------------------------------


def test_dose_response_nan_in_x(dose_pb) -> None:
    bad = dose_pb.copy()
    bad.X[3, 2] = np.nan  # used to give converged=True with a BMD
    with pytest.raises(ValueError, match=r"adata.X has 1 NaN or infinite value\(s\), first at \(row, column\) \(3, 2\)"):
        pk.tl.dose_response(bad)


def test_dose_response_infinite_dose(dose_pb) -> None:
    bad = dose_pb.copy()
    top = bad.obs["dose"].astype(float).idxmax()
    bad.obs["dose"] = bad.obs["dose"].astype(float)
    bad.obs.loc[top, "dose"] = np.inf  # used to run and move the ED50s
    with pytest.raises(ValueError, match=r"adata.obs\['dose'\] \(doses\) has 1 NaN or infinite"):
        pk.tl.dose_response(bad)
    with pytest.raises(ValueError, match="doses"):
        pk.get.dose_curves(bad)


def test_dose_response_single_dose_level(dose_pb) -> None:
    bad = dose_pb.copy()
    treated = bad.obs["perturbation"].astype(str) != "control"
    bad.obs["dose"] = np.where(treated, 10.0, 0.0)  # used to return an all-NaN table silently
    with pytest.raises(ValueError, match=r"LL.4 estimates 4 parameters but perturbation\(s\) \['drugA'\] .*fewer "
                                         r"distinct doses"):
        pk.tl.dose_response(bad)


@pytest.mark.parametrize(("kw", "match"), [({"level": 95}, "level must be a probability in \\(0, 1\\), got 95; for "
                                                           "a percentage pass 0.95"),
                                           ({"fdr": 25}, "fdr must be a probability")])
def test_dose_response_percentages_are_refused(dose_pb, kw, match) -> None:
    with pytest.raises(ValueError, match=match):  # used to give NaN intervals / every gene a hit
        pk.tl.dose_response(dose_pb, **kw)


def test_fit_curve_level_95() -> None:
    dose = np.repeat([0.1, 1, 10, 100], 3)
    fit = pk.dose.fit_curve(dose, 1 / (1 + dose / 5) + np.tile([0.01, -0.01, 0.0], 4), model="LL.2")
    assert fit.ed(50, level=0.95)["lower"].notna().all()
    with pytest.raises(ValueError, match="level must be a probability"):
        fit.ed(50, level=95)  # used to give NaN intervals


def _wells(values) -> pd.DataFrame:
    dose = np.tile([0.01, 0.1, 1.0, 10.0, 100.0], 2)
    return pd.DataFrame({"line": np.repeat(["a", "b"], 5), "dose": dose, "viability": values})


def test_fit_curves_table_ll2_on_non_proportions_says_so() -> None:
    raw = 5000 / (1 + np.tile([0.01, 0.1, 1.0, 10.0, 100.0], 2) / 2)  # raw intensities, not fractions
    with pytest.warns(UserWarning, match=r"LL.2 holds the limits at 0 and 1.*outside \[-0.5, 1.5\]"):
        pk.dose.fit_curves(_wells(raw), dose="dose", response="viability", groupby="line", model="LL.2")


def test_fit_curves_table_counts_only_the_wells_used() -> None:
    v = 1 / (1 + np.tile([0.01, 0.1, 1.0, 10.0, 100.0], 2) / 2)
    v[0] = np.nan
    with pytest.warns(UserWarning, match="1 row\\(s\\) with a missing or infinite"):
        out = pk.dose.fit_curves(_wells(v), dose="dose", response="viability", groupby="line", model="LL.2")
    assert out.set_index("line")["n_wells"].to_dict() == {"a": 4, "b": 5}  # used to say 5 and 5
    with pytest.raises(ValueError, match="level must be a probability"):
        pk.dose.fit_curves(_wells(v), dose="dose", response="viability", groupby="line", model="LL.2", level=95)


def test_partial_pooling_missing_group_label_and_small_groups() -> None:
    est, se = np.array([0.0, 1, 2, 3, 1, 2]), np.full(6, 0.2)
    with pytest.raises(ValueError, match="groups has 1 missing label"):
        pk.dose.partial_pooling(est, se, groups=["a", "a", "a", None, "b", "b"])
    with pytest.warns(UserWarning, match=r"group\(s\) 'b' \(2\) have fewer than 3"):
        out = pk.dose.partial_pooling(est, se, groups=["a"] * 4 + ["b"] * 2)
    assert out["pooled"].iloc[:4].notna().all() and out["pooled"].iloc[4:].isna().all()


def test_pseudobulk_keeps_numbers_and_missing_values() -> None:
    sim = pk.data.simulate_dose_response(n_genes=10, n_response_genes=2, n_cells=20, seed=0)
    sim.obs["batch_note"] = np.where(sim.obs["well"].astype(str).str.endswith("0"), None, "ok")
    pb = pk.get.pseudobulk(sim, sample_key="well", cell_type_key="cell_type")
    assert pb.obs["dose"].dtype.kind == "f"  # used to be the strings '0.0', '0.1', ...
    np.testing.assert_array_equal(np.sort(pb.obs["dose"].unique()), np.sort(sim.obs["dose"].astype(float).unique()))
    if "batch_note" in pb.obs:
        assert "nan" not in set(pb.obs["batch_note"].dropna()) and "None" not in set(pb.obs["batch_note"].dropna())


# --- screens -------------------------------------------------------------------------------------


def test_rra_fdr_threshold_25() -> None:
    sg = pd.DataFrame({"gene": np.repeat(list("abcd"), 3), "pvalue_low": np.linspace(0.001, 1, 12)})
    with pytest.raises(ValueError, match="fdr_threshold must be a probability in \\(0, 1\\), got 25; for a "
                                         "percentage pass 0.25"):
        pk.tl.rra(sg, score="pvalue_low", fdr_threshold=25)  # used to make every guide count as a hit


def test_synergy_scores_duplicated_replicate_rows() -> None:
    # used to average the two rows of a well entered twice under one replicate number
    blocks = pk.data.simulate_combination(seed=0)
    doubled = pd.concat([blocks, blocks[blocks["block_id"] == "sim_2"].head(1)], ignore_index=True)
    with pytest.raises(ValueError, match=r"block 'sim_2'.*replicate=1"):
        pk.tl.synergy_scores(doubled)


def test_no_warning_on_good_input(dose_pb) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        pk.tl.dose_response(dose_pb)
