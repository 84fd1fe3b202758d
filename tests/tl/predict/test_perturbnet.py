import numpy as np
import pandas as pd
import pytest
import scanpy as sc

import perturbkit as pk


def _library(seed=0):
    lib = pk.data.simulate_perturbation_library(n_perturbations=16, n_features=4, n_genes=40, n_cells=60,
                                                n_control=300, effect_size=1.5, nonlinearity=0.0, seed=seed)
    sc.pp.normalize_total(lib, target_sum=1e4)
    sc.pp.log1p(lib)
    feats = lib.uns["features"]
    return lib, feats.assign(annotated=1.0)[["annotated", *feats.columns]]


@pytest.fixture(scope="module")
def bench():
    lib, feats = _library()
    return pk.tl.perturbnet_benchmark(lib, feats, n_folds=4, folds=[0], n_epochs=60, flow_epochs=150,
                                      latent_dim=6, n_components=4, n_pcs=10, seed=0)


def _pooled(res):
    g = res.groupby("method")
    return 1 - g["sse"].sum() / g["obs_ss"].sum()


def test_target_features_propagates_go_and_signs_regulons():
    ont = {"terms": pd.DataFrame({"parent": ["GO:root", "GO:root", "GO:a"], "child": ["GO:a", "GO:b", "GO:a1"]}),
           "genes": pd.DataFrame({"term": ["GO:a1", "GO:b"], "gene": ["JAK2", "CD86"]})}
    net = pd.DataFrame({"source": ["STAT1", "STAT1", "STAT1"], "target": ["IRF1", "MYC", "NOTMEASURED"],
                        "weight": [1.0, -1.0, 1.0]})
    f = pk.tl.target_features(["JAK2", "CD86", "STAT1", "ORPHAN"], ontology=ont, regulons=net,
                              genes=["IRF1", "MYC"])
    assert f.loc["JAK2", ["go:GO:a1", "go:GO:a", "go:GO:root"]].tolist() == [1.0, 1.0, 1.0]
    assert f.loc["JAK2", "go:GO:b"] == 0.0 and f.loc["CD86", "go:GO:b"] == 1.0
    assert f.loc["STAT1", ["regulon:IRF1", "regulon:MYC"]].tolist() == [1.0, -1.0]
    assert "regulon:NOTMEASURED" not in f.columns
    assert f["annotated"].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert (f.loc["ORPHAN"] == 0).all()
    assert f.columns[0] == "annotated"


def test_target_features_bad_input():
    with pytest.raises(ValueError, match="duplicates"):
        pk.tl.target_features(["A", "A"])
    with pytest.raises(KeyError, match="ontology"):
        pk.tl.target_features(["A"], ontology={"terms": pd.DataFrame()})
    with pytest.raises(KeyError, match="'source'"):
        pk.tl.target_features(["A"], regulons=pd.DataFrame({"tf": ["A"]}))


def test_layout(bench):
    assert set(bench["method"]) == {"control_mean", "mean_of_seen", "nearest_target", "perturbnet"}
    assert bench["perturbation"].nunique() == 4  # one fold of four
    cm = bench[bench["method"] == "control_mean"]
    np.testing.assert_allclose(cm["shift_explained"], 0.0)
    assert np.isfinite(bench["edistance"]).all()


def test_planted_unseen_perturbations_recovered_better_than_baselines(bench):
    # the features determine each perturbation's shift: a map from features to cell states
    # must beat knowing nothing (control) and the average of the seen perturbations
    pooled = _pooled(bench)
    ed = bench.groupby("method")["edistance"].mean()
    assert pooled["perturbnet"] > pooled["mean_of_seen"] + 0.3, pooled
    assert pooled["perturbnet"] > pooled["control_mean"] + 0.5, pooled
    # a smooth map beats copying the response of the single most similar seen perturbation
    assert pooled["perturbnet"] > pooled["nearest_target"], pooled
    assert ed["perturbnet"] < ed.drop("perturbnet").min(), ed


def test_same_seed_same_numbers():
    lib, feats = _library(1)
    kw = dict(n_folds=4, folds=[0], n_epochs=3, flow_epochs=3, seed=5)
    a = pk.tl.perturbnet_benchmark(lib, feats, **kw)
    b = pk.tl.perturbnet_benchmark(lib, feats, **kw)
    pd.testing.assert_frame_equal(a, b)


def test_bad_input():
    lib, feats = _library()
    with pytest.raises(ValueError, match="annotated"):
        pk.tl.perturbnet_benchmark(lib, lib.uns["features"])
    with pytest.raises(KeyError, match="p00"):
        pk.tl.perturbnet_benchmark(lib, feats.drop(index="p00"))
    with pytest.raises(ValueError, match="n_folds"):
        pk.tl.perturbnet_benchmark(lib, feats, n_folds=1)
    with pytest.raises(ValueError, match="unknown methods"):
        pk.tl.perturbnet_benchmark(lib, feats, methods=["scgen"])


def test_target_features_on_the_mirrored_screen_and_ontology():
    # the count: the DrugCell ontology annotates 13 of the Papalexi screen's 26 targets
    screen = pk.data.load("papalexi2021_eccite_sceptredata", assign=False)
    targets = sorted(set(screen.uns["guides"]["target"]) - {"non-targeting"})
    f = pk.tl.target_features(targets, ontology=pk.data.load("ontology_drugcell"))
    assert len(targets) == 26 and int(f["annotated"].sum()) == 13
    assert f.loc["IFNGR2", "annotated"] == 0 and f.loc["JAK2", "annotated"] == 1
    go = f.filter(like="go:")

    def jaccard(a, b):
        return float((go.loc[a] * go.loc[b]).sum() / ((go.loc[a] + go.loc[b]) > 0).sum())

    # the interferon-gamma receptor and its kinase share more terms than the receptor and MYC
    assert jaccard("IFNGR1", "JAK2") > 2 * jaccard("IFNGR1", "MYC")
