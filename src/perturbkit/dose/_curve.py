"""A fitted curve as a value: a drc model and its parameters, evaluated and inverted in one
place (used by synergy references, which need a single drug's dose for a given response)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._models import get_model

__all__ = ["Curve"]


@dataclass(frozen=True)
class Curve:
    """One dose-response curve in drc's parameterisation.

    Attributes
    ----------
    model
        drc model name, e.g. ``"LL.4"``.
    params
        Every parameter the model uses (free and fixed), e.g. ``{"b": -1.5, "c": 0, "d": 100, "e": 1}``.
    source
        How the curve was obtained (free text, e.g. ``"LL.4 fixed {'c': 0.0}"``).

    Examples
    --------
    >>> import perturbkit as pk
    >>> curve = pk.dose.Curve("LL.4", {"b": -1.5, "c": 0.0, "d": 100.0, "e": 2.0})
    >>> float(curve.predict(2.0)), float(curve.dose_at(50.0))
    (50.0, 2.0)
    """

    model: str
    params: dict[str, float]
    source: str = field(default="")

    def _theta(self) -> np.ndarray:
        m = get_model(self.model)
        missing = [p for p in m.free if p not in self.params]
        if missing:
            raise ValueError(f"Curve({self.model}) lacks parameter(s) {missing}")
        return np.array([self.params[p] for p in m.free], float)

    def predict(self, dose: np.ndarray | float) -> np.ndarray:
        """Response at ``dose`` (dose 0 gives the dose-0 limit)."""
        x = np.asarray(dose, float)
        return get_model(self.model)(x.reshape(-1), self._theta()).reshape(x.shape)

    @property
    def start(self) -> float:
        """Response without drug (dose 0)."""
        return float(self.predict(0.0))

    @property
    def far(self) -> float:
        """Response at infinite dose (the other limit)."""
        return float(self.predict(1e300))

    def dose_at(self, level: np.ndarray | float) -> np.ndarray:
        """Dose at which the curve reaches the absolute response ``level``: 0 where the level
        is already met at dose 0 (or lies before it), ``inf`` where the curve never reaches it.
        A flat curve (equal limits) reaches nothing above its level: ``inf`` there, 0 below."""
        y = np.asarray(level, float)
        start, far = self.start, self.far
        if start == far:
            return np.where(y > start, np.inf, 0.0)
        frac = (start - y) / (start - far)
        with np.errstate(all="ignore"):
            inner = get_model(self.model).ed(self._theta(), 100.0 * np.clip(frac, 1e-12, 1 - 1e-12))
        return np.where(frac >= 1, np.inf, np.where(frac <= 0, 0.0, inner))
