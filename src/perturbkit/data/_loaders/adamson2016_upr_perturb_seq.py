"""Adamson et al. 2016 UPR Perturb-seq, experiment GSM2406681 (scPerturb h5ad).

scPerturb's processing script copies the authors' ``guide identity`` as the label
(``"<GENE>_<plasmid>"``, e.g. ``"ATF6_pMJ144-1"``); the plasmid suffix is stripped here
(``strip``), and the label is never split (``sep=None``). If the file's control label is
none of the aliases the reader knows, the error lists the most frequent labels: pass
``control_labels=[...]``.

Schema: see :mod:`perturbkit.data._loaders._scperturb` (shared by the scPerturb loaders).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anndata import AnnData

from ._scperturb import read_scperturb

FILE = "AdamsonWeissman2016_GSM2406681_10X010.h5ad"
#: How this file's labels are parsed (overridable through ``load(..., **kw)``).
DEFAULTS: dict[str, Any] = {"sep": None, "strip": r"_p[A-Za-z]+\d[\w()\-.]*$"}


def load(paths: dict[str, Path], **kw: Any) -> AnnData:
    """Read ``AdamsonWeissman2016_GSM2406681_10X010.h5ad`` (counts, shared obs schema), optionally subsampled.

    Parameters
    ----------
    paths
        ``{"AdamsonWeissman2016_GSM2406681_10X010.h5ad": path}`` from :func:`perturbkit.data.fetch`.
    **kw
        Passed to :func:`~perturbkit.data._loaders._scperturb.read_scperturb`:
        ``perturbations``, ``n_perturbations``, ``max_cells_per_perturbation``,
        ``max_control_cells``, ``combinations``, ``genes``, ``n_top_genes``, ``seed``, ...

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.load("adamson2016_upr_perturb_seq", max_cells_per_perturbation=200)  # doctest: +SKIP
    """
    return read_scperturb(paths[FILE], **{**DEFAULTS, **kw})
