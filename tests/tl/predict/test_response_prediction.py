from __future__ import annotations

import numpy as np
import pytest
import scanpy as sc

import perturbkit as pk

HP = {"n_epochs": 100, "batch_size": 64, "hidden": 64}


@pytest.fixture(scope="module")
def shifted():
    """A shared planted response (15 genes) plus 5 type-specific genes per cell type."""
    a = pk.data.simulate_perturbation(n_cells=40, n_genes=60, n_de=5, n_shared=15, n_cell_types=4,
                                      response=[1.0, 1.0, 1.0, 1.0], seed=0)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


@pytest.fixture(scope="module")
def bench(shifted):
    return pk.tl.response_benchmark(shifted, holdout="type1", seeds=[0], progress=False, n_top=20, **HP)


def test_every_predictor_beats_control_mean(bench):
    r = bench.set_index("method")
    assert set(r.index) == {"noise_ceiling", *pk.tl._predict._response_prediction.METHODS}
    base = r.loc["control_mean"]
    assert base["pearson_delta"] == 0.0
    # cycleCDR is checked on its own below: its perturbed-domain decoder never saw the held-out
    # type, and on these strongly distinct simulated types it moves those cells off target
    for m in [m for m in pk.tl._predict._response_prediction.METHODS[1:] if m != "cyclecdr"]:
        assert r.loc[m, "pearson_delta"] > 0.5, m
        assert r.loc[m, "r2_top100"] > base["r2_top100"], m
        assert r.loc[m, "edistance"] < base["edistance"], m


def test_noise_ceiling_above_every_predictor(bench):
    r = bench.set_index("method")
    preds = r.drop(index="noise_ceiling")
    assert (r.loc["noise_ceiling", "r2_top100"] > preds["r2_top100"]).all()
    assert (r.loc["noise_ceiling", "pearson_delta"] > preds["pearson_delta"]).all()


@pytest.mark.parametrize("method", ["scgen", "cvae", "cpa", "cyclecdr", "ot", "linear"])
def test_deterministic(shifted, method):
    kw = {"n_epochs": 3, "hidden": 16}
    a = pk.tl.predict_response(shifted, holdout="type2", method=method, seed=1, progress=False, **kw)
    b = pk.tl.predict_response(shifted, holdout="type2", method=method, seed=1, progress=False, **kw)
    assert np.array_equal(a.X, b.X)
    assert a.shape == (120, 60) and a.uns["prediction"]["method"] == method
    assert (a.obs["perturbation"] == "stimulated").all()


def test_does_not_modify(shifted):
    before = shifted.copy()
    pk.tl.predict_response(shifted, holdout="type0", method="mean_shift")
    assert np.array_equal(shifted.X.toarray(), before.X.toarray())
    assert list(shifted.obs.columns) == list(before.obs.columns)


def test_bad_input(shifted):
    with pytest.raises(ValueError, match="holdout 'type9'"):
        pk.tl.predict_response(shifted, holdout="type9", method="mean_shift")
    with pytest.raises(ValueError, match="unknown method"):
        pk.tl.predict_response(shifted, holdout="type0", method="gears")
    with pytest.raises(TypeError, match="hyper-parameters"):
        pk.tl.predict_response(shifted, holdout="type0", method="scgen", n_layers=3)
    with pytest.raises(ValueError, match="control label"):
        pk.tl.predict_response(shifted, holdout="type0", control="ctrl")
    missing = shifted[~((shifted.obs["cell_type"] == "type0") & (shifted.obs["perturbation"] == "stimulated"))].copy()
    with pytest.raises(ValueError, match="type0"):
        pk.tl.response_benchmark(missing, holdout="type1", methods=["mean_shift"], seeds=[0])
    nan = shifted.copy()
    nan.X = nan.X.toarray()
    nan.X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.predict_response(nan, holdout="type0", method="mean_shift")


# --- latent arithmetic in a given embedding (pk.tl.embedding_shift) ------------------------


@pytest.fixture(scope="module")
def embedded(shifted):
    """PCA fitted on the training cells of hold-out "type1" only, projected onto all cells."""
    a = shifted.copy()
    train = ~((a.obs["cell_type"] == "type1") & (a.obs["perturbation"] == "stimulated")).to_numpy()
    x = a.X.toarray()
    mean = x[train].mean(0)
    _, _, vt = np.linalg.svd(x[train] - mean, full_matrices=False)
    a.obsm["X_pca_train"] = (x - mean) @ vt[:10].T
    a.obsm["noise"] = np.random.default_rng(0).normal(size=(a.n_obs, 10))
    return a


