"""Norman et al. 2019 CRISPRa Perturb-seq in K562: single and paired gene activations (scPerturb ``NormanWeissman2019_filtered.h5ad``).

About 111,000 cells x 33,694 genes; 236 conditions besides ``"control"``, about 105
single-gene activations and 131 pairs (``"A_B"`` in the file, ``"A+B"`` here). ``obs`` has
``guide_id`` and ``gemgroup`` (-> ``replicate``). Activation raises the target's own mRNA,
so :func:`perturbkit.tl.knockdown` reports ``remaining`` above 1.

Schema: see :mod:`perturbkit.data._loaders._scperturb` (shared by the scPerturb loaders).

Examples
--------
>>> import perturbkit as pk
>>> adata = pk.data.load("norman2019", max_cells_per_perturbation=100, n_top_genes=500)  # doctest: +SKIP
>>> sorted(adata.obs["nperts"].unique())  # doctest: +SKIP
[0, 1, 2]
"""

from __future__ import annotations

from ._scperturb import scperturb_loader

FILE = "NormanWeissman2019_filtered.h5ad"
load = scperturb_loader(FILE)
