"""Seeded simulator of a pharmacogenomic screen (cell-line expression x IC50) plus single
cells, for scoring cells against drug-response signatures (DREEP, Beyondcell)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._simulate_dose import simulate_response_transfer

__all__ = ["simulate_drug_signatures"]


def simulate_drug_signatures(
    *,
    n_lines: int = 300,
    n_cells: int = 600,
    n_genes: int = 100,
    n_marker: int = 10,
    n_drugs: int = 4,
    effect: float = 1.0,
    noise: float = 0.5,
    missing: float = 0.0,
    shift: float = 1.0,
    dropout: float = 0.3,
    seed: int = 0,
) -> dict[str, object]:
    """Cell lines with expression and ln IC50s, and single cells of another technology.

    Built on :func:`simulate_response_transfer`: one latent resistance programme raises
    ``n_marker`` genes in cell lines and single cells alike. Here the programme also drives
    the IC50 of the first drug, ``drug0`` (``ln IC50 = 1 + effect * programme + noise``);
    the other drugs' IC50s are noise only (null drugs: no expression signature exists).
    A single cell is resistant to ``drug0`` when its programme activity is positive.

    Parameters
    ----------
    n_lines, n_cells
        Cell lines in the screen and single cells.
    n_genes, n_marker
        Genes, and genes raised by the resistance programme (the planted signature).
    n_drugs
        Drugs screened (``drug0`` driven, the rest null); at least 1.
    effect, noise
        Slope of ``drug0``'s ln IC50 on the programme, and SD of the IC50 noise.
    missing
        Fraction of IC50s set to NaN (not screened).
    shift, dropout
        Technology shift and dropout of the single cells (see
        :func:`simulate_response_transfer`).
    seed
        Random seed.

    Returns
    -------
    dict
        ``"ic50"``: ln IC50, cell lines x drugs (DataFrame, NaN where not screened);
        ``"expression"``: log expression, cell lines x genes (DataFrame);
        ``"cells"``: AnnData of single cells (log expression in ``X``) with
        ``obs["sensitive"]`` (bool, sensitive to ``drug0``), ``obs["resistant"]`` and
        ``obs["programme"]``; ``cells.uns["truth"]``: ``markers`` (resistance genes),
        ``driven_drug`` (``"drug0"``) and ``null_drugs``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_drug_signatures(seed=0)
    >>> sim["ic50"].shape, sim["expression"].shape, sim["cells"].shape
    ((300, 4), (300, 100), (600, 100))
    """
    if n_drugs < 1:
        raise ValueError(f"n_drugs must be >= 1, got {n_drugs}")
    if not 0 <= missing < 1:
        raise ValueError(f"missing must be in [0, 1), got {missing}")
    bulk, cells = simulate_response_transfer(
        n_lines=n_lines, n_cells=n_cells, n_genes=n_genes, n_marker=n_marker,
        shift=shift, dropout=dropout, seed=seed,
    )
    # a separate stream so the expression equals simulate_response_transfer(seed=seed)
    rng = np.random.default_rng([seed, 1])
    drugs = [f"drug{d}" for d in range(n_drugs)]
    lines = pd.Index([f"line{i:03d}" for i in range(n_lines)], name="cell_line")
    ic50 = 1.0 + rng.normal(0, noise, (n_lines, n_drugs))
    ic50[:, 0] += effect * bulk.obs["programme"].to_numpy()
    ic50[rng.random(ic50.shape) < missing] = np.nan
    expression = pd.DataFrame(np.asarray(bulk.X, dtype=float), index=lines, columns=bulk.var_names)
    cells.obs["sensitive"] = ~cells.obs["resistant"].to_numpy(dtype=bool)
    cells.uns["truth"] = {
        "markers": list(cells.uns["truth"]["markers"]),
        "driven_drug": drugs[0],
        "null_drugs": drugs[1:],
    }
    return {
        "ic50": pd.DataFrame(ic50, index=lines, columns=pd.Index(drugs, name="drug")),
        "expression": expression,
        "cells": cells,
    }
