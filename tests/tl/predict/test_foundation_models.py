"""Toy scBERT (binned tokens, masked LM, cell-type fine-tuning) and scGPT (generative
pre-training under its attention mask, perturbation fine-tuning): planted structure learnt."""

from __future__ import annotations

import numpy as np
import pytest
import scanpy as sc

import perturbkit as pk
from perturbkit.tl._predict._foundation_models import _bins


@pytest.fixture(scope="module")
def cells():
    a = pk.data.simulate_perturbation(n_cell_types=3, n_cells=60, n_genes=40, n_de=5, n_shared=10,
                                      response=[1.0, 1.0, 1.0], seed=0)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def test_bins_zero_has_its_own_token():
    x = np.array([[0.0, 0.1, 1.0, 2.0, 9.0]])
    assert _bins(x, 5, top=2.0).tolist() == [[0, 1, 3, 4, 4]]


def test_scbert_learns_bins_and_cell_types(cells):
    res = pk.tl.scbert_annotate(cells, n_genes=32, dim=16, pretrain_epochs=10, finetune_epochs=8, lr=3e-3, seed=0)
    r = res.set_index("method")
    # the masked LM beats predicting the bin frequencies, and improves with training
    assert r["pretrain_loss_last"].iloc[0] < r["chance_loss"].iloc[0]
    assert r["pretrain_loss_last"].iloc[0] < r["pretrain_loss_first"].iloc[0]
    # three planted cell types with distinct profiles: fine-tuned models annotate them
    assert r.loc["scbert (pre-trained + fine-tuned)", "accuracy"] > 0.8, r
    assert r.loc["logistic regression (baseline)", "accuracy"] > 0.8, r
    again = pk.tl.scbert_annotate(cells, n_genes=32, dim=16, pretrain_epochs=10, finetune_epochs=8, lr=3e-3, seed=0)
    assert again.equals(res)
    with pytest.raises(ValueError, match="n_bins"):
        pk.tl.scbert_annotate(cells, n_bins=2)
    with pytest.raises(KeyError, match="tissue"):
        pk.tl.scbert_annotate(cells, cell_type_key="tissue")


def test_scgpt_predicts_the_planted_response(cells):
    res = pk.tl.response_benchmark(cells, holdout="type1", methods=["control_mean", "scgpt"], seeds=[0], n_top=10,
                                   progress=False, scgpt_pretrain_epochs=3, scgpt_finetune_epochs=15)
    r = res.set_index("method")
    assert r.loc["scgpt", "pearson_delta"] > 0.5, r
    # fine-tuned on random (control, perturbed) pairs, it learns the mean response: the top
    # genes' levels move towards the truth (its predicted cells are less spread than real ones)
    assert r.loc["scgpt", "r2_top100"] > r.loc["control_mean", "r2_top100"], r
    pred = pk.tl.predict_response(cells, holdout="type1", method="scgpt", progress=False,
                                  scgpt_pretrain_epochs=2, scgpt_finetune_epochs=2)
    losses = pred.uns["prediction"]["scgpt_losses"]
    assert len(losses["pretrain"]) == 2 and len(losses["finetune"]) == 2
    with pytest.raises(ValueError, match="256 genes"):
        big = pk.data.simulate_perturbation(n_cell_types=2, n_cells=5, n_genes=300, seed=0)
        pk.tl.predict_response(big, holdout="type1", method="scgpt", progress=False)
