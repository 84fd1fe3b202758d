"""DrugCell's Gene Ontology hierarchy: GO terms as a DAG, each term with its annotated genes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def load(paths: dict[str, Path]) -> dict[str, pd.DataFrame]:
    """Read the DrugCell ontology as two tidy edge tables.

    Parameters
    ----------
    paths
        File name -> verified local path, from :func:`perturbkit.data.fetch`.

    Returns
    -------
    dict
        ``"terms"``: DataFrame with columns ``parent``, ``child`` (GO term -> GO sub-term,
        3,167 edges over 2,086 terms, one root); ``"genes"``: DataFrame with columns
        ``term``, ``gene`` (GO term -> directly annotated gene symbol, 59,753 edges over
        3,008 genes). A gene annotated to a term is also, by the ontology's meaning, part of
        every ancestor term; the table lists only the direct annotations as published.

    Examples
    --------
    >>> import perturbkit as pk
    >>> ont = pk.data.load("ontology_drugcell")
    >>> len(ont["terms"]), len(ont["genes"]), ont["genes"]["gene"].nunique()
    (3167, 59753, 3008)
    """
    edges = pd.read_csv(
        paths["drugcell_ont.txt"], sep="\t", header=None, names=["parent", "child", "type"], dtype=str
    )
    bad = sorted(set(edges["type"]) - {"default", "gene"})
    if bad:
        raise ValueError(f"drugcell_ont.txt: unknown edge type(s) {bad}; expected 'default' or 'gene'")
    terms = edges.loc[edges["type"] == "default", ["parent", "child"]].reset_index(drop=True)
    genes = edges.loc[edges["type"] == "gene", ["parent", "child"]].reset_index(drop=True)
    genes.columns = ["term", "gene"]
    return {"terms": terms, "genes": genes}
