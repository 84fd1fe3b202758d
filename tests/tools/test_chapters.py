"""One chapter registry: tools/chapters.py reads _toc.yml; everything else asks it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import chapters  # noqa: E402  (a script beside run_chapter.py, not a package)
import methods_map  # noqa: E402


def _toc_notebooks() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [Path(f).stem for f in files if f.startswith("_executed/") and f.endswith(".ipynb")]


def test_registry_is_the_toc():
    assert list(chapters.CHAPTERS) == _toc_notebooks()
    assert chapters.CHAPTERS[0] == "principles" and len(chapters.CHAPTERS) >= 5


@pytest.mark.parametrize("chapter", chapters.CHAPTERS)
def test_every_chapter_has_its_source(chapter):
    assert (ROOT / "book" / f"{chapter}.md").is_file()


def test_cli_prints_the_ids_for_the_makefile():
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "chapters.py")], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == list(chapters.CHAPTERS)
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^CHAPTERS := \$\(shell \$\(PYTHON\) tools/chapters.py\)$", makefile, re.M)


def test_planted_toc(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text("parts:\n  - chapters:\n      - file: _executed/b.ipynb\n      - file: _executed/course.md\n"
                   "      - file: _executed/a.ipynb  # comment\n")
    assert chapters.chapters(toc) == ["b", "a"]
    toc.write_text("parts:\n  - chapters:\n      - file: book/glossary.md\n")
    with pytest.raises(ValueError, match="no chapter"):
        chapters.chapters(toc)
    toc.write_text("parts:\n  - chapters:\n      - file: _executed/a.ipynb\n      - file: _executed/a.ipynb\n")
    with pytest.raises(ValueError, match="twice"):
        chapters.chapters(toc)


def test_methods_map_titles_every_chapter():
    assert tuple(methods_map.SECTIONS) == chapters.CHAPTERS
    assert set(methods_map.CHAPTER_TITLES) == set(chapters.CHAPTERS)


def test_no_other_hand_written_chapter_list():
    """A literal list of the chapter ids anywhere in tools/, tests/ or the Makefile is a second registry."""
    ids = list(chapters.CHAPTERS)
    seq = r"[\s,'\"]+".join(re.escape(c) for c in ids[:3])
    offenders = []
    for path in [ROOT / "Makefile", *sorted((ROOT / "tools").glob("*.py")), *sorted((ROOT / "tests").rglob("*.py"))]:
        if re.search(seq, path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], offenders
