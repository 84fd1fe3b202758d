"""Papalexi et al. 2021 ECCITE-seq THP-1 CRISPR-knockout screen (sceptredata ``lowmoi_example_data``).

The R object is a list of two sparse ``dgTMatrix`` (gene x cell and gRNA x cell UMI
counts), the gRNA -> target table and the biological replicate of each cell. The reader
turns it into one AnnData, cells x genes.

Schema
------
``X`` and ``layers["counts"]``
    gene UMI counts, ``scipy.sparse.csr_matrix`` float32, 20,729 cells x 299 genes.
``obsm["guide_counts"]``
    gRNA UMI counts, ``csr_matrix`` float32, cells x 110; column names in
    ``uns["guide_names"]`` (same order).
``uns["guides"]``
    ``DataFrame`` indexed by guide id with column ``target`` (26 genes, or
    ``"non-targeting"``).
``obs["replicate"]``
    biological replicate (``rep_1``, ``rep_2``, ``rep_3``), categorical.
``obs["n_counts"]``, ``obs["n_guide_umis"]``
    gene and gRNA UMIs per cell.
``obs["target"]``, ``obs["perturbation"]``
    only with ``assign=True`` (the default): target of the cell's highest-UMI guide
    (:func:`perturbkit.tl.assign_guides`, rule ``"max"``), ``"non-targeting"`` kept in
    ``target``; ``perturbation`` is the same with non-targeting cells labelled
    :data:`perturbkit.data.CONTROL` (``"control"``). Cells without a confident guide are
    ``"unassigned"`` in both. Pass ``assign=False`` to assign guides yourself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ..._keys import GUIDE_NAMES

FILE = "lowmoi_example_data.rda"
NON_TARGETING = "non-targeting"


def _dgt_to_csr(obj: object) -> tuple[sparse.csr_matrix, list[str]]:
    """An R ``dgTMatrix`` (rows x cells) as a cells x rows CSR matrix and its row names."""
    nrow, ncol = (int(v) for v in obj.Dim)
    mat = sparse.coo_matrix(
        (np.asarray(obj.x, dtype=np.float32), (np.asarray(obj.j), np.asarray(obj.i))), shape=(ncol, nrow)
    ).tocsr()
    mat.sum_duplicates()
    return mat, [str(n) for n in obj.Dimnames[0]]


def load(paths: dict[str, Path], *, assign: bool = True) -> AnnData:
    """Read ``lowmoi_example_data.rda`` into an AnnData (schema in the module docstring).

    Parameters
    ----------
    paths
        ``{"lowmoi_example_data.rda": path}`` from :func:`perturbkit.data.fetch`.
    assign
        Add ``obs["target"]`` and ``obs["perturbation"]`` from the highest-UMI guide.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.load("papalexi2021_eccite_sceptredata")
    >>> adata.shape, adata.obsm["guide_counts"].shape
    ((20729, 299), (20729, 110))
    """
    import warnings

    import rdata

    with warnings.catch_warnings():
        # rdata has no constructor for dgTMatrix and returns its slots, which we read.
        warnings.filterwarnings("ignore", message="Missing constructor")
        obj = rdata.read_rda(str(paths[FILE]))["lowmoi_example_data"]
    counts, genes = _dgt_to_csr(obj["response_matrix"])
    guides, guide_names = _dgt_to_csr(obj["grna_matrix"])
    table = obj["grna_target_data_frame"]
    targets = pd.DataFrame(
        {"target": table["grna_target"].astype(str).to_numpy()},
        index=pd.Index(table["grna_id"].astype(str).to_numpy(), name="guide"),
    ).loc[guide_names]
    reps = obj["extra_covariates"]["bio_rep"].astype(str).to_numpy()

    obs = pd.DataFrame(
        {
            "replicate": pd.Categorical(reps),
            "n_counts": np.asarray(counts.sum(axis=1)).ravel(),
            "n_guide_umis": np.asarray(guides.sum(axis=1)).ravel(),
        },
        index=pd.Index([f"cell{i}" for i in range(counts.shape[0])], name="cell"),
    )
    adata = AnnData(X=counts.copy(), obs=obs, var=pd.DataFrame(index=pd.Index(genes, name="gene")))
    adata.layers["counts"] = counts
    adata.obsm["guide_counts"] = guides
    adata.uns[GUIDE_NAMES] = np.asarray(guide_names, dtype=object)
    adata.uns["guides"] = targets
    adata.uns["non_targeting_label"] = NON_TARGETING
    if assign:
        from ...tl._screens._guides import assign_guides

        assign_guides(adata, method="max", non_targeting=NON_TARGETING)
    return adata
