"""Norman et al. 2019 CRISPRa Perturb-seq in K562: single and paired gene activations (scPerturb ``NormanWeissman2019_filtered.h5ad``).

About 111,000 cells x 33,694 genes; 236 conditions besides ``"control"``, about 105
single-gene activations and 131 pairs (``"A_B"`` in the file, ``"A+B"`` here). ``obs`` has
``guide_id`` and ``gemgroup`` (-> ``replicate``). Activation raises the target's own mRNA,
so :func:`perturbkit.tl.knockdown` reports ``remaining`` above 1.

Schema: see :mod:`perturbkit.data._loaders._scperturb` (shared by the scPerturb loaders).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anndata import AnnData

from ._scperturb import read_scperturb

FILE = "NormanWeissman2019_filtered.h5ad"
#: How this file's labels are parsed (overridable through ``load(..., **kw)``).
DEFAULTS: dict[str, Any] = {}


def load(paths: dict[str, Path], **kw: Any) -> AnnData:
    """Read ``NormanWeissman2019_filtered.h5ad`` (counts, shared obs schema), optionally subsampled.

    Parameters
    ----------
    paths
        ``{"NormanWeissman2019_filtered.h5ad": path}`` from :func:`perturbkit.data.fetch`.
    **kw
        Passed to :func:`~perturbkit.data._loaders._scperturb.read_scperturb`:
        ``perturbations``, ``n_perturbations``, ``max_cells_per_perturbation``,
        ``max_control_cells``, ``combinations``, ``genes``, ``n_top_genes``, ``seed``, ...

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.load("norman2019", max_cells_per_perturbation=100, n_top_genes=500)  # doctest: +SKIP
    >>> sorted(adata.obs["nperts"].unique())  # doctest: +SKIP
    [0, 1, 2]
    """
    return read_scperturb(paths[FILE], **{**DEFAULTS, **kw})
