"""Kang et al. 2018 IFN-beta vs control PBMCs, the muscat ``example_sce`` subset.

``example_sce.rda`` is an R S4 ``SingleCellExperiment``. ``rdata`` has no constructor for
S4 classes, so it hands back the raw slots as :class:`types.SimpleNamespace`; the reader
below digs the ``counts`` dgCMatrix, ``colData`` and gene names out of them.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._load import CONTROL

#: ``group_id`` in the R object -> ``obs["perturbation"]``.
PERTURBATION_LABELS = {"ctrl": CONTROL, "stim": "IFN-beta"}


def _read_rda(path: Path) -> dict[str, Any]:
    import rdata

    with warnings.catch_warnings():
        # "Missing constructor for R class ..." for every S4 class: expected, handled below
        warnings.simplefilter("ignore")
        return rdata.read_rda(str(path))


def _dgc_to_csr(m: Any) -> sparse.csr_matrix:
    """R dgCMatrix (genes x cells, CSC) -> cells x genes CSR float32."""
    n_genes, n_cells = (int(d) for d in m.Dim)
    csc = sparse.csc_matrix(
        (np.asarray(m.x, dtype=np.float32), np.asarray(m.i), np.asarray(m.p)),
        shape=(n_genes, n_cells),
    )
    return csc.T.tocsr()


def _cell_counts(path: Path) -> pd.DataFrame:
    obj = _read_rda(path)
    counts = obj["df_cellCounts"]
    info = obj["info"]
    wide = pd.DataFrame(
        np.asarray(counts),
        index=[str(s) for s in counts.coords["dim_0"].values],
        columns=[str(c) for c in counts.coords["dim_1"].values],
    )
    tidy = wide.rename_axis(index="sample", columns="cell_type").stack().rename("n_cells").reset_index()
    tidy["donor"] = tidy["sample"].map(info["ind"].astype(str))
    tidy["perturbation"] = tidy["sample"].map(info["stim"].astype(str)).map(PERTURBATION_LABELS)
    tidy["n_cells"] = tidy["n_cells"].astype(int)
    return tidy[["sample", "donor", "perturbation", "cell_type", "n_cells"]]


def load(paths: dict[str, Path], *, table: str | None = None) -> AnnData | pd.DataFrame:
    """Read the muscat subset of Kang 2018 (or the crumblr per-sample cell counts).

    Parameters
    ----------
    paths
        File name -> verified local path, from :func:`perturbkit.data.fetch`.
    table
        ``None`` (default): the single-cell data as AnnData. ``"cell_counts"``: the crumblr
        table of cells per sample and cell type for the full batch 2 (8 donors x
        control/IFN-beta x 8 cell types) as a tidy DataFrame with columns ``sample``,
        ``donor``, ``perturbation``, ``cell_type``, ``n_cells``.

    Returns
    -------
    AnnData
        1,556 cells x 1,267 genes. ``X`` and ``layers["counts"]``: raw UMI counts (CSR,
        float32). ``obs``: ``perturbation`` (``"control"`` or ``"IFN-beta"``, 6 h
        stimulation), ``condition`` (the original ``group_id``: ``ctrl``/``stim``),
        ``cell_type`` (5 types), ``donor`` (``"101"``, ``"107"``), ``replicate`` (= donor:
        the biological replicate), ``sample`` (``ctrl101`` ... ``stim107``), all
        categorical. ``var`` is indexed by gene symbol. ``obsm["X_tsne"]``: the t-SNE
        shipped with the object.

    Examples
    --------
    >>> import perturbkit as pk
    >>> kang = pk.data.load("kang2018_ifnb_muscat")
    >>> kang
    AnnData object with n_obs × n_vars = 1556 × 1267
        obs: 'perturbation', 'condition', 'cell_type', 'donor', 'replicate', 'sample'
        uns: 'dataset'
        obsm: 'X_tsne'
        layers: 'counts'
    >>> sorted(kang.obs["perturbation"].unique())
    ['IFN-beta', 'control']
    """
    if table == "cell_counts":
        return _cell_counts(paths["crumblr_IFNCellCounts.rda"])
    if table is not None:
        raise ValueError(f"table must be None or 'cell_counts', got {table!r}")

    sce = _read_rda(paths["example_sce.rda"])["example_sce"]
    assays = sce.assays.data.listData
    dgc = assays["counts"]
    counts = _dgc_to_csr(dgc)
    genes = [str(g) for g in dgc.Dimnames[0]]
    col = sce.colData
    barcodes = [str(b) for b in col.rownames]
    cd = col.listData
    condition = np.asarray(cd["sample_id"].astype(str))
    group = np.asarray(cd["group_id"].astype(str))
    donor = pd.Series(condition).str.replace(r"^(ctrl|stim)", "", regex=True).to_numpy()
    obs = pd.DataFrame(
        {
            "perturbation": pd.Categorical(
                [PERTURBATION_LABELS[g] for g in group], categories=[CONTROL, "IFN-beta"]
            ),
            "condition": pd.Categorical(group, categories=["ctrl", "stim"]),
            "cell_type": pd.Categorical(np.asarray(cd["cluster_id"].astype(str))),
            "donor": pd.Categorical(donor),
            "replicate": pd.Categorical(donor),
            "sample": pd.Categorical(condition),
        },
        index=pd.Index(barcodes, name=None),
    )
    adata = AnnData(X=counts.copy(), obs=obs, var=pd.DataFrame(index=pd.Index(genes)))
    adata.layers["counts"] = counts
    try:
        tsne = sce.int_colData.listData["reducedDims"].listData["TSNE"]
        adata.obsm["X_tsne"] = np.asarray(tsne, dtype=float)
    except (KeyError, AttributeError):  # the t-SNE is a convenience, not part of the schema
        pass
    return adata
