"""The rerun matrix: which runs it makes, that their parameters are valid, and its report."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import chapter_params  # noqa: E402
import reruns  # noqa: E402


def test_every_chapter_with_seeds_0_1_2_and_the_alternatives() -> None:
    runs = reruns.matrix()
    keys = {(r.chapter, r.label) for r in runs}
    for chapter in reruns.CHAPTERS:
        assert {(chapter, "(defaults)"), (chapter, "-p seed 1"), (chapter, "-p seed 2")} <= keys
    assert ("principles", "-p holdout 'B cells'") in keys
    assert len(keys) == len(runs), "no run twice"


def test_every_run_and_known_failure_has_valid_parameters() -> None:
    for run in reruns.matrix():
        chapter_params.parse(run.chapter, run.params)  # raises on an unknown name or bad value
    labels = {(r.chapter, r.label) for r in reruns.matrix()}
    assert set(reruns.KNOWN_FAILURES) <= labels, "a known failure names a run the matrix makes"


def test_readme_examples_are_taken_as_written() -> None:
    examples = reruns.readme_examples()
    text = (ROOT / "README.md").read_text().split(reruns.README_SECTION, 1)[1].split("\n## ", 1)[0]
    assert len(examples) == len(re.findall(r"^make chapter ", text, re.MULTILINE)) >= 2
    assert ("dose_response", {"seed": "1"}) in [(r.chapter, r.params) for r in examples]
    for r in examples:
        chapter_params.parse(r.chapter, r.params)
    # each README example is one of the matrix's runs (some coincide with a seed run)
    covered = {reruns._key(r) for r in reruns.matrix()}
    assert all(reruns._key(r) in covered for r in examples)


def test_every_make_chapter_line_in_the_readme_names_declared_parameters() -> None:
    lines = [m.groups() for m in re.finditer(r"^make chapter CH=(\w+) PARAMS='([^']*)'", (ROOT / "README.md").read_text(),
                                             re.MULTILINE)]
    assert len(lines) >= 4
    for chapter, params in lines:
        words = params.split()
        chapter_params.parse(chapter, dict(zip(words[1::3], words[2::3], strict=True)))


def test_report_marks_failures_and_known_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    ok = reruns.Run("spatial", {}, result={"returncode": 0, "wall_s": 10.0, "error": None})
    bad = reruns.Run("screens", {"seed": "1"}, result={
        "returncode": 1, "wall_s": 30.0, "error": {"cell": 55, "ename": "AssertionError", "evalue": "0.82 < 0.85"}})
    page = reruns.report([ok, bad], 40)
    assert "| screens | `-p seed 1` | matrix | FAILED | 30.0 | cell 55: AssertionError 0.82 < 0.85 |" in page
    assert "screens 30, spatial 10" in page
    monkeypatch.setitem(reruns.KNOWN_FAILURES, ("screens", "-p seed 1"), "issue #20")
    assert reruns._verdict(bad) == "known failure"
    monkeypatch.setitem(reruns.KNOWN_FAILURES, ("spatial", "(defaults)"), "issue #20")
    assert reruns._verdict(ok).startswith("fixed")
