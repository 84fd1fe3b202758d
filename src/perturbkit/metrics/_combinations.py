"""Scores of predicted double perturbations: error per pair and how well the interaction is caught."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["combination_scores"]


def combination_scores(
    predictions: pd.DataFrame,
    *,
    models: Sequence[str] = ("additive", "model"),
    pair_key: str = "pair",
    observed: str = "observed",
    additive: str = "additive",
) -> pd.DataFrame:
    """Per held-out pair: each predictor's error and its correlation with the observed interaction.

    For every pair, the mean squared error over genes of each column in ``models`` against
    ``observed``; and for every model other than ``additive``, GEARS's score of the
    *non-additive part*: the Pearson correlation over genes of ``model - additive`` with
    ``observed - additive`` (``r_<model>``; 0 when the model predicts no interaction at all,
    i.e. the two parts have zero variance). Note that the observed non-additive part contains
    the noise of the measured singles, so a model that merely smooths the singles can score
    a positive ``r`` on pairs without any interaction.

    Parameters
    ----------
    predictions
        Tidy table, one row per (pair, gene), with ``pair_key``, ``observed``, ``additive`` and
        one column per model (e.g. ``CombinationPrediction.predictions``).
    models
        Prediction columns scored (``additive`` among them gives the baseline's error).
    pair_key, observed, additive
        Column names.

    Returns
    -------
    DataFrame
        Indexed by pair: one column per model (its MSE) and ``r_<model>`` for each model but
        ``additive``.

    Raises
    ------
    KeyError
        A named column is missing.
    ValueError
        NaN in a scored column.

    References
    ----------
    Roohani et al. 2024 :cite:`roohani2024`.

    Examples
    --------
    >>> import pandas as pd
    >>> import perturbkit as pk
    >>> t = pd.DataFrame({"pair": ["A+B"] * 3, "observed": [1.0, 2.0, 4.0], "additive": [1.0, 2.0, 3.0],
    ...                   "model": [1.0, 2.0, 3.5]})
    >>> s = pk.metrics.combination_scores(t)
    >>> round(float(s.loc["A+B", "model"]), 4), round(float(s.loc["A+B", "r_model"]), 2)
    (0.0833, 1.0)
    """
    cols = [pair_key, observed, additive, *models]
    missing = [c for c in dict.fromkeys(cols) if c not in predictions.columns]
    if missing:
        raise KeyError(f"predictions lacks columns {missing}; columns: {list(predictions.columns)}")
    for c in [observed, additive, *models]:
        if predictions[c].isna().any():
            raise ValueError(f"predictions[{c!r}] has NaN values (pairs: "
                             f"{list(predictions.loc[predictions[c].isna(), pair_key].unique()[:5])})")
    pair = predictions[pair_key]
    out = (predictions[list(models)].sub(predictions[observed], axis=0) ** 2).groupby(pair).mean()
    others = [m for m in models if m != additive]
    part = predictions[[observed, *others]].sub(predictions[additive], axis=0)
    part = part - part.groupby(pair).transform("mean")
    var = (part ** 2).groupby(pair).mean()
    for m in others:
        cov = (part[m] * part[observed]).groupby(pair).mean()
        denom = np.sqrt(var[m] * var[observed]).clip(lower=1e-300)
        out[f"r_{m}"] = np.where(var[m] > 1e-12, cov / denom, 0.0)
    return out
