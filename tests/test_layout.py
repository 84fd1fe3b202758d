"""tests/ mirrors src/perturbkit (issue #11): folders named for modules, never for chapters."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
PKG = ROOT / "src" / "perturbkit"


def _dirs(path: Path) -> set[str]:
    return {p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}


def test_top_level_folders_are_subpackages():
    subpackages = _dirs(PKG)  # data, pp, tl, pl, get, dose, metrics
    assert _dirs(TESTS) <= subpackages | {"book", "tools"}, _dirs(TESTS) - subpackages


def test_tl_folders_are_its_topics():
    topics = {d.lstrip("_") for d in (p.name for p in (PKG / "tl").iterdir() if p.is_dir()) if d.startswith("_")
              and d != "__pycache__"}
    assert _dirs(TESTS / "tl") <= topics, _dirs(TESTS / "tl") - topics


def test_basenames_unique():
    # rootdir-relative imports without __init__.py: two test_x.py would collide
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []
