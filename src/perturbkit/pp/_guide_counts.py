"""Attach a guide UMI matrix and its guide -> target table to a single-cell screen."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._keys import GUIDE_NAMES
from .._validate import check_adata, check_counts

__all__ = ["add_guide_counts"]


def add_guide_counts(
    adata: AnnData,
    counts: pd.DataFrame,
    targets: Mapping[str, str] | pd.Series | pd.DataFrame,
    *,
    key_added: str = "guide_counts",
    copy: bool = False,
) -> AnnData | None:
    """Store guide UMI counts (cells x guides) and the guide -> target table on ``adata``.

    The guide matrix of a screen usually comes from a separate library (a second
    count matrix from cellranger, a ``grna_matrix`` in R): this checks that its rows are
    the cells of ``adata`` in the same order, that the counts are integers and that every
    guide has a target, then writes it where :func:`perturbkit.tl.assign_guides` reads.

    Parameters
    ----------
    adata
        Cells x genes.
    counts
        Guide UMI counts, cells x guides, indexed by cell name (must equal
        ``adata.obs_names``; a re-ordered index is aligned, a different set is an error).
    targets
        Guide -> target gene (mapping, Series, or DataFrame with a ``target`` column);
        non-targeting guides map to a label such as ``"non-targeting"``.
    key_added
        ``obsm`` key of the matrix.
    copy
        Return a modified copy.

    Returns
    -------
    ``None`` (or the copy); writes ``obsm[key_added]`` (CSR float32, cells x guides),
    ``uns["guide_names"]`` (object array) and ``uns["guides"]`` (DataFrame with ``target``).

    Raises
    ------
    ValueError
        Cell names differ from ``adata.obs_names``; counts not integers; a guide
        without a target; a guide with an empty target name.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=50, n_genes=20, seed=0)
    >>> g = pd.DataFrame(adata.obsm["guide_counts"].toarray(), index=adata.obs_names,
    ...                  columns=adata.uns["guide_names"])
    >>> pk.pp.add_guide_counts(adata, g, adata.uns["guides"]["target"])
    >>> adata.obsm["guide_counts"].shape
    (50, 28)
    """
    check_adata(adata)
    if not isinstance(counts, pd.DataFrame):
        raise TypeError("counts must be a DataFrame (cells x guides) indexed by cell name")
    if len(counts) != adata.n_obs:
        raise ValueError(
            f"guide matrix has {len(counts)} cells (rows) but adata has {adata.n_obs}; "
            "the guide matrix must be cells x guides for the same cells"
        )
    cells = counts.index.astype(str)
    if set(cells) != set(adata.obs_names):
        missing = [c for c in adata.obs_names if c not in set(cells)][:5]
        raise ValueError(f"guide matrix cells do not match adata.obs_names; e.g. missing {missing}")
    counts = counts.set_axis(cells).loc[adata.obs_names]
    mat = sparse.csr_matrix(counts.to_numpy(dtype=np.float32))
    check_counts(mat, name="guide counts")
    if isinstance(targets, pd.DataFrame):
        if "target" not in targets.columns:
            raise ValueError("targets DataFrame needs a 'target' column")
        targets = targets["target"]
    tmap = {str(k): str(v) for k, v in dict(targets).items()}
    names = [str(c) for c in counts.columns]
    missing_t = [n for n in names if n not in tmap]
    if missing_t:
        raise ValueError(f"guides without a target: {missing_t[:10]}")
    empty = [n for n in names if not tmap[n].strip() or tmap[n] == "nan"]
    if empty:
        raise ValueError(f"guides with an empty target name: {empty[:10]}")
    out = adata.copy() if copy else adata
    out.obsm[key_added] = mat
    out.uns[GUIDE_NAMES] = np.asarray(names, dtype=object)
    out.uns["guides"] = pd.DataFrame({"target": [tmap[n] for n in names]}, index=pd.Index(names, name="guide"))
    return out if copy else None