def test_embedding_shift_recovers_planted_shift(embedded):
    pred = pk.tl.embedding_shift(embedded, holdout="type1", obsm_key="X_pca_train")
    ctrl = embedded[(embedded.obs["cell_type"] == "type1") & (embedded.obs["perturbation"] == "control")]
    assert pred.shape == (ctrl.n_obs, embedded.n_vars) and pred.X.dtype == np.float32
    assert list(pred.obs_names) == list(ctrl.obs_names)
    assert pred.uns["prediction"]["method"] == "embedding_shift"
    change = pred.X.mean(0) - ctrl.X.toarray().mean(0)
    truth = embedded.uns["truth"]["log_fc"]["type1"].to_numpy()
    # the 15 shared genes are transferable; type1's own 5 DE genes cannot be known from other types
    assert np.corrcoef(change, truth)[0, 1] > 0.75
    shared = embedded.var_names.isin(embedded.uns["truth"]["shared_genes"])
    # planted shared response of +-1.5 (natural log): recovered in sign and roughly in size
    assert np.all(np.sign(change[shared]) == np.sign(truth[shared]))
    assert 0.5 < np.abs(change[shared]).mean() < 2.0


def test_embedding_shift_in_benchmark_beats_control_mean(embedded):
    r = pk.tl.response_benchmark(embedded, holdout="type1", methods=["control_mean", "mean_shift"], seeds=[0],
                                 n_top=20, embeddings={"pca_shift": "X_pca_train", "noise_shift": "noise"},
                                 progress=False).set_index("method")
    assert set(r.index) == {"noise_ceiling", "control_mean", "mean_shift", "pca_shift", "noise_shift"}
    assert r.loc["pca_shift", "pearson_delta"] > 0.7
    assert r.loc["pca_shift", "r2_top100"] > r.loc["control_mean", "r2_top100"] + 0.1
    assert r.loc["pca_shift", "edistance"] < 0.5 * r.loc["control_mean", "edistance"]
    # ten PCs of the training cells carry the shared response: as good as the gene-space shift
    assert r.loc["pca_shift", "pearson_delta"] == pytest.approx(r.loc["mean_shift", "pearson_delta"], abs=0.05)
    # an embedding that knows nothing of the cells barely moves them
    assert r.loc["noise_shift", "edistance"] > 0.8 * r.loc["control_mean", "edistance"]


def test_embedding_shift_without_residual_and_determinism(embedded):
    a = pk.tl.embedding_shift(embedded, holdout="type1", obsm_key="X_pca_train", residual=False)
    b = pk.tl.embedding_shift(embedded, holdout="type1", obsm_key="X_pca_train", residual=False)
    assert np.array_equal(a.X, b.X) and np.isfinite(a.X).all()
    ctrl = embedded[(embedded.obs["cell_type"] == "type1") & (embedded.obs["perturbation"] == "control")]
    truth = embedded.uns["truth"]["log_fc"]["type1"].to_numpy()
    assert np.corrcoef(a.X.mean(0) - ctrl.X.toarray().mean(0), truth)[0, 1] > 0.75
    # decoded cells vary from cell to cell (not one shared shift)
    assert a.X.std(0).mean() > 0.05


def test_embedding_shift_leaves_adata_alone(embedded):
    before = embedded.copy()
    pk.tl.embedding_shift(embedded, holdout="type2", obsm_key="X_pca_train")
    assert np.array_equal(embedded.X.toarray(), before.X.toarray())
    assert set(embedded.obsm) == set(before.obsm) and list(embedded.obs.columns) == list(before.obs.columns)


