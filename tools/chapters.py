"""The book's chapters, in order: read from ``_toc.yml``, the one place they are listed.

A chapter is an executed notebook in the table of contents (``- file:
_executed/<id>.ipynb``); its source is ``book/<id>.md``. The Makefile, the tools and the
tests all ask this module instead of keeping their own list.

Usage: python tools/chapters.py        # prints the ids, space-separated (for the Makefile)

No third-party import: the Makefile runs this with the system Python before the venv exists.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOC = ROOT / "_toc.yml"
_ENTRY = re.compile(r"^\s*-\s*file:\s*_executed/([A-Za-z0-9_]+)\.ipynb\s*(?:#.*)?$")


def chapters(toc: Path = TOC) -> list[str]:
    """Chapter ids in book order, e.g. ``["principles", "screens", ...]``."""
    ids = [m.group(1) for line in Path(toc).read_text().splitlines() if (m := _ENTRY.match(line))]
    if not ids:
        raise ValueError(f"{toc} lists no chapter (no '- file: _executed/<id>.ipynb' entry)")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{toc} lists a chapter twice: {ids}")
    return ids


CHAPTERS: tuple[str, ...] = tuple(chapters())


if __name__ == "__main__":
    print(" ".join(chapters(Path(sys.argv[1]) if len(sys.argv) > 1 else TOC)))
