"""Replogle et al. 2022 K562 CRISPRi Perturb-seq of common essential genes (scPerturb h5ad).

About 310,000 cells x 8,563 genes, one knockdown per cell (about 2,000 targets); controls
are ``"non-targeting"`` in scPerturb's processing script (mapped to ``"control"`` here).
``guide_id`` is the authors' ``sgID_AB``; ``batch`` (their ``gem_group``) -> ``replicate``.
The file is large: pass ``n_perturbations``, ``max_cells_per_perturbation`` and
``n_top_genes`` on a laptop.

Schema: see :mod:`perturbkit.data._loaders._scperturb` (shared by the scPerturb loaders).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anndata import AnnData

from ._scperturb import read_scperturb

FILE = "ReplogleWeissman2022_K562_essential.h5ad"
#: How this file's labels are parsed (overridable through ``load(..., **kw)``).
DEFAULTS: dict[str, Any] = {}


def load(paths: dict[str, Path], **kw: Any) -> AnnData:
    """Read ``ReplogleWeissman2022_K562_essential.h5ad`` (counts, shared obs schema), optionally subsampled.

    Parameters
    ----------
    paths
        ``{"ReplogleWeissman2022_K562_essential.h5ad": path}`` from :func:`perturbkit.data.fetch`.
    **kw
        Passed to :func:`~perturbkit.data._loaders._scperturb.read_scperturb`:
        ``perturbations``, ``n_perturbations``, ``max_cells_per_perturbation``,
        ``max_control_cells``, ``combinations``, ``genes``, ``n_top_genes``, ``seed``, ...

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.load("replogle2022_k562_essential", n_perturbations=20,  # doctest: +SKIP
    ...                      max_cells_per_perturbation=100, n_top_genes=300)
    """
    return read_scperturb(paths[FILE], **{**DEFAULTS, **kw})
