"""Seeded knockout clones whose neighbourhoods vary from clone to clone: the null and the
planted effect for clone-level tests (``uns["truth"]``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from .._keys import SPATIAL_UNIT
from ._load import CONTROL

__all__ = ["simulate_clones"]

#: Non-tumour cell types around a clone and their average fractions.
CLONE_NEIGHBOURS = {"T cell": 0.25, "Macrophage": 0.25, "Fibroblast": 0.3, "Endothelial": 0.2}


def simulate_clones(
    n_clones: int = 6,
    *,
    effect: float = 0.0,
    concentration: float = 20.0,
    n_neighbours: int = 40,
    n_tumour: int = 12,
    seed: int = 0,
) -> AnnData:
    """Knockout (``"KO"``) and control (``"NT"``) clones, each with its own neighbourhood.

    ``n_clones`` clones per arm sit 200 µm apart on a grid. Each clone is ``n_tumour``
    tumour cells (carrying the clone's guide) in a disc of radius 10 µm, surrounded by
    ``n_neighbours`` non-tumour cells in a ring 12-25 µm from its centre. The ring's
    cell-type probabilities are drawn per clone from a Dirichlet with mean
    :data:`CLONE_NEIGHBOURS` and ``concentration`` (smaller: clones differ more), so cells
    around one clone are correlated, as in tissue. The knockout multiplies the mean T-cell
    fraction by ``2 ** effect`` (renormalised); ``effect=0`` is the null: both arms alike.

    Parameters
    ----------
    n_clones
        Clones per arm.
    effect
        log2 change of the T-cell fraction around knockout clones.
    concentration
        Dirichlet concentration of the per-clone compositions.
    n_neighbours, n_tumour
        Cells per clone ring and per clone.
    seed
        Seeds everything.

    Returns
    -------
    AnnData
        ``X`` (cells x 1, zeros: only positions and labels matter); ``obsm["spatial"]`` µm;
        ``obs``: ``cell_type``, ``perturbation`` (``"KO"``/``"NT"`` for tumour cells, else
        ``"control"``), ``clone`` (e.g. ``"KO_0"`` for every cell of the clone and its
        ring). ``uns["truth"]``: ``effect``, ``t_cell_fraction`` (mean fraction per arm).

    Examples
    --------
    >>> import perturbkit as pk
    >>> clones = pk.data.simulate_clones(4, effect=1.0, seed=0)
    >>> clones.obs["clone"].nunique()
    8
    """
    if n_clones < 1:
        raise ValueError(f"n_clones must be at least 1, got {n_clones}")
    if concentration <= 0:
        raise ValueError(f"concentration must be positive, got {concentration}")
    rng = np.random.default_rng(seed)
    types = list(CLONE_NEIGHBOURS)
    base = np.array(list(CLONE_NEIGHBOURS.values()))
    ko_mean = base.copy()
    ko_mean[types.index("T cell")] *= 2.0 ** effect
    ko_mean /= ko_mean.sum()
    xy, cell_type, pert, clone = [], [], [], []
    side = int(np.ceil(np.sqrt(2 * n_clones)))
    for k, (arm, mean) in enumerate([(a, m) for a, m in (("KO", ko_mean), ("NT", base)) for _ in range(n_clones)]):
        centre = 200.0 * np.array([k % side, k // side])
        label = f"{arm}_{k % n_clones}"
        r = 10 * np.sqrt(rng.uniform(size=n_tumour))
        t = rng.uniform(0, 2 * np.pi, n_tumour)
        xy.append(centre + np.column_stack([r * np.cos(t), r * np.sin(t)]))
        cell_type += ["Tumor"] * n_tumour
        pert += [arm] * n_tumour
        probs = rng.dirichlet(concentration * mean)
        r = rng.uniform(12, 25, n_neighbours)
        t = rng.uniform(0, 2 * np.pi, n_neighbours)
        xy.append(centre + np.column_stack([r * np.cos(t), r * np.sin(t)]))
        cell_type += list(rng.choice(types, size=n_neighbours, p=probs))
        pert += [CONTROL] * n_neighbours
        clone += [label] * (n_tumour + n_neighbours)
    obs = pd.DataFrame({"cell_type": pd.Categorical(cell_type, categories=["Tumor", *types]),
                        "perturbation": pd.Categorical(pert), "clone": pd.Categorical(clone)})
    obs.index = [f"cell{i}" for i in range(len(obs))]
    truth = {"effect": effect, "t_cell_fraction": {"KO": float(ko_mean[0]), "NT": float(base[0])}}
    return AnnData(X=np.zeros((len(obs), 1), dtype=np.float32), obs=obs, var=pd.DataFrame(index=["none"]),
                   obsm={"spatial": np.vstack(xy)}, uns={"truth": truth, SPATIAL_UNIT: "um"})
