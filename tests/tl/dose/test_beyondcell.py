"""Beyondcell: the BCS formula, switch point, therapeutic clusters and ranks on planted subclones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import perturbkit as pk
from perturbkit.tl._dose._beyondcell import _switch_point


@pytest.fixture(scope="module")
def tumour():
    sim = pk.data.simulate_tumour_subclones(n_cells=400, seed=0)
    cells = sim["cells"]
    cells.X = cells.X.clip(0)
    sig = pk.tl.drug_response_signatures(sim["ic50"], sim["expression"])
    pk.tl.beyondcell_scores(cells, sig)
    return cells, sig


def test_bcs_formula_by_hand():
    # two cells, up genes a, b and down gene c; the score of a mode is
    # mean * (sum - sd) / (mean + sd) with the sample SD (R's sd), down alone has sd NaN -> 0 in R
    x = np.array([[2.0, 4.0, 1.0], [1.0, 1.0, 3.0]])
    cells = AnnData(x, obs=pd.DataFrame(index=["c1", "c2"]), var=pd.DataFrame(index=["a", "b", "c"]))
    sig = pd.DataFrame({"source": "d", "target": ["a", "b", "c"], "weight": [1.0, 1.0, -1.0]})
    pk.tl.beyondcell_scores(cells, sig, expr_thres=0.0)

    def mode(v):
        v = np.asarray(v, dtype=float)
        sd = v.std(ddof=1) if len(v) > 1 else 0.0
        return v.mean() * (v.sum() - sd) / (v.mean() + sd)

    expected = [mode([2, 4]) - mode([1]), mode([1, 1]) - mode([3])]
    np.testing.assert_allclose(cells.obsm["beyondcell"]["d"], expected)
    np.testing.assert_allclose(cells.obsm["beyondcell_scaled"]["d"], [1.0, 0.0])
    # treated-vs-control signatures flip the sign
    flipped = pk.tl.beyondcell_scores(cells, sig, expr_thres=0.0, comparison="treated_vs_control", copy=True)
    np.testing.assert_allclose(flipped.obsm["beyondcell"]["d"], -np.array(expected))


def test_switch_point_definition():
    norm = np.array([-3.0, -1.0, 2.0, 5.0])
    scaled = (norm - norm.min()) / (norm.max() - norm.min())
    assert _switch_point(norm, scaled) == pytest.approx((scaled[1] + scaled[2]) / 2)
    assert _switch_point(np.array([1.0, 2.0]), np.array([0.0, 1.0])) == 0.0  # all sensitive
    assert _switch_point(np.array([-1.0, -2.0]), np.array([1.0, 0.0])) == 1.0  # none sensitive
    assert np.isnan(_switch_point(np.array([np.nan]), np.array([np.nan])))


def test_coverage_threshold_gives_nan():
    x = np.array([[0.0, 0.0, 0.0, 1.0], [1.0, 2.0, 1.0, 1.0]])
    cells = AnnData(x, obs=pd.DataFrame(index=["sparse", "dense"]), var=pd.DataFrame(index=list("abcd")))
    sig = pd.DataFrame({"source": "d", "target": list("abcd"), "weight": [1.0, 1.0, -1.0, -1.0]})
    pk.tl.beyondcell_scores(cells, sig, expr_thres=0.5)  # the sparse cell expresses 1 of 4 genes
    bcs = cells.obsm["beyondcell"]["d"]
    assert np.isnan(bcs["sparse"]) and np.isfinite(bcs["dense"])
    # a cell expressing none of the genes has no score even with no threshold (as bcScore)
    empty = AnnData(np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 1.0, 1.0]]),
                    obs=pd.DataFrame(index=["empty", "dense"]), var=pd.DataFrame(index=list("abcd")))
    pk.tl.beyondcell_scores(empty, sig, expr_thres=0.0)
    assert np.isnan(empty.obsm["beyondcell"].loc["empty", "d"])


def test_planted_subclone_and_drug(tumour):
    cells, _ = tumour
    bcs = cells.obsm["beyondcell"]
    b, a = (cells.obs["clone"] == "B").to_numpy(), (cells.obs["clone"] == "A").to_numpy()
    # planted: B sensitive to drug1 and resistant to drug0; A the reverse
    assert bcs.loc[b, "drug1"].mean() > bcs.loc[a, "drug1"].mean()
    assert bcs.loc[b, "drug0"].mean() < bcs.loc[a, "drug0"].mean()
    sp = cells.uns["beyondcell"]["switch_point"]
    assert set(sp) == {"drug0", "drug1", "drug2", "drug3"} and all(0 <= v <= 1 for v in sp.values())
    pk.tl.beyondcell_clusters(cells, seed=0)
    tc = pd.crosstab(cells.obs["therapeutic_cluster"], cells.obs["clone"])
    b_cluster = tc["B"].idxmax()
    assert tc.loc[b_cluster, "B"] / tc["B"].sum() > 0.9  # the subclone is one therapeutic cluster
    assert tc.loc[b_cluster, "B"] / tc.loc[b_cluster].sum() > 0.9  # and that cluster is the subclone
    ranks = pk.tl.beyondcell_ranks(cells, cluster_key="therapeutic_cluster")
    top = ranks[(ranks["cluster"] == str(b_cluster)) & (ranks["rank"] == 1)]
    assert top["drug"].item() == "drug1" and top["residuals_mean"].item() > 0
    assert cells.obsm["X_beyondcell_umap"].shape == (cells.n_obs, 2)


def test_ranks_table_and_seed(tumour):
    cells, sig = tumour
    overall = pk.tl.beyondcell_ranks(cells)
    assert list(overall["rank"]) == [1, 2, 3, 4] and (overall["cluster"] == "all").all()
    assert overall["switch_point"].is_monotonic_increasing
    by_clone = pk.tl.beyondcell_ranks(cells, cluster_key="clone")
    assert len(by_clone) == 8 and by_clone.groupby("cluster")["n_cells"].first().sum() == cells.n_obs
    # residuals' means weighted by cluster size cancel out
    w = by_clone.pivot(index="cluster", columns="drug", values="residuals_mean")
    n = by_clone.groupby("cluster")["n_cells"].first()
    np.testing.assert_allclose((w.mul(n, axis=0)).sum() / n.sum(), 0, atol=1e-8)
    again = pk.tl.beyondcell_clusters(cells, seed=0, copy=True)
    pk.tl.beyondcell_clusters(cells, seed=0)
    assert (again.obs["therapeutic_cluster"] == cells.obs["therapeutic_cluster"]).all()


def test_bad_input(tumour):
    cells, sig = tumour
    neg = cells.copy()
    neg.X = neg.X - 10
    with pytest.raises(ValueError, match="negative values"):
        pk.tl.beyondcell_scores(neg, sig)
    with pytest.raises(ValueError, match="expr_thres"):
        pk.tl.beyondcell_scores(cells, sig, expr_thres=10)
    with pytest.raises(ValueError, match="no signature gene"):
        pk.tl.beyondcell_scores(cells, sig.assign(target="nope"))
    bare = AnnData(cells.X.copy())
    with pytest.raises(KeyError, match="beyondcell_scores"):
        pk.tl.beyondcell_clusters(bare)
    with pytest.raises(KeyError, match="beyondcell_scores"):
        pk.tl.beyondcell_ranks(bare)
    with pytest.raises(KeyError, match="nope"):
        pk.tl.beyondcell_ranks(cells, cluster_key="nope")
    with pytest.raises(ValueError, match="sp_cutoff"):
        pk.tl.beyondcell_ranks(cells, sp_cutoff=(0.9, 0.1, 0.4, 0.6))
    before = cells.obsm["beyondcell"].copy()
    pk.tl.beyondcell_scores(cells, sig, copy=True, key_added="other")
    assert "other" not in cells.obsm
    pd.testing.assert_frame_equal(cells.obsm["beyondcell"], before)
