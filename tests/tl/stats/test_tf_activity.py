from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk


def _planted_net(adata):
    """A regulon activating the planted up-genes of type0, one repressing its down-genes, and
    a decoy regulating untouched genes."""
    truth = adata.uns["truth"]
    lfc = truth["log_fc"]["type0"]
    up = lfc.index[lfc > 0].tolist()
    down = lfc.index[lfc < 0].tolist()
    quiet = lfc.index[lfc == 0].tolist()[:8]
    return pd.concat([
        pd.DataFrame({"source": "UP_TF", "target": up + down, "weight": [1.0] * len(up) + [-1.0] * len(down)}),
        pd.DataFrame({"source": "DECOY", "target": quiet, "weight": 1.0}),
    ])


@pytest.fixture
def norm():
    a = pk.data.simulate_perturbation(n_cell_types=2, response=[1.0, 0.0], n_cells=30, n_genes=80,
                                      n_de=12, seed=5)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def test_cell_scores(norm):
    net = _planted_net(norm)
    pk.tl.tf_activity(norm, net, tmin=3)
    scores = norm.obsm["tf_activity"]
    assert isinstance(scores, pd.DataFrame) and scores.shape == (norm.n_obs, 2)
    assert norm.uns["tf_activity"]["params"]["method"] == "ulm"
    t0 = (norm.obs["cell_type"] == "type0").to_numpy()
    stim = (norm.obs["perturbation"] == "stimulated").to_numpy()
    diff = scores[t0 & stim].mean() - scores[t0 & ~stim].mean()
    assert diff["UP_TF"] > 2
    assert abs(diff["DECOY"]) < 1
    # the null cell type: no change
    t1 = ~t0
    assert abs(scores[t1 & stim]["UP_TF"].mean() - scores[t1 & ~stim]["UP_TF"].mean()) < 1


def test_copy_and_determinism(norm):
    net = _planted_net(norm)
    out = pk.tl.tf_activity(norm, net, tmin=3, copy=True, key_added="x")
    assert "x" not in norm.obsm and "x" in out.obsm
    again = pk.tl.tf_activity(norm, net, tmin=3, copy=True, key_added="x")
    assert np.allclose(out.obsm["x"].to_numpy(), again.obsm["x"].to_numpy())


def test_contrast(norm):
    raw = pk.data.simulate_perturbation(n_cell_types=2, response=[1.0, 0.0], n_cells=30, n_genes=80,
                                        n_de=12, seed=5)
    de = pk.tl.pseudobulk_de(raw)
    res = pk.tl.tf_activity_contrast(de, _planted_net(raw), tmin=3)
    assert list(res.columns) == ["cell_type", "source", "score", "pvalue", "padj"]
    r = res.set_index(["cell_type", "source"])
    assert r.loc[("type0", "UP_TF"), "score"] > 3 and r.loc[("type0", "UP_TF"), "padj"] < 0.05
    assert r.loc[("type1", "UP_TF"), "padj"] > 0.05
    assert r.loc[("type0", "DECOY"), "padj"] > 0.05


def test_bad_input(norm):
    net = _planted_net(norm)
    with pytest.raises(KeyError, match="source"):
        pk.tl.tf_activity(norm, net.rename(columns={"source": "tf"}))
    with pytest.raises(ValueError, match="tmin"):
        pk.tl.tf_activity(norm, net.assign(target="NOT_A_GENE"), tmin=3)
    bad = norm.copy()
    bad.X = bad.X.toarray() if hasattr(bad.X, "toarray") else bad.X
    bad.X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.tf_activity(bad, net, tmin=3)
    with pytest.raises(KeyError, match="stat"):
        pk.tl.tf_activity_contrast(pd.DataFrame({"gene": ["a"], "cell_type": ["x"]}), net)
