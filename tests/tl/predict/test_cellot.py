"""CellOT's learned transport map (tl/_predict/_cellot.py): planted Gaussian maps recovered,
the map is the gradient of a convex potential, seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import perturbkit as pk
from perturbkit.tl._predict._cellot import fit_cellot

# a shift plus an anisotropic scaling: between N(0, I) and N(b, A^2) with A symmetric positive
# definite, the W2-optimal map is exactly x -> A x + b (Brenier)
A = np.array([[2.0, 0.3, 0.0], [0.3, 0.5, 0.0], [0.0, 0.0, 1.0]])
B = np.array([3.0, -1.0, 0.5])
KW = {"hidden": 32, "n_layers": 2, "n_iters": 200, "n_inner": 2, "lr": 5e-3}


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(500, 3)), rng.normal(size=(500, 3)) @ A + B
    transport, losses = fit_cellot(x, y, seed=0, **KW)
    return transport, losses, rng.normal(size=(300, 3))


def test_planted_gaussian_map_recovered(planted):
    transport, losses, fresh = planted
    truth = fresh @ A + B
    err = np.abs(transport(fresh) - truth).mean()
    shift_only = np.abs(fresh + B - truth).mean()  # the mean-shift baseline
    assert err < 0.2, err
    assert err < shift_only / 3, (err, shift_only)
    # the map's own Jacobian is close to the planted A (the scaling, not only the shift)
    moved = transport(fresh)
    slope = np.linalg.lstsq(np.c_[fresh, np.ones(len(fresh))], moved, rcond=None)[0][:3]
    np.testing.assert_allclose(slope, A, atol=0.2)
    assert len(losses["g"]) == len(losses["f"]) == KW["n_iters"]


def test_jacobian_is_symmetric_psd(planted):
    transport, _, fresh = planted
    g = transport.potential
    for x in torch.as_tensor(fresh[:10], dtype=torch.float32):
        hess = torch.autograd.functional.hessian(lambda v: g(v[None])[0], x).numpy()
        np.testing.assert_allclose(hess, hess.T, atol=1e-4)
        assert np.linalg.eigvalsh(0.5 * (hess + hess.T)).min() > -1e-5


def test_seeded_and_bad_input():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2)) + 1
    kw = {**KW, "n_iters": 5}
    a, _ = fit_cellot(x, y, seed=3, **kw)
    b, _ = fit_cellot(x, y, seed=3, **kw)
    assert np.array_equal(a(x), b(x))
    with pytest.raises(ValueError, match="same columns"):
        fit_cellot(x, y[:, :1])
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fit_cellot(bad, y)


def test_cellot_predictor_beats_mean_shift_on_a_type_specific_scaling():
    """Through predict_response: the map learnt on the training types carries the response."""
    import scanpy as sc

    adata = pk.data.simulate_perturbation(n_cells=40, n_genes=40, n_de=5, n_shared=10, n_cell_types=3,
                                          response=[1.0, 1.0, 1.0], seed=0)
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    res = pk.tl.response_benchmark(adata, holdout="type1", methods=["control_mean", "cellot"], seeds=[0],
                                   n_top=20, progress=False, cellot_iters=150)
    r = res.set_index("method")
    assert r.loc["cellot", "pearson_delta"] > 0.5, r
    assert r.loc["cellot", "edistance"] < r.loc["control_mean", "edistance"], r
    pred = pk.tl.predict_response(adata, holdout="type1", method="cellot", progress=False, cellot_iters=5)
    assert set(pred.uns["prediction"]["cellot_losses"]) == {"g", "f"}
