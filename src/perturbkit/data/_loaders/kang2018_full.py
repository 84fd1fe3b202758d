"""Kang et al. 2018 IFN-beta vs control PBMCs, all cells: pertpy's ``kang_2018.h5ad``.

What is known about the file, and from where (the file itself has not been downloaded in
this project, so nothing below is checked against it; the reader is tolerant where the
sources leave the layout open):

- pertpy ``src/pertpy/data/_datasets.py`` (``kang_2018()``): the file is ``kang_2018.h5ad``,
  read with ``scanpy.read_h5ad`` and returned as is; served from
  ``https://exampledata.scverse.org/pertpy/kang_2018.h5ad`` (before 2025-09 from figshare
  file 34464122). No checksum is published.
- liana ``li.testing.datasets.kang_2018()`` / ``liana.datasets.kang_2018()`` (same figshare
  file): its docstring says "Raw counts for ~25k cells; ~15k genes; 16 samples; 2
  conditions"; it copies ``X`` into ``layers["counts"]`` (so ``X`` holds the counts and there
  is no ``counts`` layer), renames ``label`` -> ``condition`` and ``replicate`` -> ``patient``,
  and derives the donor from ``replicate`` with ``str.slice(8, 13)`` (i.e. values like
  ``"patient_1015"``). Its eight cell types: ``B cells``, ``CD4 T cells``, ``CD8 T cells``,
  ``NK cells``, ``CD14+ Monocytes``, ``FCGR3A+ Monocytes``, ``Dendritic cells``,
  ``Megakaryocytes``.
- liana's MOFA tutorial prints the object after those renames:
  ``AnnData 24673 x 15706``; obs ``nCount_RNA``, ``nFeature_RNA``, ``tsne1``, ``tsne2``,
  ``condition`` (= ``label``), ``cluster``, ``cell_type``, ``patient`` (= ``replicate``),
  ``nCount_SCT``, ``nFeature_SCT``, ``integrated_snn_res.0.4``, ``seurat_clusters``; var
  ``name``; obsm ``X_pca``, ``X_umap``.
- pertpy's scGen docstring and tutorials: ``obs["label"]`` is categorical with
  ``"ctrl"``/``"stim"`` over 24,673 cells, and the held-out type is ``"CD4 T cells"``;
  they log-transform ``X`` directly, consistent with raw counts in ``X``.
- Third-party analyses using ``batch_key="replicate"`` list the eight donors
  ``patient_101``, ``patient_1015``, ``patient_1016``, ``patient_1039``, ``patient_107``,
  ``patient_1244``, ``patient_1256``, ``patient_1488``.

So the reader expects: condition in ``label`` (else ``condition`` or ``stim``), values
``ctrl``/``stim`` (``control``/``stimulated`` also accepted); ``cell_type``; donor in
``replicate`` (else ``patient``, ``donor`` or ``ind``), a ``patient_`` prefix is dropped;
raw counts in ``X``, else ``layers["counts"]``, else ``raw.X``; gene symbols as
``var_names`` (else in ``var["name"]``). Whatever of this does not hold raises an error
naming the column or matrix that is missing.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._load import CONTROL

FILE = "kang_2018.h5ad"
STIMULUS = "IFN-beta"
#: Condition labels seen in the file (``ctrl``/``stim``) or written by tutorials -> schema.
CONDITION_LABELS = {"ctrl": CONTROL, "control": CONTROL, "stim": STIMULUS, "stimulated": STIMULUS}
_CONDITION_COLUMNS = ("label", "condition", "stim")
_DONOR_COLUMNS = ("replicate", "patient", "donor", "ind")


def _first(obs: pd.DataFrame, candidates: tuple[str, ...], what: str) -> str:
    for c in candidates:
        if c in obs.columns:
            return c
    raise KeyError(f"{FILE}: no {what} column; looked for {list(candidates)}, "
                   f"obs has {list(obs.columns)}")


def _is_counts(x: object, n_check: int = 200_000) -> bool:
    """Non-negative integers (checked on the first ``n_check`` stored values)."""
    data = x.data if sparse.issparse(x) else np.asarray(x).ravel()
    data = np.asarray(data[:n_check], dtype=float)
    return data.size > 0 and bool(np.all(np.isfinite(data)) and np.all(data >= 0)
                                  and np.allclose(data, np.round(data)))


def _counts(adata: AnnData) -> sparse.csr_matrix:
    candidates = [("X", adata.X)]
    if "counts" in adata.layers:
        candidates.append(('layers["counts"]', adata.layers["counts"]))
    if adata.raw is not None and adata.raw.shape == adata.shape:
        candidates.append(("raw.X", adata.raw.X))
    for _, x in candidates:
        if x is not None and _is_counts(x):
            return sparse.csr_matrix(x, dtype=np.float32)
    raise ValueError(f"{FILE}: no raw counts found; looked in {[n for n, _ in candidates]} "
                     "for non-negative integer values")


def _raw_obs(adata: AnnData) -> pd.DataFrame:
    obs = adata.obs
    cond_col = _first(obs, _CONDITION_COLUMNS, "condition (ctrl/stim)")
    donor_col = _first(obs, _DONOR_COLUMNS, "donor/replicate")
    if "cell_type" not in obs.columns:
        raise KeyError(f"{FILE}: no 'cell_type' column; obs has {list(obs.columns)}")
    cond = obs[cond_col].astype(str)
    unknown = sorted(set(cond) - set(CONDITION_LABELS) - {"nan"})
    if unknown:
        raise ValueError(f"{FILE}: obs[{cond_col!r}] has labels {unknown}; expected {sorted(CONDITION_LABELS)}")
    donor = obs[donor_col].astype(str).str.replace(r"^patient_?", "", regex=True)
    out = pd.DataFrame({
        "perturbation": cond.map(CONDITION_LABELS),
        "condition": cond.map({k: ("ctrl" if v == CONTROL else "stim") for k, v in CONDITION_LABELS.items()}),
        "cell_type": obs["cell_type"].astype(str),
        "donor": donor,
    }, index=obs.index)
    missing = out["perturbation"].isna() | obs["cell_type"].isna().to_numpy() | obs[donor_col].isna().to_numpy()
    if missing.any():
        warnings.warn(f"{FILE}: {int(missing.sum())} cells without condition, cell type or donor dropped",
                      stacklevel=4)
        out = out[~missing]
    out["sample"] = out["condition"] + out["donor"]
    return out


def _cell_counts(obs: pd.DataFrame) -> pd.DataFrame:
    tab = obs.groupby(["sample", "donor", "perturbation", "cell_type"], observed=True).size()
    tidy = tab.rename("n_cells").reset_index()
    tidy["n_cells"] = tidy["n_cells"].astype(int)
    return tidy[["sample", "donor", "perturbation", "cell_type", "n_cells"]]


def load(
    paths: dict[str, Path],
    *,
    table: str | None = None,
    max_cells_per_group: int | None = None,
    cell_types: list[str] | None = None,
    min_cells_per_gene: float = 0,
    seed: int = 0,
) -> AnnData | pd.DataFrame:
    """Read pertpy's full Kang 2018 object into the shared schema (optionally subsampled).

    Parameters
    ----------
    paths
        File name -> local path, from :func:`perturbkit.data.fetch`.
    table
        ``None`` (default): the cells as AnnData. ``"cell_counts"``: cells per sample and
        cell type of the whole file (before any subsampling) as a tidy DataFrame with
        columns ``sample``, ``donor``, ``perturbation``, ``cell_type``, ``n_cells``, as
        ``kang2018_ifnb_muscat`` gives it.
    max_cells_per_group
        Keep at most this many cells per cell type and sample (donor x condition), drawn
        at random with ``seed`` (the muscat subset kept 100). ``None``: all cells (about
        25,000; several chapter steps then take minutes).
    cell_types
        Keep only these cell types (names as in the file; a ``KeyError`` lists them).
    min_cells_per_gene
        Drop genes with a non-zero count in fewer cells (after subsampling): a number of
        cells (>= 1), or a fraction of the cells kept (between 0 and 1; muscat's subset kept
        genes seen in more than 50 of its 1,556 cells, about 0.03).
    seed
        Seed of the subsampling.

    Returns
    -------
    AnnData
        ``X`` and ``layers["counts"]``: raw UMI counts (CSR, float32). ``obs``:
        ``perturbation`` (``"control"`` / ``"IFN-beta"``), ``condition`` (``ctrl``/``stim``),
        ``cell_type``, ``donor`` (``replicate`` without its ``patient_`` prefix),
        ``replicate`` (= donor), ``sample`` (``ctrl101`` ... as in the muscat subset), all
        categorical; the file's other obs columns (``nCount_RNA`` ...) are kept.
        ``var`` is indexed by gene symbol. ``obsm["X_umap_published"]``: the file's UMAP,
        if any. ``uns["subsample"]``: the options used.

    Raises
    ------
    KeyError
        A needed obs column is missing (the message lists those present), or an unknown
        cell type was asked for.
    ValueError
        No raw counts in ``X``, ``layers["counts"]`` or ``raw``; unknown condition labels.

    Examples
    --------
    >>> import perturbkit as pk
    >>> kang = pk.data.load("kang2018_full", max_cells_per_group=50)  # doctest: +SKIP
    >>> sorted(kang.obs["perturbation"].cat.categories)  # doctest: +SKIP
    ['IFN-beta', 'control']
    """
    import anndata

    if table not in (None, "cell_counts"):
        raise ValueError(f"table must be None or 'cell_counts', got {table!r}")
    if max_cells_per_group is not None and max_cells_per_group < 1:
        raise ValueError(f"max_cells_per_group must be >= 1 or None, got {max_cells_per_group}")
    if min_cells_per_gene < 0:
        raise ValueError(f"min_cells_per_gene must be >= 0, got {min_cells_per_gene}")
    raw = anndata.read_h5ad(paths[FILE])
    obs = _raw_obs(raw)
    if table == "cell_counts":
        return _cell_counts(obs)
    if cell_types is not None:
        unknown = sorted(set(cell_types) - set(obs["cell_type"]))
        if unknown:
            raise KeyError(f"cell types {unknown} are not in {FILE}; present: {sorted(set(obs['cell_type']))}")
        obs = obs[obs["cell_type"].isin(cell_types)]
    if max_cells_per_group is not None:
        rng = np.random.default_rng(seed)
        keep = []
        for _, idx in obs.groupby(["cell_type", "sample"], observed=True).indices.items():
            keep.append(np.sort(rng.choice(idx, size=min(len(idx), max_cells_per_group), replace=False)))
        obs = obs.iloc[np.sort(np.concatenate(keep))] if keep else obs.iloc[:0]
    pos = raw.obs_names.get_indexer(obs.index)
    counts = _counts(raw)[pos]
    genes = raw.var_names.astype(str)
    if "name" in raw.var.columns and (genes.str.fullmatch(r"\d+").all() or not genes.is_unique):
        genes = pd.Index(raw.var["name"].astype(str))  # var_names are not symbols: use var["name"]
    var = pd.DataFrame(index=pd.Index(genes, name=None))
    gene_mask = np.ones(len(genes), dtype=bool)
    if min_cells_per_gene > 0:
        needed = min_cells_per_gene * counts.shape[0] if min_cells_per_gene < 1 else min_cells_per_gene
        gene_mask = np.asarray((counts > 0).sum(0)).ravel() >= needed
        counts = counts[:, gene_mask]
        var = var.iloc[gene_mask]

    extra = raw.obs.iloc[pos].drop(columns=[c for c in raw.obs.columns if c in
                                            {"perturbation", "condition", "cell_type", "donor",
                                             "replicate", "sample"}])
    out_obs = pd.concat([
        pd.DataFrame({
            "perturbation": pd.Categorical(obs["perturbation"], categories=[CONTROL, STIMULUS]),
            "condition": pd.Categorical(obs["condition"], categories=["ctrl", "stim"]),
            "cell_type": pd.Categorical(obs["cell_type"]),
            "donor": pd.Categorical(obs["donor"]),
            "replicate": pd.Categorical(obs["donor"]),
            "sample": pd.Categorical(obs["sample"]),
        }, index=obs.index),
        extra.set_axis(obs.index),
    ], axis=1)
    adata = AnnData(X=counts.copy(), obs=out_obs, var=var)
    adata.var_names_make_unique()
    adata.layers["counts"] = counts
    if "X_umap" in raw.obsm:
        adata.obsm["X_umap_published"] = np.asarray(raw.obsm["X_umap"], dtype=float)[pos]
    adata.uns["subsample"] = {"max_cells_per_group": max_cells_per_group, "seed": seed,
                              "cell_types": list(cell_types) if cell_types is not None else None,
                              "min_cells_per_gene": min_cells_per_gene, "n_cells_in_file": int(raw.n_obs)}
    return adata
