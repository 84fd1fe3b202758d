from __future__ import annotations

import numpy as np
import pytest
import scanpy as sc

import perturbkit as pk

KW = {"n_genes": 24, "dim": 16, "n_layers": 1, "n_heads": 2, "progress": False}


@pytest.fixture(scope="module")
def cells():
    # deep, low-noise counts: a masked gene is predictable from the others via the cell type
    a = pk.data.simulate_perturbation(n_cell_types=3, response=[0, 0, 0], n_cells=20, n_genes=40, seed=0,
                                      library_size=20000, dispersion=0.02)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def test_training_learns_and_embeds(cells):
    out = pk.tl.expression_transformer(cells, n_epochs=10, batch_size=16, lr=3e-3, copy=True, **KW)
    emb = out.obsm["X_transformer"]
    info = out.uns["X_transformer"]
    assert emb.shape == (cells.n_obs, 16) and emb.dtype == np.float32
    assert len(info["genes"]) == 24 and len(info["loss"]) == 10
    # masked values are predicted better than by each gene's mean (the trivial predictor)
    assert info["loss"][-1] < 0.8 * info["baseline_loss"]
    assert info["loss"][-1] < info["loss"][0]
    # the embedding carries the planted cell types (cross-validated; chance is 1/3)
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    acc = cross_val_score(clf, emb, cells.obs["cell_type"].astype(str), cv=3).mean()
    assert acc > 0.6
    assert "X_transformer" not in cells.obsm  # copy=True left the input alone


def test_seed_and_checkpoint_roundtrip(cells, tmp_path):
    a = pk.tl.expression_transformer(cells, n_epochs=2, seed=3, copy=True, checkpoint=tmp_path / "m", **KW)
    b = pk.tl.expression_transformer(cells, n_epochs=2, seed=3, copy=True, **KW)
    assert np.array_equal(a.obsm["X_transformer"], b.obsm["X_transformer"])
    re = pk.tl.transformer_embed(cells, tmp_path / "m", key_added="re", copy=True)
    assert np.allclose(re.obsm["re"], a.obsm["X_transformer"], atol=1e-6)
    assert re.uns["re"]["n_missing_genes"] == 0
    # a dataset missing some vocabulary genes still embeds (missing genes are masked)
    vocab = a.uns["X_transformer"]["genes"]
    partial = cells[:, [g for g in cells.var_names if g not in vocab[:5]]].copy()
    part = pk.tl.transformer_embed(partial, tmp_path / "m", copy=True)
    assert part.uns["X_transformer"]["n_missing_genes"] == 5
    assert np.isfinite(part.obsm["X_transformer"]).all()


def test_bad_input(cells, tmp_path):
    with pytest.raises(FileNotFoundError):
        pk.tl.transformer_embed(cells, tmp_path / "nothing")
    with pytest.raises(ValueError, match="divisible"):
        pk.tl.expression_transformer(cells, n_genes=8, dim=10, n_heads=3, n_epochs=1, progress=False)
    pk.tl.expression_transformer(cells, n_epochs=1, copy=True, checkpoint=tmp_path / "m2", **KW)
    other = cells.copy()
    other.var_names = [f"x{i}" for i in range(other.n_vars)]
    with pytest.raises(ValueError, match="none of the checkpoint's genes"):
        pk.tl.transformer_embed(other, tmp_path / "m2")
    bad = cells.copy()
    bad.X = bad.X.toarray()
    bad.X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pk.tl.expression_transformer(bad, n_epochs=1, **KW)


# --- scFoundation-style asymmetric encoder-decoder -----------------------------------------------


def test_asymmetric_learns_roundtrips_and_is_deterministic(cells, tmp_path):
    kw = {**KW, "architecture": "asymmetric", "batch_size": 16, "lr": 3e-3}
    out = pk.tl.expression_transformer(cells, n_epochs=10, copy=True, checkpoint=tmp_path / "asym", seed=2, **kw)
    info = out.uns["X_transformer"]
    emb = out.obsm["X_transformer"]
    assert emb.shape == (cells.n_obs, 16) and emb.dtype == np.float32 and np.isfinite(emb).all()
    assert info["params"]["architecture"] == "asymmetric" and info["params"]["decoder_layers"] == 1
    # masked values, expressed or zero, are predicted better than by each gene's mean
    assert info["loss"][-1] < 0.8 * info["baseline_loss"] and info["loss"][-1] < info["loss"][0]
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    acc = cross_val_score(LogisticRegression(max_iter=2000), emb, cells.obs["cell_type"].astype(str), cv=3).mean()
    assert acc > 0.6  # three planted types: chance is 1/3
    again = pk.tl.expression_transformer(cells, n_epochs=10, copy=True, seed=2, **kw)
    assert np.array_equal(again.obsm["X_transformer"], emb)
    re = pk.tl.transformer_embed(cells, tmp_path / "asym", key_added="re", copy=True)
    assert re.uns["re"]["architecture"] == "asymmetric"
    assert np.allclose(re.obsm["re"], emb, atol=1e-6)


