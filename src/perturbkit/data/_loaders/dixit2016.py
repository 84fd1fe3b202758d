"""Dixit et al. 2016 Perturb-seq (scPerturb ``DixitRegev2016.h5ad``).

scPerturb's snakemake script concatenates the K562 transcription-factor screens (7 days,
13 days, high MOI): guides are collapsed to genes, joined by ``"_"`` when a cell has
several, and ``INTERGENIC`` guides are ``"control"``; cells without a guide (``"nan"``)
are dropped. The file has no batch column known to us, so ``replicate`` is usually absent.

Schema: see :mod:`perturbkit.data._loaders._scperturb` (shared by the scPerturb loaders).

Examples
--------
>>> import perturbkit as pk
>>> adata = pk.data.load("dixit2016", combinations="multiple")  # doctest: +SKIP
"""

from __future__ import annotations

from ._scperturb import scperturb_loader

FILE = "DixitRegev2016.h5ad"
load = scperturb_loader(FILE)