def test_embedding_shift_bad_input(embedded):
    with pytest.raises(KeyError, match="'X_nope'.*available.*X_pca_train"):
        pk.tl.embedding_shift(embedded, holdout="type1", obsm_key="X_nope")
    bad = embedded.copy()
    bad.obsm["cube"] = np.zeros((bad.n_obs, 2, 2))
    with pytest.raises(ValueError, match=r"2-D array of 960 cells.*\(960, 2, 2\)"):
        pk.tl.embedding_shift(bad, holdout="type1", obsm_key="cube")
    bad.obsm["empty"] = np.zeros((bad.n_obs, 0))
    with pytest.raises(ValueError, match="2-D array"):
        pk.tl.embedding_shift(bad, holdout="type1", obsm_key="empty")
    bad.obsm["nan"] = np.full((bad.n_obs, 3), np.nan)
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.embedding_shift(bad, holdout="type1", obsm_key="nan")
    with pytest.raises(ValueError, match="holdout 'type9'.*type0"):
        pk.tl.embedding_shift(embedded, holdout="type9", obsm_key="X_pca_train")
    with pytest.raises(ValueError, match="clash"):
        pk.tl.response_benchmark(embedded, holdout="type1", methods=["control_mean"], seeds=[0],
                                 embeddings={"linear": "X_pca_train"})
    with pytest.raises(KeyError, match="X_nope"):
        pk.tl.response_benchmark(embedded, holdout="type1", methods=["control_mean"], seeds=[0],
                                 embeddings={"x": "X_nope"})


# --- cycleCDR-style predictor -----------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_only():
    """Six cell types sharing one planted response (15 genes, no type-specific genes)."""
    a = pk.data.simulate_perturbation(n_cells=40, n_genes=60, n_de=0, n_shared=15, n_cell_types=6,
                                      response=[1.0] * 6, seed=0)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def test_cyclecdr_recovers_planted_shift_and_cycle_loss_falls(shared_only):
    pred = pk.tl.predict_response(shared_only, holdout="type1", method="cyclecdr", progress=False, **HP)
    info = pred.uns["prediction"]
    assert info["method"] == "cyclecdr" and info["cycle_weight"] == 1.0 and info["align_weight"] == 1.0
    losses = info["losses"]
    assert set(losses) == {"total", "reconstruction", "cycle", "alignment"}
    assert all(len(v) == HP["n_epochs"] for v in losses.values())
    # translating there and back reproduces the input far better after training than before
    assert losses["cycle"][-1] < 0.1 * losses["cycle"][0]
    assert losses["alignment"][-1] < 0.1 * losses["alignment"][0]
    assert info["latent_shift"].shape == (10,) and np.abs(info["latent_shift"]).sum() > 0
    ctrl = shared_only[(shared_only.obs["cell_type"] == "type1") & (shared_only.obs["perturbation"] == "control")]
    change = pred.X.mean(0) - ctrl.X.toarray().mean(0)
    shared = shared_only.var_names.isin(shared_only.uns["truth"]["shared_genes"])
    # the planted shared genes go up (+1.5 on the natural-log scale); the other genes move
    # too (the perturbed decoder never saw type1), which the chapter reports
    assert change[shared].mean() > 0.5 and (change[shared] > 0).mean() >= 0.8
    r = pk.tl.response_benchmark(shared_only, holdout="type1", methods=["control_mean", "cyclecdr"], seeds=[0],
                                 n_top=20, progress=False, **HP).set_index("method")
    assert r.loc["cyclecdr", "pearson_delta"] > 0.5
    assert r.loc["cyclecdr", "r2_top100"] > r.loc["control_mean", "r2_top100"] + 0.05


def test_cyclecdr_weights_matter_and_bad_input(shifted):
    kw = {"n_epochs": 3, "hidden": 16, "progress": False, "seed": 0}
    a = pk.tl.predict_response(shifted, holdout="type2", method="cyclecdr", **kw)
    b = pk.tl.predict_response(shifted, holdout="type2", method="cyclecdr", cycle_weight=0.0, **kw)
    assert not np.array_equal(a.X, b.X)
    with pytest.raises(TypeError, match="hyper-parameters.*cycle_weight"):
        pk.tl.predict_response(shifted, holdout="type2", method="cyclecdr", cycle_weigth=1.0)
    with pytest.raises(ValueError, match="holdout 'typeX'"):
        pk.tl.predict_response(shifted, holdout="typeX", method="cyclecdr", **kw)


