"""The course machinery (issue #13): the check, the student edition, quizzes, frame, pack."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

import perturbkit as pk

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import course  # noqa: E402


# --------------------------------------------------------------------------- the real book
def test_every_chapter_passes_the_course_check() -> None:
    reports = course.check()
    assert [r.chapter for r in reports] == course.CHAPTERS
    for r in reports:
        assert r.problems == [], (r.chapter, r.problems)
        assert len(r.exercises) >= 1 and r.checks == len(r.exercises) == len(r.solutions), r
        assert len(r.quizzes) >= 1 and r.terms, r
    assert course.check_syllabi() == []


def test_course_page_lists_every_chapter_and_both_syllabi() -> None:
    text = course.page()
    table = yaml.safe_load((ROOT / "book" / "course.yaml").read_text())
    for ch, entry in table["chapters"].items():
        assert f"({ch}.ipynb)" in text
        for ex in entry["exercises"]:
            assert f"<{ex['label']}>" in text
    assert "## Syllabus A: a two-day workshop" in text and "## Syllabus B: a five-week module" in text
    # 4 sessions of the workshop, 5 weeks of the module
    assert text.count("| Day ") == 4 and text.count("| Week ") == 5


@pytest.mark.parametrize("chapter", course.CHAPTERS)
def test_student_edition_has_no_solution_text(chapter: str) -> None:
    nb = course.read_chapter(chapter)
    student, removed = course.strip_solutions(nb)
    assert removed == len(course.check(chapters=[chapter])[0].exercises) >= 1
    text = jupytext.writes(student, fmt="md:myst")
    solution = course.solution_texts(nb)
    assert len(solution) >= 3, "too little solution text to test against"
    leaked = [line for line in solution if line in text]
    assert leaked == [], leaked
    for marker in course.SOLUTION_MARKERS:
        assert marker not in text
    # the questions stay, and nothing else is lost: every non-solution code cell survives
    assert text.count("{exercise-start}") == removed
    kept_code = [c.source for c in student.cells if c.cell_type == "code"]
    assert "pk.book.session_info" in kept_code[-1]
    n_checks = course.check(chapters=[chapter])[0].checks
    assert len(kept_code) == sum(c.cell_type == "code" for c in nb.cells) - n_checks - _solution_code_cells(nb)


def _solution_code_cells(nb: nbformat.NotebookNode) -> int:
    """Code cells between a solution-start and its solution-end (fences in markdown cells)."""
    n, inside = 0, False
    for c in nb.cells:
        if c.cell_type == "code":
            n += inside
            continue
        fences = sorted([(m.start(), True) for m in course.SOL_START.finditer(c.source)]
                        + [(m.start(), False) for m in course.SOL_END.finditer(c.source)])
        for _, opens in fences:
            inside = opens
    return n


# --------------------------------------------------------------------------- check and strip on toy chapters
GOOD = '''---
jupytext:
  text_representation: {{extension: .md, format_name: myst}}
kernelspec: {{display_name: perturbkit, language: python, name: perturbkit}}
---
# Toy

**Learning goals.** You can add.

```{{code-cell}} ipython3
:tags: [remove-input]

import perturbkit as pk

pk.book.course_frame("toy")
```

```{{code-cell}} ipython3
x = 2
```

## Key takeaways

Adding works.

## Check your understanding

```{{code-cell}} ipython3
:tags: [remove-input]

pk.book.quiz([{{"question": "1 + 1?", "value": 2, "why": "Arithmetic."}}], title="Quiz: toy")
```

## Exercises

```{{exercise-start}} Add one
:label: toy-ex-add
```

Add one to `x`, using {{term}}`AUC`.

```{{exercise-end}}
```

```{{solution-start}} toy-ex-add
{sol_class}
```

```{{code-cell}} ipython3
y = x + 1
```

The secret answer is three.

```{{solution-end}}
```
{check}
## In practice

```{{code-cell}} ipython3
:tags: [remove-input]

pk.book.course_frame("toy", part="practice")
```

## References
'''
CHECK = '''
```{code-cell} ipython3
:tags: [remove-cell]

assert y == 3
```
'''


def _toy(tmp_path: Path, text: str, quiz_title: str = "Quiz: toy") -> Path:
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "toy.md").write_text(text)
    shutil.copy(ROOT / "book" / "glossary.md", tmp_path / "book" / "glossary.md")
    table = {"chapters": {"toy": {
        "title": "Toy", "prerequisites": ["none"], "learner_minutes": {"reading": 5},
        "exercises": [{"label": "toy-ex-add", "title": "Add one", "minutes": 5}],
        "quizzes": [{"title": quiz_title, "minutes": 1}],
        "in_practice": [{"method": "addition", "package": "python", "call": "1 + 1"}]}}}
    (tmp_path / "book" / "course.yaml").write_text(yaml.safe_dump(table))
    return tmp_path


def test_check_accepts_a_well_formed_toy_chapter(tmp_path: Path) -> None:
    root = _toy(tmp_path, GOOD.format(sol_class=":class: dropdown", check=CHECK))
    rep = course.check(root, chapters=["toy"])[0]
    assert rep.problems == [] and rep.exercises == ["toy-ex-add"] and rep.checks == 1
    assert rep.quizzes == ["Quiz: toy"] and rep.terms == ["AUC"]


@pytest.mark.parametrize(
    ("sol_class", "check", "quiz_title", "problem"),
    [
        ("", CHECK, "Quiz: toy", "must be folded (:class: dropdown)"),
        (":class: dropdown", "\n", "Quiz: toy", "text after the solution-end"),
        (":class: dropdown", "\n```{code-cell} ipython3\nprint(y)\n```\n", "Quiz: toy",
         "followed directly by a code cell tagged remove-cell"),
        (":class: dropdown", CHECK.replace("assert y == 3", "print(y)"), "Quiz: toy", "remove-cell that asserts"),
        (":class: dropdown", CHECK, "Quiz: other", "course.yaml quizzes"),
    ],
)
def test_check_names_what_is_wrong(tmp_path: Path, sol_class: str, check: str, quiz_title: str, problem: str) -> None:
    root = _toy(tmp_path, GOOD.format(sol_class=sol_class, check=check), quiz_title=quiz_title)
    problems = course.check(root, chapters=["toy"])[0].problems
    assert any(problem in p for p in problems), problems


def test_check_requires_an_exercise_a_quiz_and_the_frame(tmp_path: Path) -> None:
    bare = "---\njupytext: {}\n---\n# Toy\n\n```{code-cell} ipython3\nx = 1\n```\n"
    root = _toy(tmp_path, bare)
    problems = "\n".join(course.check(root, chapters=["toy"])[0].problems)
    for needed in ("course_frame('toy')", "no exercise", "no quiz", "Key takeaways", "uses no glossary term"):
        assert needed in problems, problems


def test_strip_removes_solution_check_and_keeps_the_rest(tmp_path: Path) -> None:
    root = _toy(tmp_path, GOOD.format(sol_class=":class: dropdown", check=CHECK))
    nb = jupytext.read(root / "book" / "toy.md")
    student, removed = course.strip_solutions(nb)
    text = jupytext.writes(student, fmt="md:myst")
    assert removed == 1
    assert "secret answer" not in text and "y = x + 1" not in text and "assert y == 3" not in text
    assert "Add one to `x`" in text and "{exercise-end}" in text and "## In practice" in text
    assert "x = 2" in text and 'pk.book.quiz(' in text


def test_strip_refuses_an_unclosed_solution() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("```{solution-start} a\n```\nsecret")])
    with pytest.raises(ValueError, match="no solution-end"):
        course.strip_solutions(nb)


# --------------------------------------------------------------------------- quiz and frame
def test_quiz_renders_an_offline_component_with_every_explanation() -> None:
    q = pk.book.quiz([
        {"question": "Pick `b`", "answers": [{"text": "a", "correct": False, "why": "not a <b>"},
                                            {"text": "b", "correct": True, "why": "b & only b"}]},
        {"question": "1/4?", "value": 0.25, "tolerance": 0.01, "why": "a quarter", "low": "more", "high": "less"},
    ], title="Quiz: unit")
    markup = q.to_html()
    assert q.id == "quiz-quiz-unit" and f'id="{q.id}"' in markup
    assert markup.count('class="pk-a"') == 2 and markup.count('data-correct="1"') == 1
    assert 'data-why="not a &lt;b&gt;"' in markup and 'data-why="b &amp; only b"' in markup  # escaped
    assert 'data-value="0.25"' in markup and 'data-tolerance="0.01"' in markup and 'data-low="more"' in markup
    assert "<code>b</code>" in markup
    for network in ("http://", "https://", " src=", "<link", "import("):
        assert network not in markup, network
    assert q._repr_html_() == markup
    assert repr(q).splitlines()[0] == "Quiz: unit (2 questions)"


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ({"question": "q", "answers": [{"text": "a", "correct": True, "why": "w"}]}, "at least two answers"),
        ({"question": "q", "answers": [{"text": "a", "correct": False, "why": "w"},
                                       {"text": "b", "correct": False, "why": "w"}]}, "no answer is marked correct"),
        ({"question": "q", "answers": [{"text": "a", "correct": True, "why": ""},
                                       {"text": "b", "correct": False, "why": "w"}]}, "explanation 'why'"),
        ({"question": "q", "value": float("nan"), "why": "w"}, "value must be finite"),
        ({"question": "q", "value": 1, "tolerance": -1, "why": "w"}, "tolerance >= 0"),
        ({"question": "q", "value": 1}, "needs 'why'"),
        ({"question": "q"}, "give 'answers'"),
        ({"question": ""}, "non-empty 'question'"),
    ],
)
def test_quiz_rejects_bad_questions_naming_them(question: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pk.book.quiz([{"question": "fine", "value": 1, "why": "ok"}, question])
    with pytest.raises(ValueError, match="quiz question 2"):
        pk.book.quiz([{"question": "fine", "value": 1, "why": "ok"}, question])


def test_course_frame_links_exercises_quizzes_and_sections() -> None:
    table = pk.book.course_table()
    for ch, entry in table["chapters"].items():
        frame = pk.book.course_frame(ch)
        for ex in entry["exercises"]:
            assert f'href="#{ex["label"]}"' in frame.html
        for q in entry["quizzes"]:
            assert f'href="#{pk.book.quiz_anchor(q["title"])}"' in frame.html
        assert 'href="#key-takeaways"' in frame.html and 'href="#in-practice"' in frame.html
        practice = pk.book.course_frame(ch, part="practice")
        assert practice.html.count("Not executed in this book") == len(entry["in_practice"]) >= 2
    # the principles frame: 150 + 60 + 20 = 230 minutes of learner time (book/course.yaml)
    assert "about 3 h 50 min" in pk.book.course_frame("principles").text


def test_course_frame_errors() -> None:
    with pytest.raises(KeyError, match="'nochapter' is not in the course table"):
        pk.book.course_frame("nochapter")
    with pytest.raises(ValueError, match="part must be one of"):
        pk.book.course_frame("principles", part="end")


# --------------------------------------------------------------------------- the course pack
def test_course_pack_without_html(tmp_path: Path) -> None:
    out = tmp_path / "pack"
    summary = course.pack(out, html=False)
    assert summary["solutions_removed"] == {ch: len(course.check(chapters=[ch])[0].exercises) for ch in course.CHAPTERS}
    from jupyter_client.kernelspec import KernelSpecManager

    kernels = KernelSpecManager().find_kernel_specs()
    for ch in course.CHAPTERS:
        student = nbformat.read(out / "student" / f"{ch}.ipynb", as_version=4)
        teacher = nbformat.read(out / "teacher" / f"{ch}.ipynb", as_version=4)
        for nb in (student, teacher):
            nbformat.validate(nb)
            assert nb.metadata["kernelspec"]["name"] == "perturbkit"
        raw = (out / "student" / f"{ch}.ipynb").read_text()
        solution = course.solution_texts(course.read_chapter(ch))
        assert [s for s in solution if json.dumps(s)[1:-1] in raw or s in raw] == []
        assert any(s in "".join(c.source for c in teacher.cells) for s in solution)
    if "perturbkit" not in kernels:
        pytest.skip("the perturbkit kernel is not registered here (make installs it)")
    # every data file verified: SHA256SUMS matches the copies and the manifests
    lines = (out / "data" / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == summary["data_files"] >= 10
    from perturbkit.data import manifest

    for line in lines:
        digest, rel = line.split("  ")
        dataset, name = rel.split("/", 1)
        assert course.sha256(out / "data" / rel) == digest == manifest(dataset).file(name).sha256
    assert {"kang2018_ifnb_muscat", "papalexi2021_eccite_sceptredata", "drc_classic_doseresponse"} <= set(summary["datasets"])
    # a student notebook opens with the registered kernel: its first cells run from the pack
    # (the course frame finds student/course.yaml)
    from nbclient import NotebookClient

    student = nbformat.read(out / "student" / "principles.ipynb", as_version=4)
    first = next(i for i, c in enumerate(student.cells) if "course_frame" in c.source)
    student.cells = student.cells[: first + 1]
    NotebookClient(student, timeout=120, kernel_name="perturbkit",
                   resources={"metadata": {"path": str(out / "student")}}).execute()
    shown = student.cells[first].outputs[0]["data"]["text/html"]
    assert "Course frame: Principles" in shown and "principles-ex-donor" in shown
    lock = (out / "requirements.lock.txt").read_text()
    assert "numpy==" in lock and "sphinx-exercise==" in lock.lower().replace("_", "-")
