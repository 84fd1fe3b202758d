"""Readouts beyond RNA: differential accessibility, motif deviations, peak-gene links, methylation.

Planted truth from pk.data.simulate_multiome_screen and pk.data.simulate_methylation_screen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from anndata import AnnData
from sklearn.metrics import roc_auc_score

import perturbkit as pk


@pytest.fixture(scope="module")
def multiome() -> AnnData:
    return pk.data.simulate_multiome_screen(n_cells=1000, n_peaks=400, n_genes=40, seed=3)


@pytest.fixture(scope="module")
def da(multiome: AnnData) -> pd.DataFrame:
    return pk.tl.differential_accessibility(multiome)


@pytest.fixture(scope="module")
def methylation() -> AnnData:
    return pk.data.simulate_methylation_screen(n_cells=400, n_regions=200, n_dmr=20, n_promoters=30, seed=3)


@pytest.fixture(scope="module")
def dm(methylation: AnnData) -> pd.DataFrame:
    return pk.tl.differential_methylation(methylation)


def _planted(table: pd.DataFrame, truth: pd.DataFrame, col: str) -> np.ndarray:
    return np.array([truth.loc[t, r] != 0 for t, r in zip(table["target"], table[col], strict=True)])


# --- simulators -------------------------------------------------------------------------------


def test_multiome_simulator_layout_and_determinism(multiome: AnnData) -> None:
    again = pk.data.simulate_multiome_screen(n_cells=1000, n_peaks=400, n_genes=40, seed=3)
    other = pk.data.simulate_multiome_screen(n_cells=1000, n_peaks=400, n_genes=40, seed=4)
    assert (multiome.X != again.X).nnz == 0 and (multiome.X != other.X).nnz > 0
    assert multiome.obsm["rna"].equals(again.obsm["rna"])
    assert set(multiome.X.data) == {1.0}
    assert list(multiome.varm["motifs"].columns) == [f"TF{k}" for k in range(1, 9)]
    truth = multiome.uns["truth"]
    assert len(truth["links"]) == 40 * 2
    assert (truth["peak_effects"].loc["KIN1"] == 0).all()
    # only bound peaks close, and the KIN1 cells have ~0.6x the fragments
    assert ((truth["peak_effects"].loc["TF1"] < 0) == truth["bound"].loc["TF1"]).all()
    depth = multiome.obs.groupby("perturbation", observed=True)["total_fragments"].mean()
    assert 0.5 < depth["KIN1"] / depth["control"] < 0.7
    with pytest.raises(ValueError, match="n_peaks"):
        pk.data.simulate_multiome_screen(n_peaks=100, n_genes=50)


def test_methylation_simulator(methylation: AnnData) -> None:
    m, t = methylation.layers["methylated"], methylation.layers["total"]
    assert (m <= t).all() and (t >= 0).all()
    again = pk.data.simulate_methylation_screen(n_cells=400, n_regions=200, n_dmr=20, n_promoters=30, seed=3)
    assert np.array_equal(again.layers["total"], t) and np.array_equal(again.layers["methylated"], m)
    shifts = methylation.uns["truth"]["shifts"]
    assert ((shifts != 0).sum(axis=1) == 20).all() and not ((shifts != 0).sum(axis=0) > 1).any()
    # the gained segment has ~1.5x the CpG calls, and the same methylation
    gain = methylation.obs["clone"] == "gain"
    seg1 = (methylation.var["segment"] == "seg1").to_numpy()
    ratio = t[gain.to_numpy()][:, seg1].mean() / t[~gain.to_numpy()][:, seg1].mean()
    assert 1.35 < ratio < 1.65
    with pytest.raises(ValueError, match="rho"):
        pk.data.simulate_methylation_screen(rho=1.0)


# --- differential accessibility ---------------------------------------------------------------


def test_da_recovers_planted_peaks(multiome: AnnData, da: pd.DataFrame) -> None:
    assert list(da.columns) == ["target", "peak", "n_target", "n_control", "frac_target", "frac_control",
                                "log_odds", "pvalue", "padj", "pvalue_naive", "padj_naive"]
    assert len(da) == 4 * multiome.n_vars
    planted = _planted(da, multiome.uns["truth"]["peak_effects"], "peak")
    hit = da["padj"].to_numpy() < 0.05
    assert planted[hit].mean() > 0.85 and hit[planted].mean() > 0.75
    assert (da.loc[hit & planted, "log_odds"] < 0).all()


def test_depth_confounds_the_naive_test_not_the_glm(da: pd.DataFrame) -> None:
    kin = da[da["target"] == "KIN1"]  # fewer fragments, no planted change at all
    assert (kin["pvalue"] < 0.05).mean() < 0.09
    assert (kin["pvalue_naive"] < 0.05).mean() > 0.25
    assert (kin["frac_target"] < kin["frac_control"]).mean() > 0.9


def test_glm_matches_statsmodels(multiome: AnnData, da: pd.DataFrame) -> None:
    cells = multiome.obs["perturbation"].isin(["control", "TF2"]).to_numpy()
    logd = np.log(multiome.obs["total_fragments"].to_numpy()[cells])
    design = np.column_stack([np.ones(cells.sum()), logd - logd.mean(),
                              (multiome.obs["perturbation"].to_numpy()[cells] == "TF2").astype(float)])
    for peak in ["peak0", "peak7"]:
        y = (multiome[cells, peak].X.toarray().ravel() > 0).astype(float)
        fit = sm.Logit(y, design).fit(disp=0)
        null = sm.Logit(y, design[:, :2]).fit(disp=0)
        row = da[(da["target"] == "TF2") & (da["peak"] == peak)].iloc[0]
        assert row["log_odds"] == pytest.approx(fit.params[2], abs=1e-4)
        from scipy import stats

        assert row["pvalue"] == pytest.approx(stats.chi2.sf(2 * (fit.llf - null.llf), 1), rel=1e-3)


def test_da_errors(multiome: AnnData) -> None:
    with pytest.raises(KeyError, match="depth"):
        pk.tl.differential_accessibility(multiome, depth_key="depth")
    with pytest.raises(ValueError, match="control"):
        pk.tl.differential_accessibility(multiome, control="NT")
    bad = multiome[:200].copy()
    bad.X = bad.X.toarray()
    bad.X[0, 0] = -1
    with pytest.raises(ValueError, match="negative"):
        pk.tl.differential_accessibility(bad)
    zero = multiome[:200].copy()
    zero.obs["total_fragments"] = 0
    with pytest.raises(ValueError, match="> 0"):
        pk.tl.differential_accessibility(zero)


# --- motif deviations -------------------------------------------------------------------------


def test_motif_deviation_finds_the_knocked_out_tf(multiome: AnnData) -> None:
    dev = pk.tl.motif_deviation(multiome, n_background=30, seed=0)
    assert "motif_z" not in multiome.obsm
    top = dev.loc[dev.groupby("target")["deviation"].idxmin()].set_index("target")
    for tf in ["TF1", "TF2", "TF3"]:
        assert top.loc[tf, "motif"] == tf and top.loc[tf, "padj"] < 1e-10, top
    kin = dev[dev["target"] == "KIN1"]
    assert (kin["padj"] < 0.05).sum() == 0  # depth alone moves no motif
    assert (kin["padj_raw"] < 0.05).sum() >= 6 and (kin["raw_log2fc"] < -0.4).all()  # raw counts: all "down"
    copy = multiome.copy()
    again = pk.tl.motif_deviation(copy, n_background=30, key_added="motif_z", seed=0)
    pd.testing.assert_frame_equal(dev, again)
    cells = copy.obsm["motif_z"]
    assert cells.shape == (multiome.n_obs, 8) and list(cells.columns) == list(multiome.varm["motifs"].columns)
    # per cell: the TF1 knockouts sit well below the controls on the TF1 motif
    is_ko = multiome.uns["truth"]["knockout"] & (multiome.obs["perturbation"] == "TF1")
    assert cells.loc[is_ko, "TF1"].mean() < cells.loc[multiome.obs["perturbation"] == "control", "TF1"].mean() - 1
    with pytest.raises(KeyError, match="varm"):
        pk.tl.motif_deviation(multiome, motifs="jaspar")


# --- peak-gene links --------------------------------------------------------------------------


def test_links_recover_planted_pairs(multiome: AnnData) -> None:
    links = pk.tl.peak_gene_links(multiome)
    planted = set(map(tuple, multiome.uns["truth"]["links"][["peak", "gene"]].to_numpy()))
    true = np.array([(p, g) in planted for p, g in zip(links["peak"], links["gene"], strict=True)])
    assert true.sum() == len(planted)  # every planted link is a candidate (within the window)
    assert roc_auc_score(true, links["r"]) > 0.95
    hit = links["padj"].to_numpy() < 0.05
    assert true[hit].mean() > 0.85 and hit[true].mean() > 0.6
    assert true[links["nearest"].to_numpy()].mean() < 0.5  # the nearest-peak baseline
    assert links.groupby("gene")["nearest"].sum().eq(1).all()
    with pytest.raises(KeyError, match="rna"):
        pk.tl.peak_gene_links(multiome, rna_key="gex")


# --- methylation ------------------------------------------------------------------------------


def test_methylation_calibration_and_recovery(methylation: AnnData, dm: pd.DataFrame) -> None:
    planted = _planted(dm, methylation.uns["truth"]["shifts"], "region")
    null = dm[~planted]
    assert (null["pvalue"] < 0.05).mean() < 0.08
    assert (null["pvalue_naive"] < 0.05).mean() > 0.12  # CpGs within a cell are not independent
    hit = dm["padj"].to_numpy() < 0.05
    assert planted[hit].mean() > 0.85 and hit[planted].mean() > 0.7
    dn = dm[(dm["target"] == "DNMT3A") & hit & planted]
    assert (dn["delta"] < 0).all() and (dm[(dm["target"] == "TET2") & hit & planted]["delta"] > 0).all()
    assert abs(dm["rho"].median() - 0.25) < 0.05


def test_methylation_without_overdispersion_both_tests_agree() -> None:
    me = pk.data.simulate_methylation_screen(n_cells=300, n_regions=60, n_dmr=5, n_promoters=10, rho=0.0, seed=1)
    res = pk.tl.differential_methylation(me)
    null = res[~_planted(res, me.uns["truth"]["shifts"], "region")]
    assert (null["pvalue"] < 0.05).mean() < 0.1 and (null["pvalue_naive"] < 0.05).mean() < 0.1


def test_methylation_errors(methylation: AnnData) -> None:
    small = methylation[:100, :20].copy()
    small.layers["methylated"] = small.layers["total"] + 1
    with pytest.raises(ValueError, match="more methylated than total"):
        pk.tl.differential_methylation(small)
    small = methylation[:100, :20].copy()
    small.layers["total"][0, 0] = -2
    with pytest.raises(ValueError, match="negative"):
        pk.tl.differential_methylation(small)
    with pytest.raises(KeyError, match="coverage"):
        pk.tl.differential_methylation(methylation, total="coverage")
    with pytest.raises(KeyError, match="guide_target"):
        pk.tl.differential_methylation(methylation, groupby="guide_target")
    nc = methylation[methylation.obs["perturbation"] != "control"].copy()
    with pytest.raises(ValueError, match="control"):
        pk.tl.differential_methylation(nc)
    again = pk.tl.differential_methylation(methylation[:, :20], targets=["DNMT3A"])
    first = pk.tl.differential_methylation(methylation[:, :20], targets=["DNMT3A"])
    pd.testing.assert_frame_equal(again, first)
