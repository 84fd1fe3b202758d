"""Replogle et al. 2022 RPE1 CRISPRi Perturb-seq of common essential genes (scPerturb h5ad).

About 250,000 cells, one knockdown per cell; same layout as the K562 essential file
(``"non-targeting"`` controls, ``guide_id``, ``batch`` -> ``replicate``).

Schema: see :mod:`perturbkit.data._loaders._scperturb` (shared by the scPerturb loaders).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anndata import AnnData

from ._scperturb import read_scperturb

FILE = "ReplogleWeissman2022_rpe1.h5ad"
#: How this file's labels are parsed (overridable through ``load(..., **kw)``).
DEFAULTS: dict[str, Any] = {}


def load(paths: dict[str, Path], **kw: Any) -> AnnData:
    """Read ``ReplogleWeissman2022_rpe1.h5ad`` (counts, shared obs schema), optionally subsampled.

    Parameters
    ----------
    paths
        ``{"ReplogleWeissman2022_rpe1.h5ad": path}`` from :func:`perturbkit.data.fetch`.
    **kw
        Passed to :func:`~perturbkit.data._loaders._scperturb.read_scperturb`:
        ``perturbations``, ``n_perturbations``, ``max_cells_per_perturbation``,
        ``max_control_cells``, ``combinations``, ``genes``, ``n_top_genes``, ``seed``, ...

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.load("replogle2022_rpe1", n_perturbations=20,  # doctest: +SKIP
    ...                      max_cells_per_perturbation=100, n_top_genes=300)
    """
    return read_scperturb(paths[FILE], **{**DEFAULTS, **kw})
