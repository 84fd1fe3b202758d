"""Shared by the principles methods: validate a control-vs-perturbed design and iterate over
its contrasts (one per cell type and perturbation)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import check_adata, check_group, check_obs


@dataclass(frozen=True)
class Contrast:
    """One comparison: perturbed cells of ``split`` vs the control cells of ``split``."""

    split: str | None
    perturbation: str
    control_idx: np.ndarray
    perturbed_idx: np.ndarray


def contrasts(
    adata: AnnData,
    *,
    groupby: str,
    control: str,
    split_by: str | None,
    perturbations: Sequence[str] | None = None,
    min_cells: int = 2,
) -> Iterator[Contrast]:
    """Yield every (split, perturbation) contrast after checking the design.

    Raises ``KeyError`` for a missing column, ``ValueError`` when the control label is
    absent, a column has NaN, there is no perturbed group, or a ``split_by`` group lacks
    control or perturbed cells (naming the group), and when a group has fewer than
    ``min_cells`` cells.
    """
    check_adata(adata)
    keys = [groupby] + ([split_by] if split_by else [])
    check_obs(adata, *keys)
    check_group(adata, groupby, control, role="control label")
    labels = adata.obs[groupby].astype(str).to_numpy()
    present = list(pd.unique(labels))
    others = [p for p in present if p != str(control)] if perturbations is None else list(perturbations)
    if not others:
        raise ValueError(f"adata.obs[{groupby!r}] has only the control {control!r}; nothing to compare")
    for p in others:
        check_group(adata, groupby, p, role="perturbation")
    splits: list[str | None] = (
        list(pd.unique(adata.obs[split_by].astype(str))) if split_by else [None]
    )
    if split_by and isinstance(adata.obs[split_by].dtype, pd.CategoricalDtype):
        splits = [str(c) for c in adata.obs[split_by].cat.categories if str(c) in splits]
    split_vals = adata.obs[split_by].astype(str).to_numpy() if split_by else None
    for s in splits:
        in_split = np.ones(adata.n_obs, bool) if s is None else split_vals == s
        ctrl = np.flatnonzero(in_split & (labels == str(control)))
        where = "" if s is None else f" in {split_by}={s!r}"
        if len(ctrl) < min_cells:
            raise ValueError(
                f"{len(ctrl)} control ({groupby}={control!r}) cells{where}; need >= {min_cells}"
            )
        for p in others:
            pert = np.flatnonzero(in_split & (labels == p))
            if len(pert) < min_cells:
                raise ValueError(f"{len(pert)} cells of {groupby}={p!r}{where}; need >= {min_cells}")
            yield Contrast(s, p, ctrl, pert)
