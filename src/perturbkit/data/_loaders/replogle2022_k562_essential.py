"""Replogle et al. 2022 K562 CRISPRi Perturb-seq of common essential genes (scPerturb h5ad).

About 310,000 cells x 8,563 genes, one knockdown per cell (about 2,000 targets); controls
are ``"non-targeting"`` in scPerturb's processing script (mapped to ``"control"`` here).
``guide_id`` is the authors' ``sgID_AB``; ``batch`` (their ``gem_group``) -> ``replicate``.
The file is large: pass ``n_perturbations``, ``max_cells_per_perturbation`` and
``n_top_genes`` on a laptop.

Schema: see :mod:`perturbkit.data._loaders._scperturb` (shared by the scPerturb loaders).

Examples
--------
>>> import perturbkit as pk
>>> adata = pk.data.load("replogle2022_k562_essential", n_perturbations=20,  # doctest: +SKIP
...                      max_cells_per_perturbation=100, n_top_genes=300)
"""

from __future__ import annotations

from ._scperturb import scperturb_loader

FILE = "ReplogleWeissman2022_K562_essential.h5ad"
load = scperturb_loader(FILE)
