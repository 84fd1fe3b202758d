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
