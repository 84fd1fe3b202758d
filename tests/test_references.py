"""book/references.bib parses, and every citation in the book names one of its entries.

A broken entry (a lost closing brace after a rebase) fails only the HTML build otherwise,
after every chapter has run; this finds it in the unit tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"


def test_bibliography_parses_and_covers_every_citation() -> None:
    database = pytest.importorskip("pybtex.database")
    entries = database.parse_file(str(BOOK / "references.bib")).entries
    assert len(entries) > 50
    cited = set()
    for chapter in BOOK.glob("*.md"):
        for keys in re.findall(r"\{cite(?::[pt])?\}`([^`]+)`", chapter.read_text()):
            cited.update(k.strip() for k in keys.split(","))
    missing = sorted(cited - set(entries))
    assert not missing, f"cited but not in references.bib: {missing}"
