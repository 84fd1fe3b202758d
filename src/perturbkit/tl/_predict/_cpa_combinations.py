"""CPA's compositional claim: a combination never measured is predicted by adding its
perturbations' latent embeddings (Lotfollahi et al. 2023), against the additive baseline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import as_dense, check_finite, check_group, check_obs
from ._cpa_dose import fit_cpa_dose, signature_scores

__all__ = ["cpa_combination_benchmark"]

CPA_COMBINATION_METHODS = ("control", "additive", "cpa")


def cpa_combination_benchmark(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    delimiter: str = "+",
    train_combinations: Sequence[str] = (),
    latent_dim: int = 16,
    hidden: int = 64,
    n_epochs: int = 300,
    lr: float = 3e-3,
    adv_weight: float = 5.0,
    vehicle_weight: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Predict every combination from its single perturbations only, with CPA and baselines.

    Training sees the control cells and the cells of each single perturbation; every
    combination (a label joining singles with ``delimiter``, e.g. ``"P0+P3"``) is held out,
    except those listed in ``train_combinations``.
    A combination's signature is the mean of its cells minus the control mean. Predictors:

    ``control``
        no change (signature 0);
    ``additive``
        the sum of its singles' signatures, in expression space;
    ``cpa``
        CPA (the model of :func:`cpa_dose_benchmark`, ``fit_cpa_dose``) trained on the
        singles: the control cells are encoded to their basal state, the *sum* of the
        singles' embeddings is added in the latent space and the result decoded; the
        prediction is the mean over control cells minus the decoded control profile. No dose
        column is read: every perturbation has dose 1, so CPA's dose function is one learnt
        scale per perturbation.

    Parameters
    ----------
    adata
        Cells (or wells) x genes of log expression with ``obs[groupby]`` holding the control
        label, singles and combinations (e.g. ``pk.data.simulate_latent_combinations()``).
    groupby, control
        Perturbation column and its control label.
    delimiter
        What joins the singles of a combination label.
    train_combinations
        Combinations given to training instead of held out (CPA then sees sums of
        embeddings during training too); all others are held out and scored.
    latent_dim, hidden, n_epochs, lr, adv_weight, vehicle_weight
        CPA's latent size, hidden units, full-batch epochs, learning rate, adversary weight
        and weight of rebuilding each cell from a control cell's basal state.
    seed
        Seed of the model.

    Returns
    -------
    DataFrame
        One row per (combination, method): ``perturbation``, ``n_perturbations``,
        ``method``, ``pearson_delta`` (predicted vs observed signature over genes), ``mse``,
        ``sse`` and ``obs_ss`` (sums of squares of the error and of the observed signature;
        ``1 - sum(sse) / sum(obs_ss)`` is the fraction explained), ``shift_explained``
        (``1 - sse / obs_ss`` for the combination), ``n_cells`` (cells of the combination).

    Raises
    ------
    ValueError
        No combination in ``obs[groupby]``, or a combination whose single (named in the
        message) is not measured alone.

    References
    ----------
    Lotfollahi M et al. (2023) Predicting cellular responses to complex perturbations in
    high-throughput screens. Mol Syst Biol 19:e11517.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_latent_combinations(n_perturbations=4, n_pairs=4, n_cells=20, seed=0)
    >>> res = pk.tl.cpa_combination_benchmark(sim, n_epochs=30)
    >>> sorted(res["method"].unique()), res["perturbation"].nunique()
    (['additive', 'control', 'cpa'], 4)
    """
    check_obs(adata, groupby)
    check_group(adata, groupby, control, role="control label")
    if not delimiter:
        raise ValueError("delimiter must be a non-empty string")
    labels = adata.obs[groupby].astype(str).to_numpy()
    x = check_finite(as_dense(adata.X).astype(np.float32), name="adata.X")
    present = set(labels)
    combos = sorted(lab for lab in present if delimiter in lab and lab != str(control))
    singles = sorted(lab for lab in present if delimiter not in lab and lab != str(control))
    if not combos:
        raise ValueError(f"obs[{groupby!r}] has no combination (no label joins singles with {delimiter!r})")
    members = {c: c.split(delimiter) for c in combos}
    for c, parts in members.items():
        missing = [p for p in parts if p not in singles]
        if missing:
            raise ValueError(f"combination {c!r} in obs[{groupby!r}]: single(s) {missing} never measured alone")
        if len(set(parts)) < len(parts):
            raise ValueError(f"combination {c!r} in obs[{groupby!r}] names a perturbation twice")
    unknown = sorted(set(train_combinations) - set(combos))
    if unknown:
        raise ValueError(f"train_combinations {unknown} are not combinations in obs[{groupby!r}]")
    held_out = [c for c in combos if c not in set(train_combinations)]
    if not held_out:
        raise ValueError("every combination is in train_combinations: nothing is left to predict")
    is_ctrl = labels == str(control)
    train = np.flatnonzero(np.isin(labels, [str(control), *singles, *train_combinations]))
    code = {s: i + 1 for i, s in enumerate(singles)}
    width = max(len(p) for p in members.values())

    def codes_of(lab: str) -> list[int]:
        parts = [] if lab == str(control) else members.get(lab, [lab])
        return [code[p] for p in parts] + [0] * (width - len(parts))

    ctrl_mean = x[is_ctrl].mean(0)
    scale = x[train].std(0)  # gene scales from the training cells only
    scale = np.where(scale > 0, scale, 1.0)
    # (cells, width) codes, 0 padding: a cell's latent is basal + the sum of its embeddings
    drug = np.array([codes_of(labels[i]) for i in train])
    predict, _ = fit_cpa_dose((x[train] - ctrl_mean) / scale, drug, np.ones(drug.shape), len(singles),
                              latent_dim=latent_dim, hidden=hidden, n_epochs=n_epochs, lr=lr,
                              adv_weight=adv_weight, vehicle_weight=vehicle_weight, seed=seed)
    basal = (x[is_ctrl] - ctrl_mean) / scale
    cpa_ctrl = predict(basal, (0,) * width, (0.0,) * width)  # the decoder's control profile: its own reference
    sig = {lab: x[labels == lab].mean(0) - ctrl_mean for lab in [*singles, *combos]}
    rows = []
    for c in held_out:
        parts = members[c]
        preds = {
            "control": np.zeros(x.shape[1]),
            "additive": np.sum([sig[p] for p in parts], axis=0),
            "cpa": (predict(basal, tuple(codes_of(c)), (1.0,) * width) - cpa_ctrl) * scale,
        }
        for m in CPA_COMBINATION_METHODS:
            rows.append({"perturbation": c, "n_perturbations": len(parts), "method": m,
                         **signature_scores(preds[m], sig[c]), "n_cells": int((labels == c).sum())})
    return pd.DataFrame(rows)
