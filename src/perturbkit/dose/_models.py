"""Dose-response model functions in drc's parameterisation, vectorised over curves.

Every model is a member of one family evaluated on ``u = b * (log(x) - log(e))``:

==========  ===================================================  ====================
family      ``y(x)``                                              ``h(u)``
==========  ===================================================  ====================
``LL``      ``c + (d - c) / (1 + exp(u)) ** f``                   ``(1 + e^u)^-f``
``W1``      ``c + (d - c) * exp(-exp(u))``                        ``exp(-e^u)``
``W2``      ``c + (d - c) * (1 - exp(-exp(u)))``                  ``1 - exp(-e^u)``
``Hill``    ``c + (d - c) * x^b / (x^b + e^b)``                   ``1 / (1 + e^-u)``
==========  ===================================================  ====================

Named models fix some of the five parameters ``(b, c, d, e, f)`` exactly as drc does:
``LL.2`` (c = 0, d = 1, f = 1), ``LL.3`` (c = 0, f = 1), ``LL.4`` (f = 1), ``LL.5``,
``W1.4``/``W2.4`` (f unused), ``Hill`` (f unused). ``c`` is the lower and ``d`` the upper
limit, as drc's self-starters order them (``c`` starts at the smallest, ``d`` at the largest
response); ``e`` is the inflection (ED50 for ``LL.4``/``Hill``), ``b`` the slope (positive:
falling for ``LL``/``W1``, rising for ``W2``/``Hill``).

Why the order of the limits matters: swapping ``c`` and ``d`` (and the sign of ``b``) maps
``LL`` with ``f = 1`` and ``Hill`` onto themselves, but maps ``W1`` onto ``W2``
(``c + (d - c)(1 - exp(-e^u)) = d + (c - d) exp(-e^u)``) and ``LL.5`` onto a different
asymmetric curve. With free, unordered limits W1.4 and W2.4 would be one family and end on the
same curve. So for these models (:attr:`Model.ordered`) the fitters keep ``c <= d``, which is
what makes W1.4 (the curve bends sharply near its lower limit) and W2.4 (near its upper limit)
two distinct models, as in drc.

All functions take ``x`` of shape ``(..., n)`` and a full parameter array of shape
``(..., 5)`` and broadcast, so one code path serves single fits and thousands of curves.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

__all__ = ["MODELS", "PARAM_NAMES", "Model", "get_model"]

PARAM_NAMES = ("b", "c", "d", "e", "f")


@dataclass(frozen=True)
class Model:
    """A dose-response model: a family and the parameters it holds fixed."""

    name: str
    family: str
    fixed: dict[str, float]
    description: str

    @functools.cached_property
    def free(self) -> tuple[str, ...]:
        """Names of the estimated parameters, in drc's order."""
        used = PARAM_NAMES if self.family == "LL" else PARAM_NAMES[:4]
        return tuple(p for p in used if p not in self.fixed)

    @property
    def ordered(self) -> bool:
        """Whether the fit must keep ``c <= d`` to stay in this family (W1, W2, LL with free f):
        for these models swapping the limits gives another family (module docstring)."""
        return self.family in ("W1", "W2") or (self.family == "LL" and "f" in self.free)

    def limits_ordered(self, theta: np.ndarray) -> np.ndarray:
        """``c <= d`` per curve (always ``True`` for models that are not :attr:`ordered`)."""
        full = self.full(theta)
        ok = full[..., 1] <= full[..., 2]
        return ok if self.ordered else np.ones_like(ok, dtype=bool)

    def with_fixed(self, extra: dict[str, float] | None) -> Model:
        """The same model with more parameters held fixed (drc's ``fixed=``)."""
        if not extra:
            return self
        unknown = set(extra) - set(self.free)
        if unknown:
            raise ValueError(f"cannot fix {sorted(unknown)} in {self.name}: free parameters are {self.free}")
        return Model(self.name, self.family, {**self.fixed, **extra}, self.description)

    def full(self, theta: np.ndarray) -> np.ndarray:
        """Full ``(..., 5)`` parameter array from free parameters ``(..., k)``."""
        theta = np.asarray(theta, dtype=float)
        out = np.empty(theta.shape[:-1] + (5,))
        j = 0
        defaults = {"f": 1.0}
        for i, name in enumerate(PARAM_NAMES):
            if name in self.free:
                out[..., i] = theta[..., j]
                j += 1
            else:
                out[..., i] = self.fixed.get(name, defaults.get(name, np.nan))
        return out

    def __call__(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Response at dose ``x`` for free parameters ``theta``."""
        return response(self.family, np.asarray(x, float), self.full(theta))

    def jacobian(self, x: np.ndarray, theta: np.ndarray, *, log_e: bool = False) -> np.ndarray:
        """d response / d free parameters, shape ``x.shape + (k,)``.

        With ``log_e=True`` the ``e`` (and ``f``) columns are derivatives with respect to
        ``log e`` (``log f``), the scale the fitters optimise on.
        """
        full = self.full(theta)
        jac = jacobian_full(self.family, np.asarray(x, float), full)
        idx = [PARAM_NAMES.index(p) for p in self.free]
        out = jac[..., idx]
        if log_e:
            for j, p in enumerate(self.free):
                if p in ("e", "f"):
                    out[..., j] *= full[..., None, PARAM_NAMES.index(p)]
        return out

    def ed(self, theta: np.ndarray, p: float) -> np.ndarray:
        """Dose giving ``p`` percent of the change from the dose-0 response to the far limit
        (drc's relative ED with reference "control")."""
        return effective_dose(self.family, self.full(theta), p)


MODELS: dict[str, Model] = {
    "LL.2": Model("LL.2", "LL", {"c": 0.0, "d": 1.0, "f": 1.0}, "log-logistic, limits 0 and 1"),
    "LL.3": Model("LL.3", "LL", {"c": 0.0, "f": 1.0}, "log-logistic, lower limit 0"),
    "LL.4": Model("LL.4", "LL", {"f": 1.0}, "four-parameter log-logistic"),
    "LL.5": Model("LL.5", "LL", {}, "five-parameter log-logistic (asymmetry f)"),
    "W1.4": Model("W1.4", "W1", {}, "Weibull type 1, four parameters"),
    "W2.4": Model("W2.4", "W2", {}, "Weibull type 2, four parameters"),
    "Hill": Model("Hill", "Hill", {}, "Hill equation: c + (d - c) x^b / (x^b + e^b)"),
}


def get_model(model: str | Model) -> Model:
    """Look up a model by drc name (``"LL.4"``); a ``ValueError`` lists the known ones.

    Returns
    -------
    Model
        Callable as ``model(dose, theta)``; ``model.free`` names the estimated parameters.

    Examples
    --------
    >>> import perturbkit as pk
    >>> pk.dose.get_model("ll.4").free
    ('b', 'c', 'd', 'e')
    """
    if isinstance(model, Model):
        return model
    key = {k.lower(): k for k in MODELS}.get(str(model).lower())
    if key is None:
        raise ValueError(f"unknown dose-response model {model!r}; known models: {list(MODELS)}")
    return MODELS[key]


def _u(x: np.ndarray, full: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``u``, ``log x - log e`` (0 at x = 0, where its derivative terms vanish) and the zero mask."""
    b = full[..., 0, None]
    e = full[..., 3, None]
    zero = x <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.log(np.where(zero, 1.0, x))
        diff = lx - np.log(e)
        u = b * diff
    # At x = 0 the curve sits exactly at its dose-0 limit: u = -inf * sign(b).
    u = np.where(zero, -np.inf * np.sign(b), u)
    diff = np.where(zero, 0.0, diff)
    return u, diff, zero


def _h(family: str, u: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``h(u)``, ``dh/du`` and ``dh/df`` (LL only), finite everywhere including u = +-inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        if family == "LL" and np.all(f == 1.0):
            h = expit(-u)  # the common four-parameter case, without logs and powers
            dh = -h * (1.0 - h)
            dhf = np.where(np.isfinite(u), np.log(h, where=h > 0, out=np.full_like(h, -np.inf)) * h, 0.0)
            dhf = np.where(np.isfinite(dhf), dhf, 0.0)
        elif family == "LL":
            soft = np.logaddexp(0.0, u)  # log(1 + e^u)
            h = np.exp(-f * soft)
            dh = -f * h * expit(u)
            dhf = np.where(np.isfinite(soft), -soft * h, 0.0)
        elif family == "Hill":
            h = expit(u)
            dh = h * (1.0 - h)
            dhf = np.zeros_like(u)
        elif family in ("W1", "W2"):
            eu = np.exp(np.minimum(u, 700.0))
            core = np.exp(-eu)
            dcore = -np.exp(np.where(np.isfinite(u), u - eu, -np.inf))
            h, dh = (core, dcore) if family == "W1" else (1.0 - core, -dcore)
            dhf = np.zeros_like(u)
        else:  # pragma: no cover - guarded by get_model
            raise ValueError(family)
    dh = np.where(np.isfinite(dh), dh, 0.0)
    return h, dh, dhf


def response(family: str, x: np.ndarray, full: np.ndarray) -> np.ndarray:
    """Model response for a full parameter array ``(..., 5)`` at doses ``(..., n)``."""
    u, _, _ = _u(x, full)
    h, _, _ = _h(family, u, full[..., 4, None])
    c, d = full[..., 1, None], full[..., 2, None]
    return c + (d - c) * h


def jacobian_full(family: str, x: np.ndarray, full: np.ndarray) -> np.ndarray:
    """Derivatives with respect to all five parameters, shape ``(..., n, 5)``."""
    b, c, d, e, f = (full[..., i, None] for i in range(5))
    u, diff, _ = _u(x, full)
    h, dh, dhf = _h(family, u, f)
    scale = d - c
    # du/db = log x - log e and du/de = -b / e; at x = 0, dh/du is exactly 0.
    return np.stack(
        [scale * dh * diff, 1.0 - h, h, scale * dh * (-b / e), scale * dhf],
        axis=-1,
    )


def effective_dose(family: str, full: np.ndarray, p: float | np.ndarray) -> np.ndarray:
    """Relative effective dose ED(p) (p in percent, 0 < p < 100) for full parameters."""
    p = np.asarray(p, float)
    if p.ndim == 0 and not 0 < p < 100:
        raise ValueError(f"p must be a percentage strictly between 0 and 100, got {p}")
    b, e, f = full[..., 0], full[..., 3], full[..., 4]
    # arrays of p (one per curve) give NaN where p is outside (0, 100): level never reached
    frac = np.where((p > 0) & (p < 100), p / 100.0, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if family == "Hill":
            # increasing from c for b > 0: fraction of the way from the dose-0 limit
            q = np.where(b > 0, frac, 1.0 - frac)
            return e * (q / (1.0 - q)) ** (1.0 / b)
        q = np.where(b > 0, 1.0 - frac, frac)
        if family == "LL":
            return e * (q ** (-1.0 / f) - 1.0) ** (1.0 / b)
        # W1 and W2 share the inverse: both start at their dose-0 limit where e^u = 0 or inf
        if family in ("W1", "W2"):
            return e * (-np.log(q)) ** (1.0 / b)
        return e * (-np.log(q)) ** (1.0 / b)
