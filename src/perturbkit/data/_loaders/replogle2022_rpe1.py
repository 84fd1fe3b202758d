"""Replogle et al. 2022 RPE1 CRISPRi Perturb-seq of common essential genes (scPerturb h5ad).

About 250,000 cells, one knockdown per cell; same layout as the K562 essential file
(``"non-targeting"`` controls, ``guide_id``, ``batch`` -> ``replicate``).

Schema: see :mod:`perturbkit.data._loaders._scperturb` (shared by the scPerturb loaders).

Examples
--------
>>> import perturbkit as pk
>>> adata = pk.data.load("replogle2022_rpe1", n_perturbations=20,  # doctest: +SKIP
...                      max_cells_per_perturbation=100, n_top_genes=300)
"""

from __future__ import annotations

from ._scperturb import scperturb_loader

FILE = "ReplogleWeissman2022_rpe1.h5ad"
load = scperturb_loader(FILE)
