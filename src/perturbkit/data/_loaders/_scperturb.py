"""Shared reader for scPerturb's harmonised single-cell perturbation files (``*.h5ad``).

scPerturb (Peidli et al., Nat Methods 21:531-540, 2024; Zenodo records 7041849 and
10044268, the latter holding the files our manifests pin) re-annotates public screens
with one set of ``obs`` columns. What this reader relies on, and where it comes from
(nothing below was checked against a downloaded file here; the manifests are
``verified: false``):

``obs["perturbation"]``
    What was done to the cell. Controls are ``"control"``; combinations join gene symbols
    with ``"_"`` (Norman 2019: ``"KLF1"``, ``"CEBPE_RUNX1T1"``, 237 labels incl.
    ``"control"``, 11,855 control cells among 111,445). Source: the executed output of
    ``notebooks/neurips2024/data_curation/curate_Norman19.ipynb`` in altoslabs/perturbench
    @ 4dd6a03c (it reads ``NormanWeissman2019_filtered.h5ad`` from Zenodo 7041849), and
    scPerturb's ``DixitRegev2016.py`` snakemake script (sanderlab/scPerturb @ c98c9c47),
    which builds the Dixit labels the same way (guides collapsed to genes, joined by
    ``"_"``, ``INTERGENIC`` -> ``"control"``). Older processing kept other control names:
    scPerturb's ``ReplogleWeissman2022.py`` (@ aba373fa) copies the authors' ``gene``
    column, whose controls are ``"non-targeting"``, and ``AdamsonWeissman2016.py``
    (@ 4c8dab4c) copies the raw ``guide identity`` (``"<GENE>_<plasmid>"``). The reader
    therefore maps every alias in :data:`CONTROL_ALIASES` (and labels starting with
    ``NegCtrl`` or containing ``INTERGENIC``) to ``"control"``, and a loader can strip a
    guide suffix (``strip=``) or name its own control labels (``control_labels=``).
``obs["nperts"]``
    Number of perturbed genes (0 for controls). Not needed: the reader recounts it from
    the parsed label.
``obs["guide_id"]``, ``obs["perturbation_type"]``, ``obs["celltype"]``, ``obs["cell_line"]``,
``obs["ncounts"]``, ``obs["ngenes"]``, ``obs["percent_mito"]``
    Guide identity, ``"CRISPR"`` (or ``"CRISPRa"``...), cell type / line and QC totals over
    all genes. Replogle's ``gem_group`` is renamed ``batch``; Norman keeps ``gemgroup``.
``X``
    Raw UMI counts (scPerturb's paper; Replogle's file is the authors'
    ``*_raw_singlecell_01.h5ad`` renamed). One third-party note claims Norman's ``X`` is
    log-normalised; the reader therefore checks: non-integer ``X`` is used only when a
    ``layers["counts"]`` exists, otherwise it raises.
``var_names``
    Gene symbols (``var.index.name == "gene_symbol"``), Ensembl ids in ``var`` (Norman:
    ``ensemble_id`` [sic], Adamson/Replogle: ``ensembl_id``), ``ncounts``, ``ncells``.

Output schema (shared by the five scPerturb loaders)
-------------------------------------------------
``X`` and ``layers["counts"]``
    Raw counts, ``csr_matrix`` float32, kept cells x kept genes.
``obs["perturbation"]``
    ``"control"`` (:data:`perturbkit.data.CONTROL`), a gene symbol, or a combination
    ``"A+B"`` (genes sorted, so ``A_B`` and ``B_A`` are one condition); with
    ``combinations="multiple"`` combinations are ``"multiple"`` (the label the guide
    assignment gives cells with several targets). Categorical.
``obs["target"]``
    Same, with controls ``"non-targeting"`` (``uns["non_targeting_label"]``) and
    combinations always ``"A+B"``.
``obs["nperts"]``
    Number of perturbed genes (int).
``obs["replicate"]``, ``obs["cell_type"]``, ``obs["guide"]``
    From the file's first present column of :data:`BATCH_COLUMNS`,
    :data:`CELL_TYPE_COLUMNS` and ``guide_id``; absent when the file has none.
``obs["n_counts"]``
    Counts over the kept genes; ``obs["ncounts_file"]``: the file's ``ncounts`` (all genes).
``uns["scperturb"]``
    File name, cells and genes in the file, the labels found, and the subsampling used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._load import CONTROL

NON_TARGETING = "non-targeting"

#: Perturbation labels (lower case) read as unperturbed controls.
CONTROL_ALIASES = frozenset(
    {"control", "ctrl", "non-targeting", "non_targeting", "nontargeting", "negctrl", "ntc", "nt", "intergenic"}
)
#: Labels (lower case) meaning "no guide identified".
UNASSIGNED_ALIASES = frozenset({"", "nan", "none", "na", "*", "unassigned"})
#: Columns read as ``obs["replicate"]``, first present wins.
BATCH_COLUMNS = ("replicate", "batch", "gemgroup", "gem_group")
#: Columns read as ``obs["cell_type"]``, first present wins.
CELL_TYPE_COLUMNS = ("celltype", "cell_type", "cell_line")
_ENSEMBL_COLUMNS = ("ensembl_id", "ensemble_id", "gene_id")
_CHUNK = 5000


def _is_control(part: str, extra: frozenset[str]) -> bool:
    low = part.strip().lower()
    return low in CONTROL_ALIASES or low in extra or low.startswith("negctrl") or "intergenic" in low


def parse_perturbation(
    label: object,
    *,
    sep: str | None = "_",
    strip: str | None = None,
    control_labels: Sequence[str] = (),
) -> tuple[str, ...] | None:
    """Genes perturbed in a cell from its scPerturb label.

    Returns ``None`` for a cell without a guide (NaN, ``""``, ``"None"``...), ``()`` for a
    control, else the sorted, de-duplicated gene symbols. Control parts inside a
    combination (``"KLF1_control"``) are dropped, so such a cell is a single.

    Parameters
    ----------
    label
        The ``obs["perturbation"]`` value.
    sep
        Separator of combined genes (``None``: never split).
    strip
        Regular expression removed from each part (e.g. a guide or plasmid suffix).
    control_labels
        Extra labels (any case) meaning control.
    """
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return None
    text = str(label).strip()
    if text.lower() in UNASSIGNED_ALIASES:
        return None
    extra = frozenset(c.lower() for c in control_labels)
    parts = text.split(sep) if sep else [text]
    genes = []
    for part in parts:
        part = re.sub(strip, "", part).strip() if strip else part.strip()
        if not part or _is_control(part, extra):
            continue
        genes.append(part)
    return tuple(sorted(set(genes)))


def _first(columns: Sequence[str], present: pd.Index) -> str | None:
    return next((c for c in columns if c in present), None)


def _open_matrix(f: Any, layer: str | None) -> tuple[Any, str]:
    import anndata as ad

    key = "X" if layer is None else f"layers/{layer}"
    if key not in f:
        raise KeyError(f"the file has no {key!r}; layers present: {list(f['layers']) if 'layers' in f else []}")
    elem = f[key]
    return (ad.io.sparse_dataset(elem) if hasattr(elem, "keys") else elem), key


def _read_rows(mat: Any, rows: np.ndarray, cols: np.ndarray | None) -> sparse.csr_matrix:
    """Rows (sorted) of a backed matrix, in chunks, optionally keeping only ``cols``."""
    blocks = []
    for start in range(0, rows.size, _CHUNK):
        block = mat[rows[start:start + _CHUNK]]
        block = sparse.csr_matrix(block, dtype=np.float32)
        blocks.append(block[:, cols] if cols is not None else block)
    if not blocks:
        return sparse.csr_matrix((0, mat.shape[1] if cols is None else cols.size), dtype=np.float32)
    return sparse.vstack(blocks, format="csr")


def _is_integer(x: sparse.csr_matrix) -> bool:
    d = x.data
    return bool(d.size == 0 or (np.all(d >= 0) and np.allclose(d, np.round(d))))


def _top_genes(x: sparse.csr_matrix, n: int) -> np.ndarray:
    """Indices of the ``n`` genes with the largest variance of log1p(counts per 10k)."""
    lib = np.asarray(x.sum(axis=1)).ravel()
    scale = sparse.diags(1e4 / np.maximum(lib, 1))
    y = (scale @ x).tocsr()
    y.data = np.log1p(y.data)
    mean = np.asarray(y.mean(axis=0)).ravel()
    sq = np.asarray(y.multiply(y).mean(axis=0)).ravel()
    var = sq - mean**2
    return np.sort(np.argsort(-var, kind="stable")[:n])


def read_scperturb(
    path: Path,
    *,
    groupby: str = "perturbation",
    sep: str | None = "_",
    strip: str | None = None,
    control_labels: Sequence[str] = (),
    perturbations: Sequence[str] | None = None,
    n_perturbations: int | None = None,
    min_cells_per_perturbation: int = 1,
    max_cells_per_perturbation: int | None = None,
    max_control_cells: int | None = None,
    combinations: Literal["keep", "multiple", "drop"] = "keep",
    genes: Sequence[str] | None = None,
    n_top_genes: int | None = None,
    layer: str | None = None,
    seed: int = 0,
) -> AnnData:
    """Read an scPerturb h5ad into the shared schema, subsampling cells and genes on the way.

    Only ``obs`` and ``var`` are read whole; the count matrix is opened backed and only
    the kept cells are read, in chunks of 5,000 rows. Subsampling is seeded: the same
    arguments give the same cells and genes.

    Parameters
    ----------
    path
        The ``.h5ad`` file.
    groupby
        ``obs`` column with the scPerturb perturbation label.
    sep, strip, control_labels
        How labels are parsed (:func:`parse_perturbation`).
    perturbations
        Keep only these conditions (output spelling: ``"KLF1"``, ``"CEBPE+RUNX1T1"``);
        controls are always kept.
    n_perturbations
        Keep a seeded random subset of this many single-gene perturbations (plus the
        combinations of two kept singles, and the controls).
    min_cells_per_perturbation
        Drop conditions with fewer cells (before the cap below).
    max_cells_per_perturbation
        At most this many cells per condition, drawn at random.
    max_control_cells
        At most this many control cells (default: ``max_cells_per_perturbation``).
    combinations
        ``"keep"`` (``"A+B"``), ``"multiple"`` (label them ``"multiple"``) or ``"drop"``.
    genes
        Genes always kept (if measured). With neither ``genes`` nor ``n_top_genes``, all.
    n_top_genes
        Also keep the genes of highest variance of log1p(counts per 10k) among the kept
        cells (estimated on up to 5,000 of them); the perturbed genes are always added.
    layer
        Read counts from ``layers[layer]`` instead of ``X``. With ``None``, ``X`` is used if
        it holds integers, else ``layers["counts"]`` if present.
    seed
        Seed of every random choice.

    Returns
    -------
    AnnData
        Schema in the module docstring.

    Raises
    ------
    KeyError
        ``obs`` lacks ``groupby`` (the message lists the columns present), or a
        requested layer is missing.
    ValueError
        No control cells (the message lists the most frequent labels), unknown
        ``perturbations``, no cells left, or counts that are not integers.
    """
    import anndata as ad
    import h5py

    rng = np.random.default_rng(seed)
    path = Path(path)
    with h5py.File(path, "r") as f:
        obs = ad.io.read_elem(f["obs"])
        var = ad.io.read_elem(f["var"])
        if groupby not in obs.columns:
            raise KeyError(
                f"{path.name}: obs has no column {groupby!r} (the scPerturb perturbation "
                f"label); columns present: {list(obs.columns)}"
            )
        raw = obs[groupby].astype(object)
        uniq = pd.unique(raw.astype(str))
        parsed = {u: parse_perturbation(u, sep=sep, strip=strip, control_labels=control_labels) for u in uniq}
        genes_of = raw.astype(str).map(parsed)
        assigned = genes_of.notna().to_numpy() & raw.notna().to_numpy()
        condition = pd.Series(
            [None if g is None or not ok else (CONTROL if len(g) == 0 else "+".join(g))
             for g, ok in zip(genes_of, assigned, strict=True)],
            index=obs.index, dtype=object,
        )
        n_control = int((condition == CONTROL).sum())
        if n_control == 0:
            top = raw.astype(str).value_counts().head(8).to_dict()
            raise ValueError(
                f"{path.name}: no control cells found in obs[{groupby!r}] (controls are "
                f"{sorted(CONTROL_ALIASES)}, NegCtrl*, *INTERGENIC*); most frequent labels: {top}. "
                "Pass control_labels=[...] to name them."
            )
        nperts = condition.map(lambda c: 0 if c in (None, CONTROL) else c.count("+") + 1)
        keep = condition.notna().to_numpy()
        if combinations == "drop":
            keep &= (nperts <= 1).to_numpy()
        elif combinations not in ("keep", "multiple"):
            raise ValueError(f"combinations must be 'keep', 'multiple' or 'drop', got {combinations!r}")
        counts = condition[keep].value_counts()
        present = set(counts.index[counts >= min_cells_per_perturbation]) | {CONTROL}
        if perturbations is not None:
            unknown = sorted(set(perturbations) - set(counts.index))
            if unknown:
                raise ValueError(
                    f"{path.name}: perturbations {unknown[:10]} not in the data; e.g. present: "
                    f"{sorted(counts.index)[:10]}"
                )
            present &= set(perturbations) | {CONTROL}
        if n_perturbations is not None:
            singles = sorted(c for c in present if c != CONTROL and "+" not in c)
            chosen = set(rng.choice(singles, size=min(n_perturbations, len(singles)), replace=False))
            present = {c for c in present if c == CONTROL or all(g in chosen for g in c.split("+"))}
        keep &= condition.isin(present).to_numpy()
        rows = []
        for c in sorted(present):
            idx = np.flatnonzero(keep & (condition == c).to_numpy())
            cap = (max_control_cells or max_cells_per_perturbation) if c == CONTROL else max_cells_per_perturbation
            if cap is not None and idx.size > cap:
                idx = np.sort(rng.choice(idx, size=cap, replace=False))
            rows.append(idx)
        rows = np.sort(np.concatenate(rows)) if rows else np.array([], dtype=int)
        if rows.size == 0:
            raise ValueError(f"{path.name}: no cells left after subsampling")

        if layer is None:
            mat, key = _open_matrix(f, None)
            probe = _read_rows(mat, rows[: min(rows.size, 500)], None)
            if not _is_integer(probe):
                if "layers" in f and "counts" in f["layers"]:
                    mat, key = _open_matrix(f, "counts")
                else:
                    raise ValueError(
                        f"{path.name}: X is not raw counts (non-integer values) and there is no "
                        "layers['counts']; pass layer=<name of the counts layer>"
                    )
        else:
            mat, key = _open_matrix(f, layer)

        symbols = pd.Index(var.index.astype(str))
        wanted = set(genes or [])
        targeted = {g for c in present if c != CONTROL for g in c.split("+")}
        cols: np.ndarray | None = None
        if genes is not None or n_top_genes is not None:
            sel = set(np.flatnonzero(symbols.isin(sorted(wanted | targeted))).tolist())
            if n_top_genes:
                sample = rows if rows.size <= _CHUNK else np.sort(rng.choice(rows, size=_CHUNK, replace=False))
                sel |= set(_top_genes(_read_rows(mat, sample, None), n_top_genes).tolist())
            cols = np.array(sorted(sel), dtype=int)
        x = _read_rows(mat, rows, cols)
        if not _is_integer(x):
            raise ValueError(f"{path.name}: {key} holds non-integer or negative values; raw counts are needed")
        n_cells_file, n_genes_file = int(mat.shape[0]), int(mat.shape[1])

    sub_obs = obs.iloc[rows]
    cond = condition.iloc[rows].astype(str)
    target = cond.replace({CONTROL: NON_TARGETING})
    label = cond.where(~((nperts.iloc[rows] > 1) & (combinations == "multiple")), "multiple")
    out = pd.DataFrame(
        {"perturbation": pd.Categorical(label.to_numpy()), "target": pd.Categorical(target.to_numpy()),
         "nperts": nperts.iloc[rows].to_numpy().astype(int)},
        index=pd.Index(sub_obs.index.astype(str), name="cell"),
    )
    batch = _first(BATCH_COLUMNS, sub_obs.columns)
    if batch is not None:
        out["replicate"] = pd.Categorical(sub_obs[batch].astype(str).to_numpy())
    cell_type = _first(CELL_TYPE_COLUMNS, sub_obs.columns)
    if cell_type is not None:
        out["cell_type"] = pd.Categorical(sub_obs[cell_type].astype(str).to_numpy())
    if "guide_id" in sub_obs.columns:
        out["guide"] = pd.Categorical(sub_obs["guide_id"].astype(str).to_numpy())
    out["n_counts"] = np.asarray(x.sum(axis=1)).ravel()
    if "ncounts" in sub_obs.columns:
        out["ncounts_file"] = sub_obs["ncounts"].to_numpy(dtype=float)
    kept = symbols if cols is None else symbols[cols]
    var_out = pd.DataFrame(index=pd.Index(kept, name="gene"))
    ens = _first(_ENSEMBL_COLUMNS, var.columns)
    if ens is not None:
        var_out["ensembl_id"] = (var[ens].astype(str).to_numpy() if cols is None else var[ens].astype(str).to_numpy()[cols])
    adata = AnnData(X=x.copy(), obs=out, var=var_out)
    adata.obs_names_make_unique()
    adata.var_names_make_unique()
    adata.layers["counts"] = x
    adata.uns["non_targeting_label"] = NON_TARGETING
    adata.uns["scperturb"] = {
        "file": path.name, "matrix": key, "n_cells_file": n_cells_file, "n_genes_file": n_genes_file,
        "n_conditions_file": int(counts.size), "n_unassigned_file": int((~assigned).sum()),
        "params": {"max_cells_per_perturbation": max_cells_per_perturbation, "max_control_cells": max_control_cells,
                   "n_perturbations": n_perturbations, "n_top_genes": n_top_genes,
                   "combinations": combinations, "seed": seed},
    }
    return adata


def scperturb_loader(file: str, **defaults: Any) -> Callable[..., AnnData]:
    """The ``load(paths, **kw)`` of one scPerturb file: :func:`read_scperturb` with ``defaults``.

    Each scPerturb dataset module is its file name, how its labels parse (``defaults``,
    overridable per call) and a docstring; the reading itself is shared.
    """

    def load(paths: dict[str, Path], **kw: Any) -> AnnData:
        return read_scperturb(paths[file], **{**defaults, **kw})

    load.__doc__ = (
        f"Read ``{file}`` (counts, shared obs schema), optionally subsampled.\n\n"
        "    Parameters\n    ----------\n    paths\n"
        f"        ``{{{file!r}: path}}`` from :func:`perturbkit.data.fetch`.\n"
        "    **kw\n        Passed to :func:`read_scperturb` (``perturbations``, ``n_perturbations``,\n"
        "        ``max_cells_per_perturbation``, ``max_control_cells``, ``combinations``, ``genes``,\n"
        f"        ``n_top_genes``, ``seed``, ...); defaults for this file: {defaults or 'none'}.\n"
    )
    return load
