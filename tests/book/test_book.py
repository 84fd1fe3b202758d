"""Checks on the built book: results files and every chapter page in a real browser.

Run after the chapters are executed and the HTML is built (`make test` does this).
Headless Chromium renders each page; the DOM must hold the chapter title, at least one
figure, a bibliography entry and no error output. Screenshots go to _build/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "tools"))
from chapters import CHAPTERS  # noqa: E402  (the chapter registry, read from _toc.yml)

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def html() -> Path:
    if not (HTML / "index.html").exists():
        if os.environ.get("PERTURBKIT_STRICT") == "1":
            pytest.fail("the book is not built: run `make test`")
        pytest.skip("book not built (make html)")
    return HTML


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed (`make chromium` installs the Debian package)")
    return exe


def _render(page: Path, tmp: Path) -> str:
    shot = ROOT / "_build" / "screenshots" / f"{page.stem}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    common = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp}", "--virtual-time-budget=5000"]
    subprocess.run([*common, "--window-size=1280,2000", f"--screenshot={shot}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], check=True,
                         capture_output=True, text=True, timeout=120)
    return dom.stdout


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_renders_with_figures_citations_and_no_errors(chapter: str, html: Path, tmp_path: Path) -> None:
    page = html / "_executed" / f"{chapter}.html"
    assert page.exists(), f"{page} missing: did the chapter build?"
    dom = _render(page, tmp_path)
    assert re.search(r"<h1[^>]*>", dom), f"{chapter}: no title"
    figures = re.findall(r"<img[^>]+src=\"[^\"]*(?:\.png|data:image)", dom)
    assert figures, f"{chapter}: no figure"
    assert re.search(r'class="[^"]*citation', dom) or re.search(r'id="id\d+"[^>]*class="[^"]*label', dom), (
        f"{chapter}: no bibliography entry"
    )
    for bad in ("Traceback (most recent call last)", 'class="output traceback', "PapermillExecutionError",
                "Simulated stand-in" if os.environ.get("PERTURBKIT_STRICT") == "1" else "\0"):
        assert bad not in dom, f"{chapter}: page contains {bad!r}"
    assert (ROOT / "_build" / "screenshots" / f"{chapter}.png").stat().st_size > 10_000


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_wrote_headline_numbers(chapter: str, html: Path) -> None:
    path = ROOT / "_build" / "results" / f"{chapter}.json"
    assert path.exists(), f"{chapter} did not call pk.book.record"
    numbers = json.loads(path.read_text())
    assert len([k for k in numbers if not k.startswith("_")]) >= 2
    assert numbers["_meta"]["datasets"], f"{chapter}: no dataset recorded"


def test_summary_and_methods_map_pages(html: Path) -> None:
    summary = (html / "_executed" / "build_summary.html").read_text()
    for chapter in CHAPTERS:
        assert chapter in summary
    assert "FAILED" not in summary
    assert re.search(r"[0-9a-f]{64}", summary), "no sha256 in the build summary"
    methods = (html / "_executed" / "methods_map.html").read_text()
    assert "Augur" in methods and "MUSIC" in methods and "COMMOT" in methods
