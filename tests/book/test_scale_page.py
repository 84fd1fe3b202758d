"""The book's cost table is the measured one (benchmarks/results/scale.md), row for row."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_book_page_quotes_the_measured_table() -> None:
    measured = (ROOT / "benchmarks" / "results" / "scale.md").read_text().splitlines()
    rows = [line for line in measured if line.startswith("| ")]
    assert len(rows) >= 8, "benchmarks/results/scale.md has no table: run python benchmarks/scale.py"
    page = (ROOT / "book" / "scale.md").read_text()
    missing = [row for row in rows if row not in page]
    assert not missing, f"book/scale.md does not quote these measured rows: {missing[:3]}"
    toc = (ROOT / "_toc.yml").read_text()
    assert "book/scale.md" in toc
