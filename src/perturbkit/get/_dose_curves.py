"""Dose-response curves out of an AnnData, as arrays for the batched fitter."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from .._validate import as_dense, check_adata, check_finite, check_group, check_layer, check_obs

__all__ = ["dose_curves"]


def dose_curves(
    adata: AnnData,
    *,
    dose_key: str = "dose",
    groupby: str = "perturbation",
    control: str = "control",
    layer: str | None = None,
    obsm_key: str | None = None,
    groups: Sequence[str] | None = None,
) -> dict:
    """One curve per (perturbation, feature): the perturbation's observations at their doses
    plus all control observations at dose 0, padded to a common length.

    Parameters
    ----------
    adata
        Observations x features.
    dose_key, groupby, control
        Dose column, perturbation column and its control label.
    layer, obsm_key
        Use a layer, or the columns of ``obsm[obsm_key]``, instead of ``X``.
    groups
        Only these perturbations.

    Returns
    -------
    dict
        ``dose``, ``response``, ``weights`` (``(B, n)`` float arrays; weight 0 pads
        shorter curves), ``group`` and ``feature`` (length ``B``, perturbation-major),
        ``groups``, ``features``, ``control_values`` (control observations x features). These
        are the inputs of :func:`perturbkit.dose.fit_curves` and
        :func:`perturbkit.dose.compare_with_scipy`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(n_genes=20, n_response_genes=5, seed=0)
    >>> curves = pk.get.dose_curves(sim)
    >>> curves["response"].shape[0]
    20
    """
    check_adata(adata)
    check_obs(adata, dose_key, groupby)
    check_group(adata, groupby, control, role="control")
    if obsm_key is not None:
        if obsm_key not in adata.obsm:
            raise KeyError(f"adata.obsm has no {obsm_key!r}: run pk.tl.gene_set_scores first (or pass an existing key: {list(adata.obsm)})")
        block = adata.obsm[obsm_key]
        features = list(block.columns) if isinstance(block, pd.DataFrame) else [f"{obsm_key}_{i}" for i in range(block.shape[1])]
        values = check_finite(np.asarray(block, float), name=f"adata.obsm[{obsm_key!r}]")
    else:
        values = as_dense(check_layer(adata, layer))
        check_finite(values, name="adata.X" if layer is None else f"adata.layers[{layer!r}]")
        features = list(adata.var_names)
    # an infinite or missing dose would silently move every fitted ED50
    dose = check_finite(pd.to_numeric(adata.obs[dose_key], errors="coerce").to_numpy(float),
                        name=f"adata.obs[{dose_key!r}] (doses)")
    if (dose < 0).any():
        raise ValueError(f"adata.obs[{dose_key!r}] has negative doses (min {dose.min()})")
    labels = adata.obs[groupby].astype(str).to_numpy()
    is_ctrl = labels == str(control)
    if (dose[is_ctrl] != 0).any():
        raise ValueError(f"control wells ({groupby} == {control!r}) must have dose 0 in obs[{dose_key!r}]")
    present = [g for g in pd.unique(labels) if g != str(control)]
    if groups is not None:
        missing = sorted(set(map(str, groups)) - set(present))
        if missing:
            raise ValueError(f"groups {missing} not found in adata.obs[{groupby!r}]")
        present = [str(g) for g in groups]
    if not present:
        raise ValueError(f"adata.obs[{groupby!r}] has no group besides the control {control!r}")
    ctrl_idx = np.flatnonzero(is_ctrl)
    n = max(int((labels == g).sum()) for g in present) + ctrl_idx.size
    n_g, n_f = len(present), len(features)
    xs = np.zeros((n_g, n))
    ws = np.zeros((n_g, n))
    ys = np.zeros((n_g, n, n_f))
    for i, g in enumerate(present):
        idx = np.r_[np.flatnonzero(labels == g), ctrl_idx]
        xs[i, : idx.size] = dose[idx]
        ws[i, : idx.size] = 1.0
        ys[i, : idx.size] = values[idx]
    return {
        "dose": np.repeat(xs, n_f, axis=0),
        "weights": np.repeat(ws, n_f, axis=0),
        "response": ys.transpose(0, 2, 1).reshape(n_g * n_f, n),
        "group": np.repeat(present, n_f),
        "feature": np.tile(features, n_g),
        "groups": present,
        "features": features,
        "control_values": values[ctrl_idx],
    }
