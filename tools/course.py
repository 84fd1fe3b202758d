"""The book as a course: check the exercise/quiz machinery, write the course page, pack a class.

    python tools/course.py check                 # every chapter: frame, exercises with solution and check, quiz
    python tools/course.py page --out _executed/course.md
    python tools/course.py strip IN.ipynb OUT.ipynb   # student edition of one notebook
    python tools/course.py pack --out _build/course   # student + teacher notebooks, HTML, data, lock

The format (CONTRIBUTING.md, "Writing an exercise or quiz"): an exercise is a pair of
sphinx-exercise gated directives in the chapter,

    ```{exercise-start} Title            ```{solution-start} <label>
    :label: <chapter>-ex-<slug>          :class: dropdown
    ```                                  ```
    question text                        code cells, answer text
    ```{exercise-end}                    ```{solution-end}
    ```                                  ```

followed directly by a code cell tagged ``remove-cell`` that asserts the solution's answer.
The student edition drops everything from ``solution-start`` to ``solution-end`` and that
check cell. A quiz is a ``remove-input`` code cell calling ``pk.book.quiz([...], title=...)``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from chapters import CHAPTERS as _CHAPTERS  # noqa: E402  (a sibling script, not a package)

CHAPTERS = list(_CHAPTERS)
KERNEL = "perturbkit"

_FENCE = r"^(?P<f>`{3,}|:{3,})\{%s\}(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=f)[ \t]*$"
EX_START = re.compile(_FENCE % "exercise-start", re.M | re.S)
EX_END = re.compile(_FENCE % "exercise-end", re.M | re.S)
SOL_START = re.compile(_FENCE % "solution-start", re.M | re.S)
SOL_END = re.compile(_FENCE % "solution-end", re.M | re.S)
LABEL = re.compile(r"^:label:\s*(\S+)\s*$", re.M)
QUIZ_TITLE = re.compile(r"""pk\.book\.quiz\(.*title\s*=\s*(?P<q>["'])(?P<title>.+?)(?P=q)""", re.S)
TERM = re.compile(r"\{term\}`(?:[^`<]*<)?([^`>]+?)>?`")
# Solution markers that must never reach a student file (sphinx-exercise's directives).
SOLUTION_MARKERS = ("{solution-start}", "{solution-end}", "{solution}")


def _tags(cell: nbformat.NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def read_chapter(chapter: str, root: Path = ROOT) -> nbformat.NotebookNode:
    import jupytext

    return jupytext.read(root / "book" / f"{chapter}.md")


# --------------------------------------------------------------------------- student edition
def strip_solutions(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """Return (a copy of nb without solutions and their checks, number of solutions removed).

    Removed: the text from each ``solution-start`` fence to its ``solution-end`` fence (in
    whatever markdown cells they fall), every cell in between, and the ``remove-cell`` check
    cell that directly follows ``solution-end``.
    """
    out = nbformat.from_dict(json.loads(json.dumps(nb)))
    cells, inside, check_next, removed = [], False, False, 0
    for cell in out.cells:
        if check_next:
            check_next = False
            if cell.cell_type == "code" and "remove-cell" in _tags(cell):
                continue
        if cell.cell_type != "markdown":
            if not inside:
                cells.append(cell)
            continue
        text, kept, pos = cell.source, "", 0
        while True:
            if not inside:
                m = SOL_START.search(text, pos)
                if m is None:
                    kept += text[pos:]
                    break
                kept, inside, pos = kept + text[pos:m.start()], True, m.end()
            else:
                m = SOL_END.search(text, pos)
                if m is None:
                    break
                inside, pos, removed = False, m.end(), removed + 1
                check_next = not text[pos:].strip()
        if kept.strip():
            cell.source = kept.strip("\n") + "\n"
            cells.append(cell)
    if inside:
        raise ValueError("strip_solutions: a solution-start has no solution-end")
    out.cells = cells
    return out, removed


def solution_texts(nb: nbformat.NotebookNode, min_len: int = 25) -> list[str]:
    """Distinctive lines of every solution (code and prose), to search student files for."""
    texts, inside = [], False
    for cell in nb.cells:
        src = cell.source
        if cell.cell_type == "markdown":
            pos = 0
            while True:
                m = (SOL_END if inside else SOL_START).search(src, pos)
                chunk = src[pos:m.start() if m else len(src)]
                if inside:
                    texts += chunk.splitlines()
                if m is None:
                    break
                inside, pos = not inside, m.end()
        elif inside:
            texts += src.splitlines()
    return [t.strip() for t in texts if len(t.strip()) >= min_len]


# --------------------------------------------------------------------------- checks
@dataclass
class ChapterReport:
    chapter: str
    exercises: list[str] = field(default_factory=list)
    solutions: list[str] = field(default_factory=list)
    checks: int = 0
    quizzes: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def glossary_terms(root: Path = ROOT) -> set[str]:
    path = root / "book" / "glossary.md"
    if not path.exists():
        return set()
    m = re.search(r"^(`{3,}|:{3,})\{glossary\}[^\n]*\n(.*?)^\1", path.read_text(), re.M | re.S)
    body = m.group(2) if m else ""
    # a term line starts at column 0 and is not an option; definitions are indented
    return {ln.strip() for ln in body.splitlines() if ln.strip() and not ln.startswith((" ", "\t", ":"))}


def check_chapter(chapter: str, table: dict, root: Path = ROOT) -> ChapterReport:
    nb = read_chapter(chapter, root)
    rep = ChapterReport(chapter)
    bad = rep.problems.append
    entry = table.get("chapters", {}).get(chapter)
    if entry is None:
        bad("no entry in book/course.yaml")
        return rep
    for key in ("title", "prerequisites", "learner_minutes", "exercises", "quizzes", "in_practice"):
        if not entry.get(key):
            bad(f"course.yaml entry has no {key!r}")
    cells = nb.cells
    text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    code = [c for c in cells if c.cell_type == "code"]

    # the frame, near the top and in the In practice section
    frames = [c for c in code if re.search(rf"""pk\.book\.course_frame\(\s*["']{chapter}["']\s*\)""", c.source)]
    practice = [c for c in code if re.search(rf"""pk\.book\.course_frame\(\s*["']{chapter}["']\s*,\s*part\s*=\s*["']practice""", c.source)]
    if len(frames) != 1:
        bad(f"needs exactly one pk.book.course_frame({chapter!r}) cell (found {len(frames)})")
    if len(practice) != 1:
        bad(f"needs exactly one pk.book.course_frame({chapter!r}, part='practice') cell (found {len(practice)})")
    for c in frames + practice + [c for c in code if "pk.book.quiz(" in c.source]:
        if "remove-input" not in _tags(c):
            bad(f"cell {c.source.splitlines()[0][:50]!r} must be tagged remove-input")
    if "Learning goals" not in text:
        bad("no 'Learning goals' list")
    for heading in ("Key takeaways", "In practice"):
        if not re.search(rf"^## {heading}\s*$", text, re.M):
            bad(f"no '## {heading}' section")

    # exercises: gated directives, solution folded, executed, checked
    for m in EX_START.finditer(text):
        label = LABEL.search(m.group("body"))
        if label is None:
            bad(f"exercise {m.group('arg').strip()!r} has no :label:")
            continue
        rep.exercises.append(label.group(1))
    if len(EX_END.findall(text)) != len(EX_START.findall(text)):
        bad("exercise-start and exercise-end do not pair up")
    inside, n_code, check_next = None, 0, False
    for cell in cells:
        if check_next:
            check_next = False
            if cell.cell_type == "code" and "remove-cell" in _tags(cell) and "assert" in cell.source:
                rep.checks += 1
            else:
                bad("solution-end must be followed directly by a code cell tagged remove-cell that asserts the answer")
        if cell.cell_type == "code":
            n_code += inside is not None
            continue
        src, pos = cell.source, 0
        while True:
            if inside is None:
                m = SOL_START.search(src, pos)
                if m is None:
                    break
                inside, n_code, pos = m.group("arg").strip(), 0, m.end()
                rep.solutions.append(inside)
                if not re.search(r"^:class:.*\bdropdown\b", m.group("body"), re.M):
                    bad(f"solution {inside!r} must be folded (:class: dropdown)")
            else:
                m = SOL_END.search(src, pos)
                if m is None:
                    break
                if n_code == 0:
                    bad(f"solution {inside!r} has no code cell: solutions are executed in every build")
                inside, pos = None, m.end()
                if src[pos:].strip():
                    bad(f"text after the solution-end of {rep.solutions[-1]!r} in the same cell: put the check cell first")
                else:
                    check_next = True
    if inside is not None:
        bad(f"solution {inside!r} has no solution-end")
    if check_next:
        bad("the last solution has no check cell after it")
    if not rep.exercises:
        bad("no exercise (```{exercise-start} with :label:)")
    for label in rep.exercises:
        if label not in rep.solutions:
            bad(f"exercise {label!r} has no solution")
    for label in rep.solutions:
        if label not in rep.exercises:
            bad(f"solution for unknown exercise {label!r}")
    if len(set(rep.exercises)) != len(rep.exercises):
        bad("duplicate exercise labels")
    listed = [e["label"] for e in entry.get("exercises", [])]
    if sorted(listed) != sorted(rep.exercises):
        bad(f"course.yaml exercises {sorted(listed)} != chapter exercises {sorted(rep.exercises)}")

    # quizzes
    for c in code:
        if "pk.book.quiz(" in c.source:
            m = QUIZ_TITLE.search(c.source)
            if m is None:
                bad("a pk.book.quiz call has no title= (the course frame links to it)")
            else:
                rep.quizzes.append(m.group("title"))
    if not rep.quizzes:
        bad("no quiz (a remove-input cell calling pk.book.quiz)")
    if len(set(rep.quizzes)) != len(rep.quizzes):
        bad(f"quiz titles must be unique in a chapter: {rep.quizzes}")
    listed = [q["title"] for q in entry.get("quizzes", [])]
    if sorted(listed) != sorted(rep.quizzes):
        bad(f"course.yaml quizzes {sorted(listed)} != chapter quizzes {sorted(rep.quizzes)}")

    # glossary terms
    rep.terms = TERM.findall(text)
    known = glossary_terms(root)
    if not rep.terms:
        bad("uses no glossary term ({term}`...`)")
    for t in sorted(set(rep.terms) - known):
        bad(f"{{term}}`{t}` is not in book/glossary.md")
    return rep


def check(root: Path = ROOT, chapters: list[str] | None = None) -> list[ChapterReport]:
    table = yaml.safe_load((root / "book" / "course.yaml").read_text())
    return [check_chapter(ch, table, root) for ch in (chapters or CHAPTERS)]


# --------------------------------------------------------------------------- course page
def _status(root: Path) -> dict[str, dict]:
    out = {}
    for ch in CHAPTERS:
        p = root / "_build" / "status" / f"{ch}.json"
        if p.exists():
            out[ch] = json.loads(p.read_text())
    return out


def _fmt_min(m: float) -> str:
    m = int(round(m))
    return f"{m} min" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def page(root: Path = ROOT) -> str:
    """The course page (MyST): chapters at a glance, then the syllabi."""
    table = yaml.safe_load((root / "book" / "course.yaml").read_text())
    chapters, status = table["chapters"], _status(root)
    lines = [
        "(course)=",
        "# Teaching with this book",
        "",
        table.get("intro", "").strip(),
        "",
        "## Chapters at a glance",
        "",
        "Learner time is our estimate for reading the chapter and doing its exercises and quizzes. "
        "Compute time is what the last build measured for executing the chapter on this machine "
        "(2 cores), with the mode it ran in; `smoke` runs use fewer permutations and epochs.",
        "",
        "| chapter | learner time | exercises | quizzes | compute (last build) |",
        "|---|---|---|---|---|",
    ]
    for ch in CHAPTERS:
        e = chapters[ch]
        st = status.get(ch)
        measured = (f"{st['runtime_s']:.0f} s ({st['mode']}, {st['status']})" if st else "not built yet")
        ex = "<br>".join(f"{{ref}}`{x['title']} <{x['label']}>`" for x in e["exercises"])
        qz = "<br>".join(q["title"] for q in e["quizzes"])
        lines.append(f"| [{e['title']}]({ch}.ipynb) | {_fmt_min(sum(e['learner_minutes'].values()))} | {ex} | {qz} | "
                     f"{measured}; budget {e['compute']} |")
    for sid, syl in table.get("syllabi", {}).items():
        lines += ["", f"({sid})=", f"## {syl['title']}", "", syl.get("intro", "").strip(), "",
                  "| session | learner time | chapters and sections | exercises | quizzes | compute on 2 cores |",
                  "|---|---|---|---|---|---|"]
        for s in syl["sessions"]:
            ch = s["chapter"]
            st = status.get(ch)
            compute = (f"{st['runtime_s']:.0f} s measured ({st['mode']}); " if st else "") + chapters[ch]["compute"]
            lines.append(f"| {s['name']} | {_fmt_min(s['minutes'])} | {s['content']} | "
                         f"{'<br>'.join(s.get('exercises', [])) or '-'} | {'<br>'.join(s.get('quizzes', [])) or '-'} | "
                         f"{compute} |")
    lines += ["", table.get("outro", "").strip(), ""]
    return "\n".join(lines)


def check_syllabi(root: Path = ROOT) -> list[str]:
    """Every exercise and quiz a syllabus names exists in the course table."""
    table = yaml.safe_load((root / "book" / "course.yaml").read_text())
    ex = {e["title"] for c in table["chapters"].values() for e in c["exercises"]}
    qz = {q["title"] for c in table["chapters"].values() for q in c["quizzes"]}
    problems = []
    for sid, syl in table.get("syllabi", {}).items():
        for s in syl["sessions"]:
            if s.get("chapter") not in table["chapters"]:
                problems.append(f"syllabus {sid}, {s['name']}: 'chapter' must name a chapter, got {s.get('chapter')!r}")
            problems += [f"syllabus {sid}, {s['name']}: unknown exercise {x!r}" for x in s.get("exercises", []) if x not in ex]
            problems += [f"syllabus {sid}, {s['name']}: unknown quiz {x!r}" for x in s.get("quizzes", []) if x not in qz]
    return problems


# --------------------------------------------------------------------------- pack
def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_nb(nb: nbformat.NotebookNode, path: Path) -> None:
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "perturbkit (Python 3.11)", "language": "python"}
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def pack_notebooks(out: Path, root: Path = ROOT, chapters: list[str] | None = None) -> dict[str, int]:
    """student/ (unexecuted, no solutions) and teacher/ (executed when built, else source)."""
    removed = {}
    for ch in chapters or CHAPTERS:
        import jupytext

        source = jupytext.reads(jupytext.writes(read_chapter(ch, root), fmt="ipynb"), fmt="ipynb")
        student, removed[ch] = strip_solutions(source)
        _write_nb(student, out / "student" / f"{ch}.ipynb")
        executed = root / "_executed" / f"{ch}.ipynb"
        teacher = nbformat.read(executed, as_version=4) if executed.exists() else source
        _write_nb(teacher, out / "teacher" / f"{ch}.ipynb")
    for sub in ("student", "teacher"):
        shutil.copy2(root / "book" / "course.yaml", out / sub / "course.yaml")
    return removed


def chapter_datasets(root: Path = ROOT, chapters: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(datasets the chapters need, optional ones).

    Needed: every verified manifest that names one of the chapters, and whatever the last
    build's provenance logs recorded. Optional: unverified manifests of those chapters
    (alternative, larger datasets a chapter can be pointed at; downloaded on first use).
    """
    from perturbkit.data import manifests

    chapters = chapters or CHAPTERS
    needed: set[str] = set()
    optional: set[str] = set()
    for d, m in manifests().items():
        if set(m.chapters) & set(chapters):
            (needed if m.verified else optional).add(d)
    for ch in chapters:
        log = root / "_build" / "status" / f"{ch}.provenance.jsonl"
        if log.exists():
            needed |= {json.loads(ln)["dataset"] for ln in log.read_text().splitlines() if ln.strip()}
    return sorted(needed), sorted(optional - needed)


def pack_data(out: Path, datasets: list[str]) -> list[tuple[str, str]]:
    """Copy each dataset's sha256-verified files (pk.data.fetch, cache or mirror, never a
    download) into out/data/<dataset>/, hash every copy again against its manifest, and write
    out/data/SHA256SUMS. A file that cannot be had fails the pack, naming it."""
    from perturbkit.data import fetch, manifest

    sums = []
    for d in datasets:
        for name, src in fetch(d, allow_download=False).items():
            expected = manifest(d).file(name).sha256
            dst = out / "data" / d / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            digest = sha256(dst)
            if expected is None or digest != expected:
                raise ValueError(f"pack: {d}/{name} sha256 {digest} != manifest {expected}")
            sums.append((digest, f"{d}/{name}"))
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "data" / "SHA256SUMS").write_text("".join(f"{h}  {p}\n" for h, p in sums))
    return sums


def pack_lock(out: Path) -> Path:
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                            check=True, capture_output=True, text=True).stdout
    path = out / "requirements.lock.txt"
    path.write_text(f"# exact environment of the build (Python {sys.version.split()[0]}); "
                    "install torch's CPU wheel first, then: pip install -r requirements.lock.txt "
                    "and pip install -e <repository>\n" + frozen)
    return path


def build_student_html(out: Path, root: Path = ROOT) -> Path:
    """The student HTML: the same book built from the executed notebooks without solutions."""
    src = root / "_build" / "student_src"
    if src.exists():
        shutil.rmtree(src)
    (src / "_executed").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, src / name)
    shutil.copytree(root / "book", src / "book")
    for p in (root / "_executed").iterdir():
        if p.suffix == ".ipynb" and p.stem in CHAPTERS:
            student, _ = strip_solutions(nbformat.read(p, as_version=4))
            nbformat.write(student, src / "_executed" / p.name)
        elif p.is_file():
            shutil.copy2(p, src / "_executed" / p.name)
    jb = Path(sys.executable).with_name("jupyter-book")
    subprocess.run([str(jb), "build", str(src), "--quiet"], check=True)
    dest = out / "html-student"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src / "_build" / "html", dest)
    return dest


PACK_README = """# Dissecting Perturbations: course pack

- `student/`: the chapter notebooks without solutions (unexecuted); `teacher/`: with solutions
  (executed when the pack was built from a built book).
- `html-student/`, `html-teacher/`: the offline book of each edition; open `index.html`.
- `data/`: every data file the chapters read, with `SHA256SUMS` (`sha256sum -c SHA256SUMS`).
- `requirements.lock.txt`: the exact environment of the build.

Offline room: install the environment (torch's CPU wheel first), register the kernel
(`python -m ipykernel install --user --name perturbkit`), then run the notebooks from
`student/` with `PERTURBKIT_DATA_MIRROR=<this folder>/data`.
"""


def pack(out: Path, root: Path = ROOT, *, html: bool = True, chapters: list[str] | None = None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    removed = pack_notebooks(out, root, chapters)
    needed, optional = chapter_datasets(root, chapters)
    sums = pack_data(out, needed)
    pack_lock(out)
    (out / "README.md").write_text(PACK_README + "\nNot included (optional, larger datasets a chapter can be "
                                   "pointed at; they need internet on first use): " + ", ".join(optional) + ".\n")
    if html:
        teacher = root / "_build" / "html"
        if not (teacher / "index.html").exists():
            raise FileNotFoundError("pack: build the book first (make book) for the HTML editions")
        dest = out / "html-teacher"
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(teacher, dest)
        build_student_html(out, root)
    return {"solutions_removed": removed, "datasets": needed, "data_files": len(sums), "not_packed": optional}


# --------------------------------------------------------------------------- cli
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check")
    p = sub.add_parser("page")
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("strip")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p = sub.add_parser("pack")
    p.add_argument("--out", type=Path, default=ROOT / "_build" / "course")
    p.add_argument("--no-html", action="store_true")
    args = parser.parse_args(argv)
    if args.cmd == "check":
        reports = check()
        problems = [f"{r.chapter}: {p}" for r in reports for p in r.problems] + check_syllabi()
        for r in reports:
            print(f"{r.chapter}: {len(r.exercises)} exercises ({r.checks} checked), {len(r.quizzes)} quizzes, "
                  f"{len(set(r.terms))} glossary terms")
        for p in problems:
            print("course check:", p, file=sys.stderr)
        return 1 if problems else 0
    if args.cmd == "page":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(page())
        return 0
    if args.cmd == "strip":
        nb, n = strip_solutions(nbformat.read(args.src, as_version=4))
        _write_nb(nb, args.dst)
        print(f"{args.dst}: {n} solutions removed")
        return 0
    summary = pack(args.out, html=not args.no_html)
    print(f"course pack in {args.out}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
