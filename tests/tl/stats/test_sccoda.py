"""pk.tl.sccoda: Dirichlet-multinomial composition with a reference type, horseshoe effects, NUTS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk

pytest.importorskip("pyro")


def _planted(seed: int = 1) -> pd.DataFrame:
    """Six cell types, five control and five treated samples; treatment multiplies type C's
    concentration by e^1.5 (a planted effect relative to every other type), nothing else."""
    rng = np.random.default_rng(seed)
    base = np.array([300.0, 200.0, 60.0, 150.0, 100.0, 90.0])
    types = list("ABCDEF")
    rows = []
    for group, effect in [("control", 0.0), ("treated", 1.5)]:
        conc = base.copy()
        conc[2] *= np.exp(effect)
        for i in range(5):
            props = rng.dirichlet(conc)
            counts = rng.multinomial(2000, props)
            rows += [{"sample": f"{group}{i}", "perturbation": group, "cell_type": t, "n_cells": int(c)}
                     for t, c in zip(types, counts, strict=True)]
    return pd.DataFrame(rows)


def _null_t(counts: pd.DataFrame) -> pd.Series:
    """Welch t of each type's log-ratio to A, treated vs control: how far chance moved it."""
    wide = counts.pivot_table(index="sample", columns="cell_type", values="n_cells")
    lr = np.log(wide.div(wide["A"], axis=0)).drop(columns="A")
    ctrl, trt = lr[lr.index.str.startswith("control")], lr[lr.index.str.startswith("treated")]
    return (trt.mean() - ctrl.mean()) / np.sqrt(ctrl.var() / len(ctrl) + trt.var() / len(trt))


@pytest.fixture(scope="module")
def fitted():
    counts = _planted()
    # precondition: in this draw chance moved no null type by 2 standard errors (seed 0 moves E
    # by 3.5, which a calibrated model should then call), so a credible null type is an error
    assert _null_t(counts).drop("C").abs().max() < 2
    return pk.tl.sccoda(counts, reference="A", num_samples=200, num_warmup=150, seed=0)


def test_planted_effect_credible_null_types_not(fitted):
    res = fitted.set_index("cell_type")
    assert list(res.index) == list("BCDEF") and (res["reference"] == "A").all()
    assert res.loc["C", "credible"], res
    assert res.loc["C", "effect"] == pytest.approx(1.5, abs=0.35)
    # the horseshoe shrinks towards 0, so the interval may end just below the planted 1.5
    assert 0.5 < res.loc["C", "ci_low"] < 1.5 < res.loc["C", "ci_high"] + 0.2
    assert not res.drop(index="C")["credible"].any(), res
    assert res.loc["C", "inclusion_probability"] > res.drop(index="C")["inclusion_probability"].max()
    assert res.loc["C", "log2_fold_change"] > 1.0


def test_same_seed_same_draws():
    counts = _planted(2)
    a = pk.tl.sccoda(counts, reference="A", num_samples=10, num_warmup=10, seed=2)
    b = pk.tl.sccoda(counts, reference="A", num_samples=10, num_warmup=10, seed=2)
    pd.testing.assert_frame_equal(a, b)


def test_bad_input():
    counts = _planted()
    with pytest.raises(ValueError, match="level"):
        pk.tl.sccoda(counts, level=95)
    with pytest.raises(ValueError, match="reference 'Z'"):
        pk.tl.sccoda(counts, reference="Z")
    with pytest.raises(KeyError, match="n_cells"):
        pk.tl.sccoda(counts.drop(columns="n_cells"))
    one = counts[~counts["sample"].isin([f"treated{i}" for i in range(1, 5)])]
    with pytest.raises(ValueError, match="treated"):
        pk.tl.sccoda(one, reference="A")


def test_analytic_potential_matches_pyro_model():
    """The numpy potential NUTS samples is pyro's potential of ``_model`` (on the same
    unconstrained scale): gradients equal and values equal up to one dropped constant."""
    import torch
    from pyro.infer.mcmc.util import initialize_model
    from pyro.ops.integrator import potential_grad

    from perturbkit.tl._stats._sccoda import _model, _potential

    rng = np.random.default_rng(0)
    x = torch.zeros(7, 2, dtype=torch.float64)
    x[2:4, 0], x[4:, 1] = 1.0, 1.0
    y = torch.as_tensor(rng.integers(0, 300, (7, 5)), dtype=torch.float64)
    _, reference_fn, _, _ = initialize_model(lambda: _model(x, y, 2))
    mine = _potential(x.numpy(), y.numpy(), 2)
    offsets = []
    for scale in (0.5, 2.0, 4.0):  # up to effects of e^4 and more, where the slab acts
        point = {"alpha": torch.as_tensor(rng.normal(0, scale, 5)),
                 "tau": torch.as_tensor(rng.normal(-1, scale, (2, 1))),
                 "lam": torch.as_tensor(rng.normal(0, scale, (2, 4))),
                 "z": torch.as_tensor(rng.normal(0, scale, (2, 4)))}
        g_ref, v_ref = potential_grad(reference_fn, point)
        g_new, v_new = potential_grad(mine, point)
        for k in g_ref:
            np.testing.assert_allclose(g_new[k].numpy(), g_ref[k].numpy(), rtol=1e-9, atol=1e-9, err_msg=k)
        offsets.append(float(v_ref - v_new))
    assert np.ptp(offsets) < 1e-8 * max(abs(o) for o in offsets), offsets