def test_genes_chosen_without_the_held_out_cells(shifted):
    """Genes that vary only in the held-out perturbed cells are picked only by the leaky choice."""
    from perturbkit.tl._predict._response_prediction import _select_genes, _Split

    s = _Split(shifted, "type1", "perturbation", "control", "cell_type", None, None)
    chosen = set(_select_genes(shifted, s.train_idx, n_genes=20))
    leaky = shifted.copy()
    leaky.X = leaky.X.toarray()
    held = ((leaky.obs["cell_type"] == "type1") & (leaky.obs["perturbation"] == "stimulated")).to_numpy()
    others = [i for i in np.argsort(leaky.X.var(0)) if leaky.var_names[i] not in chosen][:5]
    leaky.X[np.ix_(held, others)] = np.random.default_rng(0).uniform(0, 8, size=(held.sum(), 5))
    planted = set(leaky.var_names[others])
    # the training-cell choice cannot see the planted change; the choice on all cells picks it up
    assert set(_select_genes(leaky, s.train_idx, n_genes=20)) == chosen
    assert len(planted & set(_select_genes(leaky, np.arange(leaky.n_obs), n_genes=20))) >= 4
    kw = {"holdout": "type1", "methods": ["mean_shift"], "seeds": [0], "n_top": 10, "progress": False,
          "n_genes": 20}
    clean = pk.tl.response_benchmark(shifted, **kw)
    assert clean.equals(pk.tl.response_benchmark(leaky, **kw))
    assert not clean.equals(pk.tl.response_benchmark(leaky, genes_from="all", **kw))
    assert (clean["n_genes"] == 20).all()


def test_scored_on_equal_cell_numbers(shifted):
    res = pk.tl.response_benchmark(shifted, holdout="type1", methods=["control_mean", "mean_shift"], seeds=[0, 1],
                                   n_top=10, progress=False)
    t1 = shifted.obs[shifted.obs["cell_type"] == "type1"]
    n_stim, n_ctrl = int((t1["perturbation"] != "control").sum()), int((t1["perturbation"] == "control").sum())
    # half of the perturbed cells, or all held-out controls if fewer: the same k on every row
    assert (res["n_cells_scored"] == min(n_stim // 2, n_ctrl)).all()
    # unbiased E-distance: a random half of the truth sits near zero from the other half
    ceiling = res[res["method"] == "noise_ceiling"]["edistance"]
    base = res[res["method"] == "control_mean"]["edistance"]
    assert (ceiling.abs().to_numpy() < 0.25 * base.to_numpy()).all()
    with pytest.raises(ValueError, match="genes_from"):
        pk.tl.response_benchmark(shifted, holdout="type1", methods=["mean_shift"], seeds=[0], genes_from="held")


def test_trvae_mmd_makes_first_decoder_layer_condition_invariant(shifted):
    kw = {"holdout": "type1", "seed": 0, "progress": False, "n_epochs": 40, "hidden": 32, "batch_size": 64}
    plain = pk.tl.predict_response(shifted, method="cvae", **kw).uns["prediction"]["layer_mmd"]
    trvae = pk.tl.predict_response(shifted, method="trvae", **kw).uns["prediction"]["layer_mmd"]
    # the penalty is what separates trVAE from a conditional VAE: it shrinks the layer's MMD
    assert trvae < 0.5 * plain, (plain, trvae)
    off = pk.tl.predict_response(shifted, method="trvae", mmd_weight=0.0, **kw).uns["prediction"]["layer_mmd"]
    assert off == pytest.approx(plain)


def test_training_pca_fitted_once_per_split_with_the_same_numbers(shifted, monkeypatch):
    from sklearn.decomposition import PCA

    rp = pk.tl._predict._response_prediction
    # the reference: the benchmark's distance PCA and OT fitted from scratch, as before the cache
    s = rp._Split(shifted, "type1", "perturbation", "control", "cell_type", None, None)
    xtr = s.x[s.train_idx]
    fresh = PCA(n_components=20, svd_solver="full").fit(xtr)
    ot_ref = rp._ot(rp._Split(shifted, "type1", "perturbation", "control", "cell_type", None, None),
                    {**rp._DEFAULTS}, 0)
    fits = []
    real_fit = PCA.fit
    monkeypatch.setattr(PCA, "fit", lambda self, *a, **k: fits.append(1) or real_fit(self, *a, **k))
    res = pk.tl.response_benchmark(shifted, holdout="type1", methods=["ot", "cellot"], seeds=[0, 1],
                                   progress=False, n_top=20, cellot_iters=5)
    assert len(fits) == 1, "one PCA for the distance, OT and CellOT across both seeds"
    assert np.array_equal(s.training_pca(20).components_, fresh.components_)
    assert s.training_pca(20) is s.training_pca(20)
    assert np.array_equal(rp._ot(s, {**rp._DEFAULTS}, 0), ot_ref)
    assert len(res) == 6 and res["edistance"].notna().all()
