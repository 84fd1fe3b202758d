"""Dose-response models in drc's parameterisation (b, c, d, e, f): the one place that
evaluates or fits a dose-response curve.

``fit_curve(dose, response, model="LL.4")`` fits one curve (continuous or binomial) and
returns a :class:`DoseResponseFit` with estimates, standard errors, ``ed(p)`` with
delta-method intervals, ``dose_at(level)`` (absolute IC50), AIC and a lack-of-fit test.
``fit_curves`` fits many at once (arrays, or a tidy table with group columns;
:func:`perturbkit.tl.dose_response` is its AnnData adapter). ``compare_models``/``fit_best``
rank models by AIC for one curve; ``potency_table`` tabulates a dict of single-curve fits;
:class:`Curve` evaluates and inverts a curve given as parameters. Models: LL.2, LL.3, LL.4,
LL.5, W1.4, W2.4, Hill (see ``perturbkit.dose._models`` for the formulas).
"""

# One line per public function: `from ._module import name as name` (explicit re-export).
from ._batch import STATUS as STATUS
from ._benchmark import compare_with_scipy as compare_with_scipy
from ._compare import DEFAULT_MODELS as DEFAULT_MODELS
from ._compare import compare_models as compare_models
from ._compare import fit_best as fit_best
from ._compare import potency_table as potency_table
from ._curve import Curve as Curve
from ._curves import fit_curves as fit_curves
from ._fit import ConvergenceWarning as ConvergenceWarning
from ._fit import DoseResponseFit as DoseResponseFit
from ._fit import fit_curve as fit_curve
from ._many import curve_auc as curve_auc
from ._many import partial_pooling as partial_pooling
from ._models import MODELS as MODELS
from ._models import Model as Model
from ._models import get_model as get_model

__all__ = [
    "DEFAULT_MODELS",
    "STATUS",
    "MODELS",
    "ConvergenceWarning",
    "Curve",
    "DoseResponseFit",
    "Model",
    "compare_models",
    "compare_with_scipy",
    "curve_auc",
    "partial_pooling",
    "fit_best",
    "fit_curve",
    "fit_curves",
    "get_model",
    "potency_table",
]
