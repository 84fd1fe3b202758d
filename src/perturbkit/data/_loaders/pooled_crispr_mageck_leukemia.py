"""MAGeCK's demo pooled CRISPR-KO screen: HL-60 and KBM7 (Wang et al. 2014), 9,999 sgRNAs.

Returns an :class:`~anndata.AnnData` with **sgRNAs as observations and sequencing
samples as variables** (the orientation of a MAGeCK count table):

- ``X`` and ``layers["counts"]``: raw read counts (int64), sgRNA x sample.
- ``obs`` (one row per sgRNA): ``sgRNA`` id, ``gene`` (targeted gene), ``perturbation``
  (the gene, or ``"control"`` for non-targeting guides; this library has none).
- ``var`` (one row per sample): ``cell_type`` (``"HL-60"``/``"KBM7"``), ``timepoint``
  (``"initial"``/``"final"``), ``role`` (``"control"`` for initial, ``"treatment"`` for final).
- ``uns["design"]``: MAGeCK-MLE design matrix (sample x [baseline, HL60, KBM7]) as a DataFrame.
- ``uns["cnv"]``: gene copy-number table (gene x cell line; the file holds one column,
  HL-60) as a DataFrame, for copy-number-aware ranking.

``table="sample"`` returns MAGeCK demo 1 instead (999 sgRNAs, 100 genes, same columns).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

_CELL = {"HL60": "HL-60", "KBM7": "KBM7"}


def screen_from_table(
    table: pd.DataFrame, *, sgrna: str, gene: str, samples: list[str], name: str
) -> AnnData:
    """Build the sgRNA x sample AnnData from a MAGeCK-style count table, checking it."""
    from ..._validate import check_counts

    for col in (sgrna, gene, *samples):
        if col not in table.columns:
            raise KeyError(f"{name}: count table has no column {col!r}; columns: {list(table.columns)}")
    missing_gene = table[gene].isna() | (table[gene].astype(str).str.strip() == "")
    if missing_gene.any():
        first = table.loc[missing_gene, sgrna].iloc[0]
        raise ValueError(f"{name}: {int(missing_gene.sum())} sgRNA(s) have no gene, e.g. {first!r}")
    if table[sgrna].duplicated().any():
        dup = table.loc[table[sgrna].duplicated(), sgrna].iloc[0]
        raise ValueError(f"{name}: duplicated sgRNA id {dup!r}")
    counts = table[samples].to_numpy()
    check_counts(counts, name=f"{name} read counts")
    obs = pd.DataFrame(
        {"sgRNA": table[sgrna].astype(str).to_numpy(), "gene": table[gene].astype(str).to_numpy()}
    )
    control = obs["gene"].str.upper().str.contains("NON-TARGET|NONTARGET|CONTROL|^NTC")
    obs["perturbation"] = np.where(control, "control", obs["gene"])
    obs.index = obs["sgRNA"].to_numpy()
    adata = AnnData(X=counts.astype(np.int64), obs=obs, var=pd.DataFrame(index=list(samples)))
    adata.layers["counts"] = adata.X.copy()
    return adata


def load(paths: dict[str, Path], *, table: str = "leukemia") -> AnnData:
    """Read the leukemia screen (``table="leukemia"``) or MAGeCK demo 1 (``table="sample"``).

    Examples
    --------
    >>> import perturbkit as pk
    >>> screen = pk.data.load("pooled_crispr_mageck_leukemia")
    >>> screen.shape, list(screen.var_names)
    ((9999, 4), ['HL60.initial', 'KBM7.initial', 'HL60.final', 'KBM7.final'])
    """
    if table == "leukemia":
        raw = pd.read_csv(paths["leukemia.new.csv"])
    elif table == "sample":
        raw = pd.read_csv(paths["sample.txt"], sep="\t")
    else:
        raise ValueError(f"table must be 'leukemia' or 'sample', got {table!r}")
    samples = [c for c in raw.columns if c not in ("sgRNA", "Gene")]
    adata = screen_from_table(raw, sgrna="sgRNA", gene="Gene", samples=samples, name=table)
    parts = [s.split(".") for s in samples]
    adata.var["cell_type"] = [_CELL.get(p[0], p[0]) for p in parts]
    adata.var["timepoint"] = [p[1] for p in parts]
    adata.var["role"] = np.where(adata.var["timepoint"] == "initial", "control", "treatment")
    design = pd.read_csv(paths["designmat.txt"], sep=r"\s+", index_col=0)
    design.columns = ["baseline", "HL60", "KBM7"]
    adata.uns["design"] = design.loc[[s for s in samples if s in design.index]]
    cnv = pd.read_csv(paths["cnv_data.txt"], sep="\t", index_col=0)
    cnv.columns = [c.split("_")[0] for c in cnv.columns]
    cnv.index.name = "gene"
    adata.uns["cnv"] = cnv
    return adata
