"""Dose-response models in drc's parameterisation (b, c, d, e, f).

``fit_curve(dose, response, model="LL.4")`` fits one curve (continuous or binomial) and
returns a :class:`DoseResponseFit` with estimates, standard errors, ``ed(p)`` with
delta-method intervals, ``dose_at(level)`` (absolute IC50), AIC and a lack-of-fit test.
``compare_models``/``fit_best`` rank models by AIC; ``fit_groups``/``potency_table`` fit one
curve per drug (or cell line x drug) of a tidy table. Models: LL.2, LL.3, LL.4, LL.5, W1.4,
W2.4, Hill (see ``perturbkit.dose._models`` for the formulas).
"""

# One line per public function: `from ._module import name as name` (explicit re-export).
from ._batch import STATUS as STATUS
from ._batch import fit_curves as fit_curves
from ._benchmark import compare_with_scipy as compare_with_scipy
from ._compare import DEFAULT_MODELS as DEFAULT_MODELS
from ._compare import compare_models as compare_models
from ._compare import fit_best as fit_best
from ._compare import fit_groups as fit_groups
from ._compare import potency_table as potency_table
from ._fit import ConvergenceWarning as ConvergenceWarning
from ._fit import DoseResponseFit as DoseResponseFit
from ._fit import fit_curve as fit_curve
from ._many import curve_auc as curve_auc
from ._many import fit_many as fit_many
from ._many import partial_pooling as partial_pooling
from ._models import MODELS as MODELS
from ._models import Model as Model
from ._models import get_model as get_model

__all__ = [
    "DEFAULT_MODELS",
    "STATUS",
    "MODELS",
    "ConvergenceWarning",
    "DoseResponseFit",
    "Model",
    "compare_models",
    "compare_with_scipy",
    "curve_auc",
    "fit_many",
    "partial_pooling",
    "fit_best",
    "fit_curve",
    "fit_curves",
    "fit_groups",
    "get_model",
    "potency_table",
]
