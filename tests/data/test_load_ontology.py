"""DrugCell's GO hierarchy: counts as published and the DAG property a visible network relies on."""

from __future__ import annotations

import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def ontology(mirror):
    return pk.data.load("ontology_drugcell")


def test_counts_match_provenance(ontology) -> None:
    terms, genes = ontology["terms"], ontology["genes"]
    assert len(terms) == 3167 and len(genes) == 59753
    assert len(set(terms["parent"]) | set(terms["child"])) == 2086
    assert genes["gene"].nunique() == 3008


def test_one_root_and_acyclic(ontology) -> None:
    import networkx as nx

    g = nx.DiGraph(list(ontology["terms"].itertuples(index=False, name=None)))
    assert nx.is_directed_acyclic_graph(g)
    roots = [n for n in g if g.in_degree(n) == 0]
    assert len(roots) == 1
    assert nx.descendants(g, roots[0]) | {roots[0]} == set(g)
    # every annotated term is part of the hierarchy
    assert set(ontology["genes"]["term"]) <= set(g)