def test_asymmetric_encoder_sees_only_expressed_genes(cells, tmp_path):
    """The embedding reads expressed genes only: dropping a gene from the data leaves the
    cells where it was zero exactly as they were, and moves the others."""
    sparse = cells.copy()
    sparse.X = sparse.X.toarray()
    gene = int(np.argmax(sparse.X.var(0)))  # in the vocabulary (highest variance)
    zero_cells = np.arange(sparse.n_obs) % 2 == 0
    sparse.X[zero_cells, gene] = 0.0
    ckpt = tmp_path / "asym2"
    pk.tl.expression_transformer(sparse, n_epochs=1, copy=True, checkpoint=ckpt, architecture="asymmetric", **KW)
    base = pk.tl.transformer_embed(sparse, ckpt, copy=True).obsm["X_transformer"]
    keep = [g for g in sparse.var_names if g != sparse.var_names[gene]]
    dropped = pk.tl.transformer_embed(sparse[:, keep].copy(), ckpt, copy=True)
    assert dropped.uns["X_transformer"]["n_missing_genes"] == 1
    emb = dropped.obsm["X_transformer"]
    assert np.allclose(emb[zero_cells], base[zero_cells], atol=1e-5)
    assert not np.allclose(emb[~zero_cells], base[~zero_cells], atol=1e-3)


def test_asymmetric_bad_input(cells):
    with pytest.raises(ValueError, match="architecture must be one of"):
        pk.tl.expression_transformer(cells, n_epochs=1, architecture="mae", **KW)
    with pytest.raises(ValueError, match="decoder_layers"):
        pk.tl.expression_transformer(cells, n_epochs=1, architecture="asymmetric", decoder_layers=0, **KW)


def test_checkpoint_is_reused_only_when_what_trained_it_matches(cells, tmp_path):
    ckpt = tmp_path / "m"
    first = pk.tl.expression_transformer(cells, n_epochs=2, seed=1, copy=True, checkpoint=ckpt, **KW)
    assert first.uns["X_transformer"]["checkpoint_reused"] is False
    # same parameters, seed, data and code: loaded, not trained, and the same embedding
    again = pk.tl.expression_transformer(cells, n_epochs=2, seed=1, copy=True, checkpoint=ckpt, **KW)
    assert again.uns["X_transformer"]["checkpoint_reused"] is True
    np.testing.assert_allclose(again.obsm["X_transformer"], first.obsm["X_transformer"], atol=1e-6)
    assert again.uns["X_transformer"]["loss"] == first.uns["X_transformer"]["loss"]
    # another seed, another parameter or other data: retrained, and the checkpoint now holds that model
    other_seed = pk.tl.expression_transformer(cells, n_epochs=2, seed=2, copy=True, checkpoint=ckpt, **KW)
    assert other_seed.uns["X_transformer"]["checkpoint_reused"] is False
    assert not np.allclose(other_seed.obsm["X_transformer"], first.obsm["X_transformer"])
    re = pk.tl.transformer_embed(cells, ckpt, key_added="re", copy=True)
    np.testing.assert_allclose(re.obsm["re"], other_seed.obsm["X_transformer"], atol=1e-6)
    kw = {**KW, "n_layers": 2}
    assert pk.tl.expression_transformer(cells, n_epochs=2, seed=2, copy=True, checkpoint=ckpt,
                                        **kw).uns["X_transformer"]["checkpoint_reused"] is False
    shifted = cells.copy()
    shifted.X = shifted.X * 1.01
    assert pk.tl.expression_transformer(shifted, n_epochs=2, seed=2, copy=True, checkpoint=ckpt,
                                        **kw).uns["X_transformer"]["checkpoint_reused"] is False
    assert not list(tmp_path.glob("*.part")), "temporary files are renamed or removed"


def test_weights_replaced_behind_the_config_are_refused(cells, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    pk.tl.expression_transformer(cells, n_epochs=1, seed=1, copy=True, checkpoint=a, **KW)
    pk.tl.expression_transformer(cells, n_epochs=1, seed=2, copy=True, checkpoint=b, **KW)
    # what a second run writing to the same path mid-way used to cause: weights of another seed
    b.with_suffix(".pt").replace(a.with_suffix(".pt"))
    with pytest.raises(ValueError, match="does not match the sha256 recorded"):
        pk.tl.transformer_embed(cells, a, copy=True)
    # and such a checkpoint is retrained, never reused
    out = pk.tl.expression_transformer(cells, n_epochs=1, seed=1, copy=True, checkpoint=a, **KW)
    assert out.uns["X_transformer"]["checkpoint_reused"] is False
