"""A CRISPR screen with a surface-protein (antibody-derived tag) readout, with planted truth.

The mirrored Papalexi copy has no ADT counts, so this simulator stands in for the protein
layer of ECCITE-seq and Perturb-CITE-seq: tag counts that scale with a per-cell staining and
capture efficiency, an ambient background per antibody, and knockouts that remove their
target's protein from the cells where the edit worked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ._load import CONTROL


def simulate_protein_screen(
    n_cells: int = 1500,
    *,
    n_targets: int = 3,
    n_other_proteins: int = 9,
    ko_fraction: float | list[float] = 0.7,
    residual: float = 0.05,
    low_capture_target: bool = True,
    background: float = 3.0,
    seed: int = 0,
) -> AnnData:
    """Simulate antibody-derived tag (ADT) counts of a knockout screen (ECCITE-seq style).

    Targets ``T0``, ``T1``, ... each have a surface protein of the same name on the panel,
    next to ``n_other_proteins`` untargeted proteins (``P0``, ...). A cell's tag count for
    protein *p* is negative binomial with mean ``efficiency x abundance_p x effect`` plus
    Poisson ambient background (mean ``background``, free antibody in the droplet).
    Targeted proteins are abundant (mean about 200 tags), the others log-normal around 60.
    ``efficiency`` (log-normal, sd 0.5) is the cell's staining and capture: it moves every
    tag of the cell together. A cell of target *t* is a knockout with probability
    ``ko_fraction[t]`` and then keeps ``residual`` of its protein *t*; escapes keep all of
    it. With ``low_capture_target``, one more target ``LOWCAP`` changes no protein but its
    cells have half the efficiency (smaller cells, worse staining): a confounder that raw
    counts read as "every protein down".

    Parameters
    ----------
    n_cells
        Cells, a fifth of them controls.
    n_targets, n_other_proteins
        Targeted proteins and untargeted ones on the panel.
    ko_fraction
        Share of a target's cells that are knockouts (one value or one per target).
    residual
        Protein left in a knockout cell (0.05 = 95 % loss).
    low_capture_target
        Add the ``LOWCAP`` target (half efficiency, no protein change).
    background
        Mean ambient tag counts per antibody and cell.
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X``: tag counts (cells x proteins, float32; no RNA). ``obs["perturbation"]``
        (``control`` for controls). ``uns["truth"]``: ``"cells"`` (per cell ``knockout``
        bool and ``efficiency``), ``"ko_fraction"`` (Series per target, LOWCAP 0),
        ``"protein_of"`` (dict target -> protein).

    Examples
    --------
    >>> import perturbkit as pk
    >>> adt = pk.data.simulate_protein_screen(n_cells=300, seed=0)
    >>> adt.shape, sorted(adt.obs["perturbation"].unique())[:2]
    ((300, 12), ['LOWCAP', 'T0'])
    """
    if n_cells < 50:
        raise ValueError(f"n_cells must be at least 50, got {n_cells}")
    if not 0 <= residual <= 1:
        raise ValueError(f"residual must lie in [0, 1], got {residual}")
    rng = np.random.default_rng(seed)
    targets = [f"T{i}" for i in range(n_targets)]
    kof = np.broadcast_to(np.asarray(ko_fraction, dtype=float), (n_targets,)).copy()
    if np.any((kof < 0) | (kof > 1)):
        raise ValueError("ko_fraction must lie in [0, 1]")
    proteins = targets + [f"P{i}" for i in range(n_other_proteins)]
    groups = [CONTROL] + targets + (["LOWCAP"] if low_capture_target else [])
    weights = np.r_[0.2, np.full(len(groups) - 1, 0.8 / (len(groups) - 1))]
    label = rng.choice(groups, size=n_cells, p=weights)
    efficiency = rng.lognormal(0, 0.5, n_cells) * np.where(label == "LOWCAP", 0.5, 1.0)
    abundance = rng.lognormal(np.log(60), 0.8, len(proteins))
    # targeted proteins well above background (as PD-L1 after IFN-gamma): a knockout is visible
    abundance[:n_targets] = rng.lognormal(np.log(200), 0.3, n_targets)
    effect = np.ones((n_cells, len(proteins)))
    knockout = np.zeros(n_cells, dtype=bool)
    for i, t in enumerate(targets):
        cells = np.flatnonzero(label == t)
        ko = cells[rng.random(cells.size) < kof[i]]
        effect[ko, i] = residual
        knockout[ko] = True
    mu = efficiency[:, None] * abundance[None, :] * effect
    size = 10.0
    counts = rng.negative_binomial(size, size / (size + mu)) + rng.poisson(background, mu.shape)
    obs = pd.DataFrame({"perturbation": pd.Categorical(label)},
                       index=pd.Index([f"cell{i}" for i in range(n_cells)], name="cell"))
    adata = AnnData(X=counts.astype(np.float32), obs=obs, var=pd.DataFrame(index=pd.Index(proteins, name="protein")))
    truth_kof = pd.Series(kof, index=targets, name="ko_fraction")
    if low_capture_target:
        truth_kof["LOWCAP"] = 0.0
    adata.uns["truth"] = {"cells": pd.DataFrame({"knockout": knockout, "efficiency": efficiency}, index=obs.index),
                          "ko_fraction": truth_kof, "protein_of": {t: t for t in targets}}
    return adata
