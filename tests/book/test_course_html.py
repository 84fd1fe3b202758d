"""The course machinery in the built HTML (issue #13), checked in headless Chromium.

On every chapter page: the course frame, a quiz that answers a click with its feedback, the
exercise and its solution folded (sphinx-exercise + togglebutton), glossary links. After
`make course`: the student HTML and notebooks hold no solution text.

The click: a copy of the page, written next to it (so its CSS/JS resolve) with a small
script appended that clicks a wrong and a right answer and types a numeric answer, then
records what the page showed; `--dump-dom` returns it. Skips cleanly without Chromium.
"""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
PACK = ROOT / "_build" / "course"
sys.path.insert(0, str(ROOT / "tools"))
import course  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Runs in the page once parsed and the theme's scripts ran: every interaction goes through the quiz's own listeners.
PROBE = """
<script>
document.addEventListener("DOMContentLoaded", function () { setTimeout(function () {
  var out = {};
  try {
    var quiz = document.querySelector(".pk-quiz");
    out.quizzes = document.querySelectorAll(".pk-quiz").length;
    var q = quiz.querySelector('.pk-q[data-kind="choice"]');
    var wrong = q.querySelector('button.pk-a[data-correct="0"]');
    var right = q.querySelector('button.pk-a[data-correct="1"]');
    var fb = q.querySelector(".pk-feedback");
    out.before = fb.textContent;
    wrong.click();
    out.wrong = {text: fb.textContent, cls: fb.className, button: wrong.className, why: wrong.dataset.why};
    right.click();
    out.right = {text: fb.textContent, cls: fb.className, button: right.className, why: right.dataset.why,
                 wrongCleared: wrong.className};
    var n = document.querySelector('.pk-q[data-kind="numeric"]');
    if (n) {
      var nfb = n.querySelector(".pk-feedback");
      n.querySelector("input.pk-num").value = String(parseFloat(n.dataset.value) - 10 * parseFloat(n.dataset.tolerance) - 1);
      n.querySelector("button.pk-check").click();
      out.numLow = {text: nfb.textContent, cls: nfb.className, hint: n.dataset.low};
      n.querySelector("input.pk-num").value = n.dataset.value;
      n.querySelector("button.pk-check").click();
      out.numRight = {text: nfb.textContent, cls: nfb.className, why: n.dataset.why};
    }
    var sol = document.querySelector(".solution");
    out.solutionClass = sol ? sol.className : null;
    var content = function () {
      return Array.from(sol.children).filter(function (c) {
        return !c.classList.contains("admonition-title") && c.tagName !== "BUTTON";
      });
    };
    var shown = function () {
      return content().some(function (c) { return getComputedStyle(c).visibility !== "hidden"; });
    };
    out.solutionChildren = content().length;
    out.solutionShown = shown();
    sol.querySelector(".admonition-title").click();   // togglebutton: the title unfolds it
    out.solutionShownAfterClick = shown();
  } catch (e) { out.error = String(e); }
  var pre = document.createElement("pre");
  pre.id = "pk-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 300); });
</script>
"""


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (`make chromium` installs it)")
    return exe


@pytest.fixture(scope="module")
def built() -> Path:
    if not (HTML / "index.html").exists():
        if os.environ.get("PERTURBKIT_STRICT") == "1":
            pytest.fail("the book is not built: run `make test`")
        pytest.skip("book not built (make html)")
    return HTML


def _probe(page: Path, tmp: Path) -> dict:
    probe_page = page.with_name(f".probe-{page.name}")
    probe_page.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    try:
        dom = subprocess.run(
            [_chromium(), *FLAGS, f"--user-data-dir={tmp}", "--virtual-time-budget=8000", "--dump-dom",
             probe_page.as_uri()],
            check=True, capture_output=True, text=True, timeout=120,
        ).stdout
    finally:
        probe_page.unlink(missing_ok=True)
    m = re.search(r'<pre id="pk-probe"[^>]*>(.*?)</pre>', dom, re.S)
    assert m, f"{page.name}: the probe did not run"
    return json.loads(htmllib.unescape(m.group(1)))


@pytest.mark.parametrize("chapter", course.CHAPTERS)
def test_quiz_answers_a_click_and_solution_is_folded(chapter: str, built: Path, tmp_path: Path) -> None:
    page = built / "_executed" / f"{chapter}.html"
    assert page.exists(), f"{page} missing"
    out = _probe(page, tmp_path)
    assert "error" not in out, out
    assert out["quizzes"] >= 1 and out["before"] == ""
    assert out["wrong"]["text"] == "Not quite. " + out["wrong"]["why"] and "pk-wrong" in out["wrong"]["cls"]
    assert "pk-wrong" in out["wrong"]["button"]
    assert out["right"]["text"] == "Correct. " + out["right"]["why"] and "pk-right" in out["right"]["cls"]
    assert "pk-wrong" not in out["right"]["wrongCleared"]
    if "numLow" in out:
        assert out["numLow"]["text"] == "Not quite. " + out["numLow"]["hint"] and "pk-wrong" in out["numLow"]["cls"]
        assert out["numRight"]["text"] == "Correct. " + out["numRight"]["why"]
    assert out["solutionClass"] and "dropdown" in out["solutionClass"], out
    assert out["solutionChildren"] >= 1 and out["solutionShown"] is False, f"the solution is not folded: {out}"
    assert out["solutionShownAfterClick"] is True, f"clicking the solution title does not unfold it: {out}"


@pytest.mark.parametrize("chapter", course.CHAPTERS)
def test_chapter_page_has_frame_exercise_and_glossary_links(chapter: str, built: Path) -> None:
    text = (built / "_executed" / f"{chapter}.html").read_text()
    assert "pk-course-frame" in text and "pk-course-practice" in text and "Not executed in this book" in text
    for label in course.check(chapters=[chapter])[0].exercises:
        assert f'id="{label}"' in text, label
    assert re.search(r'href="[^"]*glossary\.html#term-', text), "no glossary link"
    assert 'id="key-takeaways"' in text and 'id="in-practice"' in text


def test_course_and_glossary_pages(built: Path) -> None:
    page = (built / "_executed" / "course.html").read_text()
    assert "Syllabus A: a two-day workshop" in page and "Syllabus B: a five-week module" in page
    for ch in course.CHAPTERS:
        assert f'href="{ch}.html' in page
    glossary = (built / "book" / "glossary.html").read_text()
    for term in ("MOI", "pseudobulk", "Bliss", "Loewe", "ZIP", "noise ceiling", "E-distance", "BMD"):
        assert f'id="term-{term.replace(" ", "-")}"' in glossary or term in glossary, term


def test_student_edition_of_the_pack_holds_no_solution(tmp_path: Path) -> None:
    if not (PACK / "html-student" / "index.html").exists():
        pytest.skip("no course pack (make course)")
    for ch in course.CHAPTERS:
        solution = course.solution_texts(course.read_chapter(ch))
        page = htmllib.unescape(re.sub(r"<[^>]+>", "", (PACK / "html-student" / "_executed" / f"{ch}.html").read_text()))
        nb = nbformat.read(PACK / "student" / f"{ch}.ipynb", as_version=4)
        cells = "\n".join(c.source for c in nb.cells)
        for line in solution:
            assert line not in page, (ch, line)
            assert line not in cells, (ch, line)
        assert 'class="solution' not in (PACK / "html-student" / "_executed" / f"{ch}.html").read_text()
        teacher = htmllib.unescape(re.sub(r"<[^>]+>", "", (PACK / "html-teacher" / "_executed" / f"{ch}.html").read_text()))
        assert any(line in teacher for line in solution), ch
