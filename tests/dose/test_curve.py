"""pk.dose.Curve: evaluation and inversion against the closed-form log-logistic."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


def _ll4(x, b, c, d, e):
    return c + (d - c) / (1 + np.exp(b * (np.log(x) - np.log(e))))


def test_predict_and_dose_at_invert_the_closed_form():
    p = {"b": 1.2, "c": 10.0, "d": 90.0, "e": 3.0}  # drc sign: b > 0 falls from d to c
    curve = pk.dose.Curve("LL.4", p)
    doses = np.array([0.1, 1.0, 3.0, 20.0])
    np.testing.assert_allclose(curve.predict(doses), _ll4(doses, **p), rtol=1e-10)
    assert curve.start == pytest.approx(90.0) and curve.far == pytest.approx(10.0)
    # a level inside (c, d): the dose whose closed-form response is that level
    levels = _ll4(doses, **p)
    np.testing.assert_allclose(curve.dose_at(levels), doses, rtol=1e-8)
    # levels already met without drug -> 0; beyond the far limit -> never reached
    np.testing.assert_array_equal(curve.dose_at(np.array([95.0, 90.0, 10.0, 5.0])), [0.0, 0.0, np.inf, np.inf])


def test_rising_curve_and_flat_curve():
    rising = pk.dose.Curve("LL.4", {"b": -2.0, "c": 0.0, "d": 1.0, "e": 5.0})  # b < 0 rises from c to d
    assert rising.start == pytest.approx(0.0) and rising.far == pytest.approx(1.0)
    assert float(rising.dose_at(0.5)) == pytest.approx(5.0)
    assert float(rising.dose_at(-0.1)) == 0.0 and float(rising.dose_at(1.2)) == np.inf
    flat = pk.dose.Curve("LL.4", {"b": 1.0, "c": 50.0, "d": 50.0, "e": 1.0})
    np.testing.assert_array_equal(flat.dose_at(np.array([40.0, 60.0])), [0.0, np.inf])


def test_missing_parameter_is_named():
    with pytest.raises(ValueError, match=r"\['e'\]"):
        pk.dose.Curve("LL.4", {"b": 1.0, "c": 0.0, "d": 1.0}).predict(1.0)
