"""The course frame of a chapter, from one template and one table (``book/course.yaml``).

``part="start"`` (near the top of a chapter): prerequisites, estimated learner time,
pointers to the learning goals and key takeaways, the exercises and quizzes with links.
``part="practice"`` (the chapter's "In practice" section): the field packages that
implement the chapter's methods, each with its call in a clearly marked, non-executed
block, and further reading. ``tools/course.py check`` keeps the table and the chapters in
agreement (every exercise label and quiz title exists in the chapter).
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ._quiz import quiz_anchor

__all__ = ["CourseFrame", "course_frame", "course_table"]

_PARTS = ("start", "practice")


def _candidates() -> list[Path]:
    env = os.environ.get("PERTURBKIT_COURSE_YAML")
    cwd = Path.cwd()
    here = Path(__file__).resolve().parents[2] / "book" / "course.yaml"  # a source checkout
    # cwd/course.yaml and ../book: notebooks of the course pack run from student/ or teacher/
    return [Path(env)] if env else [cwd / "book" / "course.yaml", cwd / "course.yaml",
                                    cwd.parent / "book" / "course.yaml", here]


@cache
def _load(path: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(Path(path).read_text())


def course_table(path: str | Path | None = None) -> dict[str, Any]:
    """The parsed course table (``book/course.yaml``): chapters and syllabi.

    Parameters
    ----------
    path
        The YAML file; by default ``$PERTURBKIT_COURSE_YAML``, else ``book/course.yaml``
        under the working directory or the source checkout.

    Returns
    -------
    dict
        ``{"chapters": {id: {...}}, "syllabi": {id: {...}}}``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> table = pk.book.course_table()
    >>> "principles" in table["chapters"]
    True
    """
    if path is None:
        found = [p for p in _candidates() if p.exists()]
        if not found:
            raise FileNotFoundError(
                "course table not found; looked for " + ", ".join(str(p) for p in _candidates())
                + " (set PERTURBKIT_COURSE_YAML)"
            )
        path = found[0]
    return _load(str(Path(path).resolve()))


def _inline(text: str) -> str:
    """Escape, then render `code`, *emphasis* and [text](url) (all the markup the table may use)."""
    out = html.escape(str(text).strip())
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*([^*]+)\*", r"<em>\1</em>", out)
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', out)


def _minutes(m: float) -> str:
    m = int(round(m))
    return f"{m} min" if m < 60 else f"{m // 60} h {m % 60:02d} min"


@dataclass(frozen=True)
class CourseFrame:
    """Rendered frame: HTML in a notebook (``_repr_html_``), text elsewhere (``repr``)."""

    chapter: str
    part: str
    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def _start(chapter: str, entry: dict[str, Any], chapters: dict[str, Any]) -> tuple[str, str]:
    prereq_items = []
    for p in entry.get("prerequisites", []):
        if isinstance(p, dict):
            ch = p["chapter"]
            if ch not in chapters:
                raise ValueError(f"course.yaml: {chapter} names an unknown prerequisite chapter {ch!r}")
            prereq_items.append(f'<a href="{ch}.html">{html.escape(chapters[ch]["title"])}</a>: {_inline(p["why"])}')
        else:
            prereq_items.append(_inline(p))
    t = entry["learner_minutes"]
    total = sum(t.values())
    time_html = (f"about {_minutes(total)}: " + ", ".join(f"{k} {_minutes(v)}" for k, v in t.items())
                 + f". Executing the chapter takes {html.escape(str(entry.get('compute', 'see the build summary')))}"
                 " on a 2-core laptop.")
    ex = "".join(f'<li><a href="#{html.escape(e["label"])}">{_inline(e["title"])}</a> ({_minutes(e["minutes"])})</li>'
                 for e in entry["exercises"])
    qz = "".join(f'<li><a href="#{quiz_anchor(q["title"])}">{_inline(q["title"])}</a> ({_minutes(q["minutes"])})</li>'
                 for q in entry["quizzes"])
    packages = sorted({p["package"] for p in entry.get("in_practice", [])}, key=str.lower)
    rows = [
        ("Prerequisites", "<ul>" + "".join(f"<li>{i}</li>" for i in prereq_items) + "</ul>"),
        ("Learner time", time_html),
        ("Goals", "the <em>learning goals</em> listed above"),
        ("Exercises", f"<ol>{ex}</ol>Solutions are folded under each exercise; the student edition omits them."),
        ("Quizzes", f"<ol>{qz}</ol>"),
        ("Takeaways", '<a href="#key-takeaways">Key takeaways</a> at the end of the chapter'),
        ("In practice", f'<a href="#in-practice">the field packages</a> for your own data: {html.escape(", ".join(packages))}'),
    ]
    body = "".join(f'<tr><th style="text-align:left;vertical-align:top;padding-right:1em">{k}</th><td>{v}</td></tr>'
                   for k, v in rows)
    markup = (f'<div class="admonition note pk-course-frame"><p class="admonition-title">Course frame: '
              f'{html.escape(entry["title"])}</p><table>{body}</table></div>')
    text = "\n".join([
        f"Course frame: {entry['title']}",
        "Prerequisites: " + "; ".join(re.sub(r"<[^>]+>", "", i) for i in prereq_items),
        f"Learner time: about {_minutes(total)}",
        "Exercises: " + "; ".join(e["title"] for e in entry["exercises"]),
        "Quizzes: " + "; ".join(q["title"] for q in entry["quizzes"]),
        "In practice: " + ", ".join(packages),
    ])
    return markup, html.unescape(text)


def _practice(entry: dict[str, Any]) -> tuple[str, str]:
    blocks, lines = [], []
    for p in entry.get("in_practice", []):
        lang = p.get("language", "python")
        link = f' (<a href="{html.escape(p["url"])}">docs</a>)' if p.get("url") else ""
        blocks.append(
            f'<p><b>{_inline(p["method"])}</b> with <b>{html.escape(p["package"])}</b>{link}</p>'
            f'<div class="pk-not-executed"><p style="margin:0;font-size:85%"><em>Not executed in this book; '
            f"{html.escape(lang)}; check the package's documentation for your version.</em></p>"
            f'<pre><code class="language-{html.escape(lang)}">{html.escape(p["call"].rstrip())}</code></pre></div>'
        )
        lines.append(f"{p['method']}: {p['package']} ({lang}, not executed)")
    reading = "".join(f"<li>{_inline(r)}</li>" for r in entry.get("further_reading", []))
    markup = (
        '<div class="admonition tip pk-course-practice"><p class="admonition-title">In practice: the field packages</p>'
        + "".join(blocks)
        + (f"<p><b>Further reading</b></p><ul>{reading}</ul>" if reading else "")
        + "</div>"
    )
    lines += [f"Further reading: {re.sub(r'<[^>]+>', '', _inline(r))}" for r in entry.get("further_reading", [])]
    return markup, html.unescape("\n".join(lines))


def course_frame(chapter: str, *, part: str = "start", path: str | Path | None = None) -> CourseFrame:
    """The course frame of a chapter, rendered from ``book/course.yaml``.

    Put ``pk.book.course_frame("<chapter>")`` in a ``remove-input`` cell after the
    learning goals, and ``pk.book.course_frame("<chapter>", part="practice")`` under the
    chapter's ``## In practice`` heading.

    Parameters
    ----------
    chapter
        Chapter id, a key of ``chapters`` in the course table.
    part
        ``"start"``: prerequisites, learner time, goals, exercises, quizzes, takeaways and
        a pointer to the field packages. ``"practice"``: each method's field package and
        its call (shown, never executed), then further reading.
    path
        The course table; see :func:`course_table`.

    Returns
    -------
    CourseFrame
        Shown as HTML in a notebook; ``repr`` is a text summary.

    Raises
    ------
    KeyError
        The chapter is not in the course table.
    ValueError
        Unknown ``part``, or a prerequisite naming an unknown chapter.

    Examples
    --------
    >>> import perturbkit as pk
    >>> frame = pk.book.course_frame("principles")
    >>> print(repr(frame).splitlines()[0])
    Course frame: Principles
    >>> "pertpy" in repr(pk.book.course_frame("principles", part="practice"))
    True
    """
    if part not in _PARTS:
        raise ValueError(f"course_frame: part must be one of {_PARTS}, got {part!r}")
    chapters = course_table(path)["chapters"]
    if chapter not in chapters:
        raise KeyError(f"course_frame: chapter {chapter!r} is not in the course table (has {sorted(chapters)})")
    entry = chapters[chapter]
    markup, text = _start(chapter, entry, chapters) if part == "start" else _practice(entry)
    return CourseFrame(chapter=chapter, part=part, html=markup, text=text)
