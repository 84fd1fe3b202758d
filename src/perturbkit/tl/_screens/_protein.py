"""Protein readout of a knockout: the target's own surface protein in its cells (ECCITE-seq, Perturb-CITE-seq)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from ..._validate import check_adata, check_finite, check_group
from ...metrics import bh_adjust

__all__ = ["protein_knockout"]


def protein_knockout(
    adata: AnnData,
    protein_of: Mapping[str, str],
    *,
    groupby: str = "perturbation",
    control: str = "control",
    layer: str = "clr",
    quantile: float = 0.05,
) -> pd.DataFrame:
    """How much of each target's own protein is gone, and in what share of its cells.

    For every target the normalised tag level of its protein (``layers[layer]``, e.g. from
    :func:`perturbkit.pp.clr`) is compared between the target's cells and the controls: the
    difference of means, a two-sided Mann-Whitney p-value (BH-adjusted over targets), and a
    knockout share read from the protein directly: the share of the target's cells below the
    controls' ``quantile`` (protein-negative), corrected for the controls that fall there by
    construction, ``(f_t - quantile) / (1 - quantile)``, clipped to [0, 1]. Cells tied at the
    threshold (a protein with many zero counts: CLR 0) count as negative in the share that
    makes exactly ``quantile`` of the controls negative; when more than ``quantile`` of the
    controls sit at the threshold a warning names the target, since knocked-out cells are
    then indistinguishable from those controls and the share is a lower bound. Unlike Mixscape's
    RNA score it needs no DE genes: a knockout shows in its own protein even when the
    transcriptome barely moves.

    Run first: :func:`perturbkit.pp.clr` (or any normalised ``layer``).

    Parameters
    ----------
    adata
        Cells x proteins with ``layers[layer]`` and ``obs[groupby]``.
    protein_of
        Target -> the protein it encodes (a var name), e.g. ``{"CD274": "PDL1"}``.
    groupby, control
        Perturbation labels and the control label.
    layer
        Normalised tag layer.
    quantile
        Controls' quantile below which a cell counts as protein-negative (0 < q < 0.5).

    Returns
    -------
    DataFrame
        One row per target (index ``target``): ``protein``, ``n_cells``, ``mean_target``,
        ``mean_control``, ``difference`` (target minus control, negative = protein lost),
        ``protein_negative`` (share of the target's cells below the threshold),
        ``ko_fraction_protein`` (the corrected share), ``pvalue``, ``padj``. ``adata`` is not
        modified.

    Raises
    ------
    KeyError
        ``layers[layer]`` or ``obs[groupby]`` missing; a protein not in ``var_names``.
    ValueError
        No control cells; a target without cells; NaN in the layer; ``quantile`` out of range.

    References
    ----------
    Mimitou et al. 2019 :cite:`mimitou2019`; Papalexi et al. 2021 :cite:`papalexi2021`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adt = pk.data.simulate_protein_screen(n_cells=800, ko_fraction=0.7, seed=0)
    >>> pk.pp.clr(adt)
    >>> res = pk.tl.protein_knockout(adt, {"T0": "T0"})
    >>> bool(abs(res.loc["T0", "ko_fraction_protein"] - 0.7) < 0.1)
    True
    """
    check_adata(adata)
    check_group(adata, groupby, control, role="control label")
    if not 0 < quantile < 0.5:
        raise ValueError(f"quantile must be in (0, 0.5), got {quantile}")
    if layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; run pk.pp.clr(adata) first (available: {list(adata.layers)})")
    missing = [p for p in protein_of.values() if p not in adata.var_names]
    if missing:
        raise KeyError(f"proteins not in adata.var_names: {missing}")
    labels = adata.obs[groupby].astype(str).to_numpy()
    ctrl = labels == str(control)
    rows, tied = [], []
    for target, protein in protein_of.items():
        cells = labels == str(target)
        if not cells.any():
            raise ValueError(f"target {target!r} has no cells in adata.obs[{groupby!r}]")
        col = adata.var_names.get_loc(protein)
        values = check_finite(np.asarray(adata.layers[layer][:, col]).ravel(), name=f"adata.layers[{layer!r}][:, {protein!r}]")
        v_t, v_c = values[cells], values[ctrl]
        threshold = np.quantile(v_c, quantile)
        below_c, at_c = float((v_c < threshold).mean()), float((v_c == threshold).mean())
        # ties at the threshold: count the share of them that makes the controls exactly `quantile` negative
        tie_share = float(np.clip((quantile - below_c) / at_c, 0, 1)) if at_c > 0 else 0.0
        neg = float((v_t < threshold).mean() + tie_share * (v_t == threshold).mean())
        if at_c > quantile:
            tied.append(f"{target} ({protein}: {at_c:.0%} of controls at {threshold:.3g})")
        rows.append({"target": target, "protein": protein, "n_cells": int(cells.sum()),
                     "mean_target": float(v_t.mean()), "mean_control": float(v_c.mean()),
                     "difference": float(v_t.mean() - v_c.mean()), "protein_negative": neg,
                     "ko_fraction_protein": float(np.clip((neg - quantile) / (1 - quantile), 0, 1)),
                     "pvalue": float(stats.mannwhitneyu(v_t, v_c, alternative="two-sided").pvalue)})
    if tied:
        warnings.warn("protein_knockout: the control threshold is a tie for " + "; ".join(tied)
                      + "; knocked-out cells there look like controls, so ko_fraction_protein is a lower bound",
                      UserWarning, stacklevel=2)
    out = pd.DataFrame(rows).set_index("target")
    out["padj"] = bh_adjust(out["pvalue"].to_numpy())
    return out
