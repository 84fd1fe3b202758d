from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def adt():
    a = pk.data.simulate_protein_screen(n_cells=1500, ko_fraction=[0.8, 0.6, 0.4], seed=0)
    pk.pp.clr(a)
    pk.pp.clr(a, axis="feature", key_added="clr_feature")
    return a


PROTEINS = {"T0": "T0", "T1": "T1", "T2": "T2", "LOWCAP": "P0"}


def test_protein_ko_fraction_recovers_planted(adt) -> None:
    res = pk.tl.protein_knockout(adt, PROTEINS)
    truth = adt.uns["truth"]["ko_fraction"]
    for t in ["T0", "T1", "T2"]:
        assert abs(res.loc[t, "ko_fraction_protein"] - truth[t]) < 0.08, res
        assert res.loc[t, "difference"] < 0 and res.loc[t, "padj"] < 1e-6
    # the low-capture target changes no protein: per-cell CLR sees nothing
    assert res.loc["LOWCAP", "ko_fraction_protein"] < 0.06, res


def test_feature_clr_keeps_the_depth_confounder(adt) -> None:
    """Seurat's default CLR (per protein) leaves the per-cell depth: LOWCAP looks like a knockout."""
    res = pk.tl.protein_knockout(adt, PROTEINS, layer="clr_feature")
    assert res.loc["LOWCAP", "ko_fraction_protein"] > 0.2 and res.loc["LOWCAP", "padj"] < 1e-6, res


def test_protein_knockout_bad_input(adt) -> None:
    with pytest.raises(KeyError, match="proteins not in adata.var_names: \\['PDL1'\\]"):
        pk.tl.protein_knockout(adt, {"T0": "PDL1"})
    with pytest.raises(ValueError, match="target 'T9' has no cells"):
        pk.tl.protein_knockout(adt, {"T9": "T0"})
    with pytest.raises(KeyError, match="run pk.pp.clr"):
        pk.tl.protein_knockout(adt, PROTEINS, layer="dsb")
    with pytest.raises(ValueError, match="quantile must be in"):
        pk.tl.protein_knockout(adt, PROTEINS, quantile=5)
    b = adt.copy()
    b.layers["clr"][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.protein_knockout(b, PROTEINS)


def test_tied_threshold_is_calibrated_and_warned() -> None:
    """Planted: a sparse protein, 30% of every group's cells at CLR 0 (zero counts). A target drawn
    like the controls must read ~quantile protein-negative (ties split so the controls give exactly
    `quantile`), not 0; a knockout hidden among the zeros is flagged as a lower bound."""
    import anndata as ad
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 4000

    def sparse_protein(k):
        return np.where(rng.random(k) < 0.3, 0.0, rng.uniform(0.5, 2.0, k))

    labels = np.repeat(["control", "ALIKE", "KO"], n)
    ko = np.where(rng.random(n) < 0.6, 0.0, sparse_protein(n))  # 60% knocked out, all at 0
    values = np.r_[sparse_protein(n), sparse_protein(n), ko]
    a = ad.AnnData(np.zeros((3 * n, 1)), obs=pd.DataFrame({"perturbation": labels}, index=[str(i) for i in range(3 * n)]))
    a.var_names = ["P"]
    a.layers["clr"] = values[:, None]
    with pytest.warns(UserWarning, match=r"tie for ALIKE \(P: 2[6-9]% of controls at 0\)"):
        res = pk.tl.protein_knockout(a, {"ALIKE": "P", "KO": "P"}, quantile=0.05)
    assert abs(res.loc["ALIKE", "protein_negative"] - 0.05) < 0.01, res  # was 0 with strict '<'
    assert res.loc["ALIKE", "ko_fraction_protein"] < 0.02
    # the knockout is seen only partly (lower bound), but seen: 0.05 * (0.6 + 0.4 * 0.3) / 0.3 = 0.12 negative
    assert res.loc["KO", "protein_negative"] == pytest.approx(0.12, abs=0.015)
    assert 0 < res.loc["KO", "ko_fraction_protein"] < 0.6
