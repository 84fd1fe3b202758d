"""HT-29 genome-wide CRISPR-KO screen (MinLibCas9 library), CRISPRcleanR's example counts.

Returns an :class:`~anndata.AnnData` with **sgRNAs as observations and samples as
variables**: ``X``/``layers["counts"]`` raw read counts (int64); ``obs``: ``sgRNA``,
``gene``, ``perturbation`` (the gene; ``"control"`` for non-targeting guides);
``var``: ``cell_type`` (``"plasmid"`` or ``"HT-29"``), ``timepoint`` (``"plasmid"`` or
``"final"``), ``role`` (``"control"`` for the plasmid library, ``"treatment"`` for the
three replicate cell pellets), ``replicate``. The 221 guides whose gene is ``NA`` in the
file are dropped (37,501 remain); ``uns["dropped_unannotated_sgRNAs"]`` holds the count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

from .pooled_crispr_mageck_leukemia import screen_from_table

_FILE = "HT29-MiniLibCas9_counts.tsv"


def load(paths: dict[str, Path]) -> AnnData:
    """Read the HT-29 count table.

    Examples
    --------
    >>> import perturbkit as pk
    >>> ht29 = pk.data.load("pooled_crispr_ht29_crisprcleanr")
    >>> ht29.shape
    (37501, 4)
    """
    raw = pd.read_csv(paths[_FILE], sep="\t", dtype={"sgRNA": str, "gene": str}, keep_default_na=False)
    # 221 guides carry the gene "NA" (no annotation in the library file): they cannot be
    # ranked per gene, so they are dropped, and counted in uns so the drop is visible
    unannotated = raw["gene"].isin(["NA", ""])
    raw = raw.loc[~unannotated].reset_index(drop=True)
    samples = [c for c in raw.columns if c not in ("sgRNA", "gene")]
    adata = screen_from_table(raw, sgrna="sgRNA", gene="gene", samples=samples, name=_FILE)
    plasmid = np.array(["library" in s.lower() for s in samples])
    adata.var["cell_type"] = np.where(plasmid, "plasmid", "HT-29")
    adata.var["timepoint"] = np.where(plasmid, "plasmid", "final")
    adata.var["role"] = np.where(plasmid, "control", "treatment")
    adata.var["replicate"] = [s.rsplit("R", 1)[-1] if not p else "0" for s, p in zip(samples, plasmid, strict=True)]
    adata.uns["dropped_unannotated_sgRNAs"] = int(unannotated.sum())
    return adata
