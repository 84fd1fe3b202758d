"""Seeded simulator of a tissue section: niches, a paracrine ligand, a regulatory network and
knockout clones, with everything planted written to ``uns["truth"]``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy.spatial import cKDTree

from .._keys import SPATIAL_UNIT
from ._load import CONTROL

__all__ = ["simulate_tissue"]

#: Cell types and their two marker genes.
MARKERS = {
    "Tumor": ("EPCAM", "KRT8"),
    "Fibroblast": ("COL1A1", "DCN"),
    "Endothelial": ("PECAM1", "VWF"),
    "T cell": ("CD3E", "CD8A"),
    "Macrophage": ("CD68", "LYZ"),
}

#: Niche -> cell-type probabilities (order of :data:`MARKERS`). Three bands from left to right.
NICHES = {
    "stroma": (0.05, 0.45, 0.10, 0.35, 0.05),  # fibroblasts with T cells among them
    "tumor": (0.75, 0.08, 0.05, 0.04, 0.08),
    "immune": (0.05, 0.05, 0.10, 0.15, 0.65),  # myeloid-rich
}

#: Knockout -> cell-type probabilities of the non-tumour cells inside its clone.
CLONE_EFFECTS = {
    "SOCS1": ("T cell", "T cells recruited into the clone (infiltration up)"),
    "JAK1": ("Macrophage", "macrophages recruited, T cells excluded"),
    "TGFBR2": ("Fibroblast", "fibroblast-rich (desmoplastic) niche"),
    "NT": (None, "non-targeting guide: no change"),
}

# non-tumour part of the tumour niche (Fibroblast, Endothelial, T cell, Macrophage)
_STROMAL_MIX = np.array(NICHES["tumor"][1:]) / sum(NICHES["tumor"][1:])

# GRN: three transcription factors, each with three targets (sign of the effect).
_GRN = {
    "TF1": {"TG1a": 1.0, "TG1b": 1.0, "TG1c": -1.0},
    "TF2": {"TG2a": 1.0, "TG2b": 1.0, "TG2c": -1.0},
    "TF3": {"TG3a": 1.0, "TG3b": 1.0, "TG3c": 1.0},
}


def simulate_tissue(
    n_cells: int = 1200,
    *,
    cell_spacing_um: float = 15.0,
    paracrine_sigma_um: float = 30.0,
    paracrine_effect: float = 2.0,
    juxtacrine_radius_um: float = 30.0,
    juxtacrine_effect: float = 0.6,
    grn_strength: float = 1.0,
    clone_radius_um: float = 40.0,
    n_clones_per_ko: int = 2,
    library_size: float = 200.0,
    seed: int = 0,
) -> AnnData:
    """Simulate a tissue section with planted niches, communication, regulation and clones.

    Cells are scattered uniformly over a square whose side gives ``cell_spacing_um`` per
    cell. The square is cut into three vertical **niches** (``stroma``, ``tumor``,
    ``immune``, left to right: a quarter, a half and a quarter of the width), each with its own cell-type mix (:data:`NICHES`). Counts are
    Poisson with mean ``s * rate``; each cell type expresses two markers (:data:`MARKERS`).
    What is planted:

    - **Paracrine signalling** ``CXCL12 -> CXCR4``: fibroblasts secrete CXCL12, T cells carry
      CXCR4; a T cell's ``NR4A1`` grows with the CXCL12 it receives, a Gaussian-weighted
      sum (sd ``paracrine_sigma_um``) over neighbouring fibroblasts. Signal flows from
      Fibroblast (sender) to T cell (receiver).
    - **A spatially impossible pair** ``CCL19 -> CCR7``: CCL19 is made by every cell of the
      stroma niche, CCR7 by every cell of the immune niche; the tumour band keeps them apart,
      so a cell-type-level (non-spatial) score sees Fibroblast -> T cell while no cell ever
      meets both.
    - **Juxtacrine regulation** (Celcomen's inter-cellular part): tumour cells raise
      ``CD274`` (PD-L1) with the number of T cells within ``juxtacrine_radius_um``.
    - **An intra-cellular network**: three factors ``TF1..TF3`` vary from cell to cell
      (log-normal) and drive three targets each (``uns["truth"]["grn"]``).
    - **Knockout clones** inside the tumour band: discs of radius ``clone_radius_um`` whose
      tumour cells carry a knockout (``obs["perturbation"]``; the knocked-out gene loses 90 %
      of its expression) and whose other cells follow :data:`CLONE_EFFECTS` (SOCS1: T-cell
      infiltration, JAK1: macrophages and no T cells, TGFBR2: fibroblasts, NT: none).

    Parameters
    ----------
    n_cells
        Number of cells.
    cell_spacing_um
        Mean distance between neighbouring cells (sets the section size).
    paracrine_sigma_um, paracrine_effect
        Range (Gaussian sd, µm) and strength (log fold change of NR4A1 at the median
        received signal of a T cell next to fibroblasts) of the CXCL12 -> NR4A1 dependency.
    juxtacrine_radius_um, juxtacrine_effect
        Range (µm) and log fold change per neighbouring T cell of the CD274 dependency.
    grn_strength
        Log fold change of a target per unit of log TF level.
    clone_radius_um, n_clones_per_ko
        Clone size and number per knockout (SOCS1, JAK1, TGFBR2, NT).
    library_size
        Mean counts per cell.
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X`` float32 counts, ``layers["counts"]`` int64; ``obsm["spatial"]`` (n, 2) µm;
        ``obs``: ``cell_type``, ``niche``, ``perturbation`` (knockout of a clone's tumour
        cells, else ``"control"``), ``clone`` (clone id such as ``"SOCS1_0"`` for every cell
        in the disc, else ``"none"``), ``library_size``. ``uns["truth"]``: ``niches``
        (composition table), ``lr_pairs`` (ligand, receptor, sender, receiver,
        ``colocalised``), ``paracrine`` (ligand, receptor, target, sender, receiver,
        sigma_um), ``juxtacrine`` (target, cell_type, neighbour, radius_um), ``grn`` (tf,
        target, weight), ``clones`` (clone, perturbation, x, y, radius_um, effect),
        ``received_signal`` (per-cell CXCL12 signal), ``t_neighbours``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> tissue.obsm["spatial"].shape
    (600, 2)
    >>> sorted(tissue.obs["niche"].unique())
    ['immune', 'stroma', 'tumor']
    """
    if n_cells < 100:
        raise ValueError(f"n_cells must be >= 100 to hold the niches and clones, got {n_cells}")
    rng = np.random.default_rng(seed)
    side = cell_spacing_um * np.sqrt(n_cells)
    xy = rng.uniform(0, side, size=(n_cells, 2))
    niche_names = list(NICHES)
    # stroma | tumour | immune at x < 1/4, 1/4..3/4, > 3/4 of the side
    niche = np.array(niche_names)[np.digitize(xy[:, 0] / side, [0.25, 0.75])]
    types = list(MARKERS)
    cell_type = np.array([types[rng.choice(len(types), p=NICHES[n])] for n in niche], dtype=object)

    # knockout clones: discs in the tumour band, not overlapping
    clones, clone_of = [], np.full(n_cells, "none", dtype=object)
    # centres drawn without replacement from a lattice in the tumour band, so discs never overlap
    step = 2.05 * clone_radius_um
    cx = np.arange(side / 4 + clone_radius_um, 3 * side / 4 - clone_radius_um + 1e-9, step)
    cy = np.arange(clone_radius_um, side - clone_radius_um + 1e-9, step)
    lattice = np.array([(x, y) for x in cx for y in cy])
    n_clones = len(CLONE_EFFECTS) * n_clones_per_ko
    if len(lattice) < n_clones:
        raise ValueError(
            f"{n_clones} clones of radius {clone_radius_um} µm do not fit in the tumour band of a "
            f"{side:.0f} µm section (room for {len(lattice)}); use more cells, fewer or smaller clones"
        )
    spots = iter(lattice[rng.choice(len(lattice), size=n_clones, replace=False)])
    for ko in CLONE_EFFECTS:
        for k in range(n_clones_per_ko):
            centre = next(spots)
            clones.append({"clone": f"{ko}_{k}", "perturbation": ko, "x": centre[0], "y": centre[1],
                           "radius_um": clone_radius_um, "effect": CLONE_EFFECTS[ko][1]})
            inside = np.hypot(*(xy - centre).T) <= clone_radius_um
            clone_of[inside] = f"{ko}_{k}"
            recruited = CLONE_EFFECTS[ko][0]
            for i in np.flatnonzero(inside):
                if rng.random() < 0.5:
                    cell_type[i] = "Tumor"
                elif recruited is None:  # the tumour niche's own non-tumour mix
                    cell_type[i] = types[1 + rng.choice(len(types) - 1, p=_STROMAL_MIX)]
                else:
                    cell_type[i] = recruited
    if (clone_of == "none").all():
        raise ValueError("no clone landed on a cell; increase n_cells or clone_radius_um")
    perturbation = np.where((clone_of != "none") & (cell_type == "Tumor"),
                            [c.split("_")[0] for c in clone_of], CONTROL).astype(object)

    genes: list[str] = []
    for pair in MARKERS.values():
        genes.extend(pair)
    genes += ["CXCL12", "CXCR4", "NR4A1", "CCL19", "CCR7", "CD274", "SOCS1", "JAK1", "TGFBR2"]
    for tf, targets in _GRN.items():
        genes += [tf, *targets]
    genes += [f"NOISE{i}" for i in range(4)]
    g = {name: j for j, name in enumerate(genes)}
    rate = np.full((n_cells, len(genes)), 0.05)
    for t, (m1, m2) in MARKERS.items():
        rate[cell_type == t, g[m1]] = 4.0
        rate[cell_type == t, g[m2]] = 3.0
    is_fib, is_t, is_tumour = cell_type == "Fibroblast", cell_type == "T cell", cell_type == "Tumor"
    rate[is_fib, g["CXCL12"]] = 3.0
    rate[is_t, g["CXCR4"]] = 2.5
    rate[niche == "stroma", g["CCL19"]] = 2.0
    rate[niche == "immune", g["CCR7"]] = 2.0
    for gene in ("SOCS1", "JAK1", "TGFBR2"):
        rate[is_tumour, g[gene]] = 1.5
        rate[perturbation == gene, g[gene]] *= 0.1
    rate[:, g["NOISE0"] : g["NOISE3"] + 1] = rng.gamma(2.0, 0.5, size=(n_cells, 4))

    # paracrine: Gaussian-weighted CXCL12 reaching each T cell from fibroblasts
    tree = cKDTree(xy)
    signal = np.zeros(n_cells)
    fib_idx = np.flatnonzero(is_fib)
    for i in np.flatnonzero(is_t):
        near = [j for j in tree.query_ball_point(xy[i], 3 * paracrine_sigma_um) if j != i]
        near = np.intersect1d(near, fib_idx)
        if near.size:
            d2 = ((xy[near] - xy[i]) ** 2).sum(1)
            signal[i] = np.exp(-d2 / (2 * paracrine_sigma_um**2)).sum()
    ref = np.median(signal[is_t & (signal > 0)]) if (is_t & (signal > 0)).any() else 1.0
    rate[:, g["NR4A1"]] = 0.1
    rate[is_t, g["NR4A1"]] = 0.4 * np.exp(paracrine_effect * np.minimum(signal[is_t] / ref, 3.0))

    # juxtacrine: CD274 in tumour cells with T cells next to them
    t_near = np.array([sum(is_t[j] for j in tree.query_ball_point(xy[i], juxtacrine_radius_um) if j != i)
                       for i in range(n_cells)], dtype=float)
    rate[is_tumour, g["CD274"]] = 0.3 * np.exp(juxtacrine_effect * np.minimum(t_near[is_tumour], 5))

    # intra-cellular network: log-normal TF activities drive their targets
    grn_rows = []
    for tf, targets in _GRN.items():
        log_tf = rng.normal(0.0, 0.7, size=n_cells)
        rate[:, g[tf]] = 2.0 * np.exp(log_tf)
        for target, sign in targets.items():
            rate[:, g[target]] = 1.5 * np.exp(sign * grn_strength * log_tf)
            grn_rows.append({"tf": tf, "target": target, "weight": sign * grn_strength})

    size = library_size / rate.sum(1).mean() * rng.lognormal(0, 0.2, size=n_cells)
    counts = rng.poisson(rate * size[:, None]).astype(np.int64)

    obs = pd.DataFrame(
        {
            "cell_type": pd.Categorical(cell_type, categories=types),
            "niche": pd.Categorical(niche, categories=niche_names),
            "perturbation": pd.Categorical(perturbation.astype(str)),
            "clone": pd.Categorical(clone_of.astype(str)),
            "library_size": counts.sum(1),
        },
        index=pd.Index([f"cell{i:05d}" for i in range(n_cells)], name="cell_id"),
    )
    truth = {
        "niches": pd.DataFrame(NICHES, index=types).T.rename_axis("niche").reset_index(),
        "lr_pairs": pd.DataFrame(
            [
                {"ligand": "CXCL12", "receptor": "CXCR4", "sender": "Fibroblast", "receiver": "T cell", "colocalised": True},
                {"ligand": "CCL19", "receptor": "CCR7", "sender": "stroma niche", "receiver": "immune niche", "colocalised": False},
            ]
        ),
        "paracrine": {"ligand": "CXCL12", "receptor": "CXCR4", "target": "NR4A1", "sender": "Fibroblast",
                      "receiver": "T cell", "sigma_um": paracrine_sigma_um},
        "juxtacrine": {"target": "CD274", "cell_type": "Tumor", "neighbour": "T cell", "radius_um": juxtacrine_radius_um},
        "grn": pd.DataFrame(grn_rows),
        "clones": pd.DataFrame(clones),
        "received_signal": signal,
        "t_neighbours": t_near,
    }
    return AnnData(
        X=counts.astype(np.float32),
        obs=obs,
        var=pd.DataFrame(index=pd.Index(genes, name="gene")),
        layers={"counts": counts},
        obsm={"spatial": xy},
        uns={"truth": truth, SPATIAL_UNIT: "um"},
    )
