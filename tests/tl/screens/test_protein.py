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
