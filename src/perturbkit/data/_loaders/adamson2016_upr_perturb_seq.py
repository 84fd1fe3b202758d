"""Adamson et al. 2016 UPR Perturb-seq, experiment GSM2406681 (scPerturb h5ad).

scPerturb's processing script copies the authors' ``guide identity`` as the label
(``"<GENE>_<plasmid>"``, e.g. ``"ATF6_pMJ144-1"``); the plasmid suffix is stripped here
(``strip``), and the label is never split (``sep=None``). If the file's control label is
none of the aliases the reader knows, the error lists the most frequent labels: pass
``control_labels=[...]``.

Schema: see :mod:`perturbkit.data._loaders._scperturb` (shared by the scPerturb loaders).

Examples
--------
>>> import perturbkit as pk
>>> adata = pk.data.load("adamson2016_upr_perturb_seq", max_cells_per_perturbation=200)  # doctest: +SKIP
"""

from __future__ import annotations

from ._scperturb import scperturb_loader

FILE = "AdamsonWeissman2016_GSM2406681_10X010.h5ad"
load = scperturb_loader(FILE, sep=None, strip=r"_p[A-Za-z]+\d[\w()\-.]*$")
