"""Dixit et al. 2016 Perturb-seq (scPerturb ``DixitRegev2016.h5ad``).

scPerturb's snakemake script concatenates the K562 transcription-factor screens (7 days,
13 days, high MOI): guides are collapsed to genes, joined by ``"_"`` when a cell has
several, and ``INTERGENIC`` guides are ``"control"``; cells without a guide (``"nan"``)
are dropped. The file has no batch column known to us, so ``replicate`` is usually absent.

Schema: see :mod:`perturbkit.data._loaders._scperturb` (shared by the scPerturb loaders).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anndata import AnnData

from ._scperturb import read_scperturb

FILE = "DixitRegev2016.h5ad"
#: How this file's labels are parsed (overridable through ``load(..., **kw)``).
DEFAULTS: dict[str, Any] = {}


def load(paths: dict[str, Path], **kw: Any) -> AnnData:
    """Read ``DixitRegev2016.h5ad`` (counts, shared obs schema), optionally subsampled.

    Parameters
    ----------
    paths
        ``{"DixitRegev2016.h5ad": path}`` from :func:`perturbkit.data.fetch`.
    **kw
        Passed to :func:`~perturbkit.data._loaders._scperturb.read_scperturb`:
        ``perturbations``, ``n_perturbations``, ``max_cells_per_perturbation``,
        ``max_control_cells``, ``combinations``, ``genes``, ``n_top_genes``, ``seed``, ...

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.load("dixit2016", combinations="multiple")  # doctest: +SKIP
    """
    return read_scperturb(paths[FILE], **{**DEFAULTS, **kw})
