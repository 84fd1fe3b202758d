"""One vocabulary (issue #11, CONTRIBUTING "Names"): the retired argument names and result
stores do not come back into the library or the book.

The only text exempt is where the course quotes *another* package's own API (the `call:` of a
`book/course.yaml` entry naming its `package:`), e.g. cpa-tools' ``setup_anndata(perturbation_key=)``:
changing those would teach a call that does not exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RETIRED = re.compile(r"\bperturbation_key\b|\bcondition_key\b|\.attrs\[")


def _external_calls(node) -> list[str]:
    """Every `call:` text of a course entry that names the package it comes from."""
    out = []
    if isinstance(node, dict):
        if "package" in node and isinstance(node.get("call"), str):
            out.append(node["call"])
        for value in node.values():
            out += _external_calls(value)
    elif isinstance(node, list):
        for value in node:
            out += _external_calls(value)
    return out


def _hits(text: str, where: str, exempt: frozenset[str] = frozenset()) -> list[str]:
    return [f"{where}:{i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1)
            if RETIRED.search(line) and line.strip() not in exempt]


def test_retired_names_absent_from_src_and_book():
    hits = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        hits += _hits(path.read_text(), str(path.relative_to(ROOT)))
    for path in sorted((ROOT / "book").glob("*")):
        if path.suffix not in (".md", ".yaml", ".yml", ".py", ".bib") or not path.is_file():
            continue
        text = path.read_text()
        exempt = frozenset()
        if path.name == "course.yaml":  # lines of another package's quoted call
            exempt = frozenset(line.strip() for call in _external_calls(yaml.safe_load(text))
                               for line in call.splitlines())
        hits += _hits(text, str(path.relative_to(ROOT)), exempt)
    assert not hits, "retired names (CONTRIBUTING 'Names'):\n" + "\n".join(hits)


def test_the_check_sees_a_planted_name(tmp_path):
    planted = "adata = pk.tl.thing(adata, perturbation_key='drug')\nres.attrs['x'] = 1\n"
    assert len(_hits(planted, "planted")) == 2
    course = {"chapters": [{"tools": [{"package": "cpa-tools", "call": "cpa.setup(perturbation_key='p')\n"},
                                      {"call": "pk.tl.x(condition_key='c')\n"}]}]}
    assert _external_calls(course) == ["cpa.setup(perturbation_key='p')\n"]
