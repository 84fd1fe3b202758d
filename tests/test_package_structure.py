"""Conventions every public perturbkit function keeps (scanpy's package-structure test, in small).

Public = exported from pk.data, pk.pp, pk.tl, pk.pl, pk.get, pk.dose or pk.book.
Each needs: a numpy-style docstring with Parameters (when it takes any), Returns and an
Examples section; type hints on every parameter and the return; and, when its first
parameter is called `adata`, that parameter annotated as AnnData.
"""

from __future__ import annotations

import inspect

import pytest

import perturbkit as pk

MODULES = {"data": pk.data, "pp": pk.pp, "tl": pk.tl, "pl": pk.pl, "get": pk.get, "dose": pk.dose, "book": pk.book}


def _public() -> list[tuple[str, object]]:
    out = []
    for modname, module in MODULES.items():
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if inspect.isfunction(obj) and obj.__module__.startswith("perturbkit"):
                out.append((f"pk.{modname}.{name}", obj))
    return out


PUBLIC = _public()


def test_there_are_public_functions() -> None:
    assert len(PUBLIC) >= 10


@pytest.mark.parametrize(("name", "func"), PUBLIC, ids=[n for n, _ in PUBLIC])
def test_docstring_has_examples_and_sections(name: str, func) -> None:
    doc = inspect.getdoc(func) or ""
    assert doc, f"{name}: no docstring"
    assert "Examples\n--------" in doc, f"{name}: docstring has no Examples section"
    params = [p for p in inspect.signature(func).parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if len(params) > 1:
        assert "Parameters\n----------" in doc, f"{name}: docstring has no Parameters section"


@pytest.mark.parametrize(("name", "func"), PUBLIC, ids=[n for n, _ in PUBLIC])
def test_type_hints(name: str, func) -> None:
    sig = inspect.signature(func)
    missing = [p.name for p in sig.parameters.values() if p.annotation is inspect.Parameter.empty]
    assert not missing, f"{name}: parameters without type hints: {missing}"
    assert sig.return_annotation is not inspect.Signature.empty, f"{name}: no return annotation"
    first = next(iter(sig.parameters.values()), None)
    if first is not None and first.name == "adata":
        assert "AnnData" in str(first.annotation), f"{name}: adata must be annotated AnnData"


# --- the conventions of issue #11, item 3 ---------------------------------------------------
# Each exception names the function, the rule it is excused from and why. Keep this short.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("pk.pp.spatial_neighbors", "key_added"): "writes squidpy's fixed graph keys (obsp['spatial_connectivities'], "
    "obsp['spatial_distances']) that squidpy and every spatial tl function read",
    ("pk.tl.nhood_enrichment", "key_added"): "the uns key is derived from cell_type_key (squidpy's "
    "'<key>_nhood_enrichment', perturbkit._keys.nhood_key) so that pl/get find it from the same argument",
    ("pk.pl.dose_curves", "pl_return"): "dose helper",
    ("pk.pl.feature_curves", "pl_return"): "dose helper",
}


def _excused(name: str, rule: str) -> bool:
    return (name, rule) in EXCEPTIONS


ADATA_FIRST = [(n, f) for n, f in PUBLIC if next(iter(inspect.signature(f).parameters), None) == "adata"]


def test_exceptions_name_existing_functions() -> None:
    names = {n for n, _ in PUBLIC}
    assert {n for n, _ in EXCEPTIONS} <= names, sorted({n for n, _ in EXCEPTIONS} - names)


@pytest.mark.parametrize(("name", "func"), PUBLIC, ids=[n for n, _ in PUBLIC])
def test_adata_comes_first(name: str, func) -> None:
    params = list(inspect.signature(func).parameters)
    assert "adata" not in params[1:], f"{name}: adata must be the first parameter"


@pytest.mark.parametrize(("name", "func"), ADATA_FIRST, ids=[n for n, _ in ADATA_FIRST])
def test_options_are_keyword_only(name: str, func) -> None:
    """After ``adata`` only required inputs (a table, a gene list) may be positional."""
    if _excused(name, "keyword_only"):
        pytest.skip(EXCEPTIONS[(name, "keyword_only")])
    positional = [p for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "adata"]
    with_default = [p.name for p in positional if p.default is not inspect.Parameter.empty]
    assert not with_default, f"{name}: options with a default must be keyword-only (after *): {with_default}"


@pytest.mark.parametrize(("name", "func"), ADATA_FIRST, ids=[n for n, _ in ADATA_FIRST])
def test_writers_have_copy_and_key_added(name: str, func) -> None:
    """A function returning ``AnnData | None`` writes to adata: ``copy=False`` and ``key_added``."""
    sig = inspect.signature(func)
    ret = str(sig.return_annotation)
    writes = "AnnData" in ret and "None" in ret
    has_copy = "copy" in sig.parameters
    if not writes and not has_copy:
        return
    assert writes and has_copy, f"{name}: copy goes with an 'AnnData | None' return ({ret!r})"
    copy = sig.parameters["copy"]
    assert copy.default is False and copy.kind is copy.KEYWORD_ONLY, f"{name}: copy must be keyword-only, False"
    if not _excused(name, "key_added"):
        assert "key_added" in sig.parameters, f"{name}: writes to adata but has no key_added"


PL = [(n, f) for n, f in PUBLIC if n.startswith("pk.pl.")]


@pytest.mark.parametrize(("name", "func"), PL, ids=[n for n, _ in PL])
def test_pl_returns_axes_or_figure(name: str, func) -> None:
    if _excused(name, "pl_return"):
        pytest.skip(EXCEPTIONS[(name, "pl_return")])
    ret = str(inspect.signature(func).return_annotation)
    assert ret in ("Axes", "Figure"), f"{name}: a pl function returns Axes or Figure, not {ret!r}"
