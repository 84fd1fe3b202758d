"""perturbkit's import graph has no cycle (issue #11: book <-> data, _synergy <-> _synergy_curves
and get <-> tl were the three there were).

The graph is built from the source, not by importing: one node per module, one edge per
module-level ``import``/``from ... import`` of a perturbkit module (imports under ``if
TYPE_CHECKING:`` are left out; imports inside functions only in the deferred check, since
they do not run at import time). A cycle
means two modules can only be understood together and that import order decides which
half-initialised module the other sees.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "perturbkit"


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _top_level_imports(body: list[ast.stmt]):
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                yield from _top_level_imports(node.body)
                yield from _top_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            yield from _top_level_imports(node.body)
            for handler in node.handlers:
                yield from _top_level_imports(handler.body)
            yield from _top_level_imports(node.orelse)
            yield from _top_level_imports(node.finalbody)


def _targets(name: str, is_pkg: bool, node: ast.Import | ast.ImportFrom, modules: dict) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "perturbkit"]
    if node.level:
        base = name.split(".") if is_pkg else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "perturbkit":
        return []
    # `from .pkg import sub` imports the submodule `sub` when there is one
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names]


def import_graph(*, deferred: bool = False) -> dict[str, set[str]]:
    """Module -> perturbkit modules it imports at module level (``deferred=True``: also the
    imports inside functions)."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, (path, is_pkg) in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        nodes = (
            [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
            if deferred else _top_level_imports(tree.body)
        )
        for node in nodes:
            graph[name].update(t for t in _targets(name, is_pkg, node, modules) if t in modules and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of nodes (first == last), or None (iterative DFS, three colours)."""
    state: dict[str, int] = {}
    for root in sorted(graph):
        if root in state:
            continue
        stack = [(root, iter(sorted(graph[root])))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return None


def subpackage_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Collapse modules to perturbkit's subpackages (data, tl, get, book, _keys, ...); the
    root package, which imports every subpackage, is left out."""
    out: dict[str, set[str]] = {}
    for src, targets in graph.items():
        a = src.split(".")
        if len(a) < 2:
            continue
        for t in targets:
            b = t.split(".")
            if len(b) >= 2 and a[1] != b[1]:
                out.setdefault(a[1], set()).add(b[1])
        out.setdefault(a[1], set())
    return out


def test_graph_sees_the_package():
    graph = import_graph()
    assert len(graph) > 100, len(graph)
    # known edges: a relative submodule import, a parent-package import and `from . import x`
    assert "perturbkit.dose._models" in graph["perturbkit.tl._dose._dose_response"]
    assert "perturbkit.get._dose_curves" in graph["perturbkit.tl._dose._dose_response"]
    assert "perturbkit.tl" in graph["perturbkit"]


def test_no_module_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_module_cycle_hidden_in_function_imports():
    # an import moved into a function hides a cycle from Python but not from the reader
    # (tl/_dose/_synergy <-> _synergy_curves was one)
    cycle = find_cycle(import_graph(deferred=True))
    assert cycle is None, "import cycle through a deferred import: " + " -> ".join(cycle)


def test_no_subpackage_import_cycle():
    cycle = find_cycle(subpackage_graph(import_graph()))
    assert cycle is None, "subpackage import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"a"}}, ["a", "a"]),
        ({"x": {"y"}, "y": set(), "a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
    ],
)
def test_find_cycle_detects_planted_cycles(graph, expected):
    assert find_cycle(graph) == expected
