from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk

SPIKES = {m: f"spike_in_{m}" for m in ("H3K27ac", "H3K27me3")}


@pytest.fixture(scope="module")
def ct():
    return pk.data.simulate_cuttag_screen(n_cells=800, seed=0)


def _merge(res, ct):
    truth = ct.uns["truth"]["domain_effects"].rename(columns={"log2_fold": "planted"})
    return res.merge(truth, on=["target", "mark", "domain"], how="left")


def test_planted_domains_with_opposite_signs(ct) -> None:
    m = _merge(pk.tl.differential_domains(ct, spike_in=SPIKES), ct)
    planted = m["planted"].notna()
    hit = (m["padj"] < 0.05) & (np.sign(m["log2_fold"]) == np.sign(m["planted"]))
    assert hit[planted].mean() > 0.9
    med = m[planted].groupby(["target", "mark"])["log2_fold"].median()
    # EZH2: the repressive mark lost, the activating one gained, both about one log2 unit
    assert med[("EZH2", "H3K27me3")] < -0.8 and med[("EZH2", "H3K27ac")] > 0.8
    assert med[("TF1", "H3K27ac")] < -0.8
    null = m.loc[~planted, "pvalue"]
    assert (null < 0.05).mean() < 0.07  # calibrated with spike-in depth, incl. the low-depth target
    assert (m.loc[~planted & (m["target"] == "SMALL"), "pvalue"] < 0.05).mean() < 0.08


def test_total_fragment_depth_is_compositional(ct) -> None:
    m = _merge(pk.tl.differential_domains(ct), ct)
    ezh2_null = m[(m["target"] == "EZH2") & m["planted"].isna() & (m["mark"] == "H3K27me3")]
    assert (ezh2_null["pvalue"] < 0.05).mean() > 0.3 and (ezh2_null["log2_fold"] > 0).mean() > 0.9


def test_single_bins_lack_power(ct) -> None:
    """The same counts tested bin by bin (peak-style) find none of the planted domains."""
    b = ct.copy()
    b.var["bin_domain"] = np.where(b.var["domain"] == "background", "background", b.var_names)
    res = pk.tl.differential_domains(b, domain_key="bin_domain", spike_in=SPIKES)
    assert (res["padj"] < 0.05).sum() <= 2


def test_differential_domains_bad_input(ct) -> None:
    with pytest.raises(KeyError, match="adata.var has no 'peak'"):
        pk.tl.differential_domains(ct, domain_key="peak")
    with pytest.raises(KeyError, match="no obs column for mark 'H3K27me3'"):
        pk.tl.differential_domains(ct, spike_in={"H3K27ac": "spike_in_H3K27ac"})
    b = ct.copy()
    b.var.loc[b.var_names[b.var["mark"] == "H3K27me3"][-1], "domain"] = "H3K27ac_d0"
    with pytest.raises(ValueError, match="domains spanning two marks: \\['H3K27ac_d0'\\]"):
        pk.tl.differential_domains(b)
    with pytest.raises(ValueError, match="control label"):
        pk.tl.differential_domains(ct, control="NT")


def test_empty_side_is_nan_not_a_number(ct) -> None:
    """A domain with no fragment in the target's cells has no finite Wald estimate: NaN, said so."""
    b = ct.copy()
    t_cells = (b.obs["perturbation"] == "EZH2").to_numpy()
    dom = b.var["domain"].to_numpy() == "H3K27me3_d0"
    x = b.X.toarray() if hasattr(b.X, "toarray") else np.array(b.X)
    x[np.ix_(t_cells, dom)] = 0  # planted: the mark wiped from this domain in EZH2 cells
    b.X = x
    res = pk.tl.differential_domains(b, spike_in=SPIKES).set_index(["target", "domain"])
    row = res.loc[("EZH2", "H3K27me3_d0")]
    assert row["rate_target"] == 0 and row["rate_control"] > 0
    assert np.isnan(row["log2_fold"]) and np.isnan(row["pvalue"]) and np.isnan(row["padj"])
    finite = res.drop(index=("EZH2", "H3K27me3_d0"))
    assert finite["pvalue"].notna().all()  # nothing else became NaN
