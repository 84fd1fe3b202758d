"""Seeded simulator of a pharmacogenomic panel and one tumour made of subclones with planted
drug sensitivities (for the scDrug-style subpopulation workflow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

__all__ = ["simulate_tumour_subclones"]

# programme activities of each tumour subpopulation: (resist0, resist1, cycle)
_SUBPOPULATIONS = {
    "A": (-1.0, 1.0, -0.5),  # majority clone, resting: sensitive to drug0, resistant to drug1
    "A_cycling": (-1.0, 1.0, 2.5),  # the same clone in the cell cycle
    "B": (1.5, -1.0, -0.5),  # minority clone: resistant to drug0, sensitive to drug1
}
_DRUG_PROGRAMME = {"drug0": (0, 1.0), "drug1": (1, 1.0), "drug2": (2, -1.0)}  # drug3: null


def simulate_tumour_subclones(
    *,
    n_lines: int = 300,
    n_cells: int = 800,
    n_genes: int = 120,
    n_marker: int = 10,
    minor_fraction: float = 0.15,
    cycling_fraction: float = 0.35,
    effect: float = 1.0,
    noise: float = 0.5,
    cell_noise: float = 0.8,
    seed: int = 0,
) -> dict[str, object]:
    """A cell-line screen (expression and ln IC50 of four drugs) and a tumour of subclones.

    Three latent programmes raise ``n_marker`` genes each: ``resist0`` and ``resist1``
    (resistance to ``drug0`` and ``drug1``) and ``cycle`` (proliferation). In the screen,
    every programme varies across cell lines (standard normal) and
    ``ln IC50 = 1 + effect * activity + noise`` for ``drug0`` (``resist0``) and ``drug1``
    (``resist1``), ``1 - effect * cycle + noise`` for ``drug2`` (fast-cycling lines are
    more sensitive, as for many cytotoxics), and ``1 + noise`` for ``drug3`` (null).

    The tumour (log expression on the panel's scale, noisier) holds three subpopulations
    with fixed activities ``(resist0, resist1, cycle)``: ``A`` (-1, 1, -0.5), the majority
    clone at rest; ``A_cycling`` (-1, 1, 2.5), the same clone in cycle (a
    ``cycling_fraction`` of clone A); ``B`` (1.5, -1, -0.5), a minority clone
    (``minor_fraction`` of the cells) resistant to ``drug0`` and sensitive to ``drug1``.
    A subpopulation is truly sensitive to a drug when its planted ln IC50 lies below 1,
    the panel's typical value; ``drug3`` has no sensitive subpopulation.

    Parameters
    ----------
    n_lines, n_cells
        Cell lines in the screen and tumour cells.
    n_genes, n_marker
        Genes, and genes raised by each programme (``3 * n_marker <= n_genes``).
    minor_fraction, cycling_fraction
        Share of clone B among all cells, and share of clone A's cells in cycle.
    effect, noise
        Slope of ln IC50 on a programme, and SD of the IC50 noise.
    cell_noise
        SD of the extra per-cell expression noise.
    seed
        Random seed.

    Returns
    -------
    dict
        ``"ic50"``: ln IC50, cell lines x drugs (DataFrame); ``"expression"``: log
        expression, cell lines x genes (DataFrame); ``"cells"``: AnnData of tumour cells
        (log expression in ``X``) with ``obs["clone"]`` (``"A"``/``"B"``),
        ``obs["subpopulation"]`` (``"A"``, ``"A_cycling"``, ``"B"``) and ``obs["cycling"]``
        (bool); ``cells.uns["truth"]``: ``markers`` (dict programme -> genes),
        ``ln_ic50`` and ``sensitive`` (dicts subpopulation -> drug -> value), ``minority``
        (``"B"``).

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(seed=0)
    >>> sim["ic50"].shape, sim["cells"].shape
    ((300, 4), (800, 120))
    >>> sim["cells"].uns["truth"]["sensitive"]["B"]
    {'drug0': False, 'drug1': True, 'drug2': False, 'drug3': False}
    """
    if 3 * n_marker > n_genes:
        raise ValueError(f"3 * n_marker ({3 * n_marker}) exceeds n_genes ({n_genes})")
    if not 0 < minor_fraction < 1 or not 0 <= cycling_fraction < 1:
        raise ValueError(f"minor_fraction must be in (0, 1) and cycling_fraction in [0, 1), "
                         f"got {minor_fraction} and {cycling_fraction}")
    rng = np.random.default_rng(seed)
    genes = np.array([f"g{i:03d}" for i in range(n_genes)])
    perm = rng.permutation(n_genes)
    programmes = ("resist0", "resist1", "cycle")
    marker_idx = [np.sort(perm[k * n_marker:(k + 1) * n_marker]) for k in range(3)]
    loadings = rng.normal(0, 0.6, (5, n_genes))  # shared nuisance programmes
    base = rng.normal(4, 1, n_genes)

    def express(activity: np.ndarray, extra_noise: float) -> np.ndarray:
        n = len(activity)
        x = base + rng.normal(0, 1, (n, 5)) @ loadings + rng.normal(0, 0.5, (n, n_genes))
        for k, idx in enumerate(marker_idx):
            x[:, idx] += 1.2 * activity[:, [k]]
        if extra_noise > 0:
            x = x + rng.normal(0, extra_noise, x.shape)
        return x

    drugs = ["drug0", "drug1", "drug2", "drug3"]
    line_activity = rng.normal(0, 1, (n_lines, 3))
    ic50 = 1.0 + rng.normal(0, noise, (n_lines, len(drugs)))
    for d, (k, sign) in _DRUG_PROGRAMME.items():
        ic50[:, drugs.index(d)] += sign * effect * line_activity[:, k]
    lines = pd.Index([f"line{i:03d}" for i in range(n_lines)], name="cell_line")
    expression = pd.DataFrame(express(line_activity, 0.0), index=lines, columns=genes)

    n_minor = int(round(minor_fraction * n_cells))
    n_cycling = int(round(cycling_fraction * (n_cells - n_minor)))
    labels = np.array(["A"] * (n_cells - n_minor - n_cycling) + ["A_cycling"] * n_cycling + ["B"] * n_minor)
    labels = labels[rng.permutation(n_cells)]
    cell_activity = np.array([_SUBPOPULATIONS[s] for s in labels]) + rng.normal(0, 0.3, (n_cells, 3))
    x = express(cell_activity, cell_noise)
    obs = pd.DataFrame({
        "clone": pd.Categorical(np.where(labels == "B", "B", "A")),
        "subpopulation": pd.Categorical(labels, categories=list(_SUBPOPULATIONS)),
        "cycling": labels == "A_cycling",
    }, index=[f"cell{i:04d}" for i in range(n_cells)])
    cells = AnnData(x.astype(np.float32), obs=obs, var=pd.DataFrame(index=genes))
    ln_ic50 = {s: {d: 1.0 for d in drugs} for s in _SUBPOPULATIONS}
    for s, act in _SUBPOPULATIONS.items():
        for d, (k, sign) in _DRUG_PROGRAMME.items():
            ln_ic50[s][d] = 1.0 + sign * effect * act[k]
    cells.uns["truth"] = {
        "markers": {p: genes[idx].tolist() for p, idx in zip(programmes, marker_idx, strict=True)},
        "ln_ic50": ln_ic50,
        "sensitive": {s: {d: bool(v < 1.0) for d, v in row.items()} for s, row in ln_ic50.items()},
        "minority": "B",
    }
    return {
        "ic50": pd.DataFrame(ic50, index=lines, columns=pd.Index(drugs, name="drug")),
        "expression": expression,
        "cells": cells,
    }
