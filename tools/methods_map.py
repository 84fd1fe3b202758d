"""Build the "Methods map" page: the review's Table 1, linked to where each method runs.

Reads ``book/methods.yaml`` and looks in the chapters (``book/*.md``) for MyST labels
``(method-<slug>)=``; a method whose label exists links to that section, the others are
marked "planned". Each entry says how honestly the book runs it:

- ``status: real``: the section runs the method on public data (``data:`` a verified dataset id);
- ``status: simulation``: it runs on a planted-truth simulation (``reason:`` why not real data);
- ``status: sketch``: only the core idea runs, and the section says what is missing (``reason:``).

``function:`` names the ``pk`` call(s) that run it (``pk.tl.mixscape``; several separated by
commas). :func:`check` fails when a label sits in another chapter than ``section``, a named
function does not exist or is not called inside the labelled section, a ``real`` entry has no
verified dataset, or (with executed chapters) a ``real`` section's chapter ran on a stand-in.

    python tools/methods_map.py --out _executed/methods_map.md [--check]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("name", "slug", "category", "idea", "reference", "section")
STATUSES = ("real", "simulation", "sketch")
STATUS_TEXT = {"real": "public data", "simulation": "simulation", "sketch": "sketch"}
EXTRA = "Also in this book"  # category of tools beyond the review's Table 1
sys.path.insert(0, str(Path(__file__).resolve().parent))
from chapters import CHAPTERS as SECTIONS  # noqa: E402  (a sibling script; one chapter list, from _toc.yml)

LABEL = re.compile(r"^\(method-([A-Za-z0-9_.+-]+)\)=\s*$", re.MULTILINE)
BIB_KEY = re.compile(r"^\s*@\w+\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)
# This page cites every reference the chapters cite; prefixing its keys keeps sphinxcontrib-bibtex
# from reporting each one as a duplicate citation.
KEY_PREFIX = "map-"


def load_methods(path: Path) -> list[dict[str, str]]:
    """Read the methods list and check it: all fields present, known section and status,
    unique slugs, a reason for every entry that does not run on public data."""
    methods = yaml.safe_load(Path(path).read_text())
    seen: set[str] = set()
    for m in methods:
        missing = [f for f in FIELDS if not m.get(f)]
        if missing:
            raise ValueError(f"{path}: method {m.get('name', m)!r} lacks {missing}")
        if m["section"] not in SECTIONS:
            raise ValueError(
                f"{path}: {m['name']!r} has section {m['section']!r}; use one of {SECTIONS}"
            )
        status = m.get("status")
        if status is not None and status not in STATUSES:
            raise ValueError(f"{path}: {m['name']!r} has status {status!r}; use one of {STATUSES}")
        if status in ("simulation", "sketch") and not m.get("reason"):
            raise ValueError(f"{path}: {m['name']!r} is {status!r} but gives no `reason:`")
        if status == "real" and not m.get("data"):
            raise ValueError(f"{path}: {m['name']!r} is 'real' but names no `data:` dataset id")
        if m["slug"] in seen:
            raise ValueError(f"{path}: slug {m['slug']!r} is used twice")
        seen.add(m["slug"])
    return methods


HEADING = re.compile(r"^(#{1,6}) \S")


def sections(text: str) -> dict[str, str]:
    """Each ``(method-<slug>)=`` label -> the text of the section it labels.

    The section runs from the label to the next heading of the same or a higher level than
    the first heading after the label (labels stacked above one heading share its section).
    Fenced code is part of the section; ``#`` lines inside code fences are not headings.
    """
    lines = text.splitlines()
    heading_level: list[int | None] = []
    fence = None
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("```", ":::")):
            marker = stripped[:3]
            fence = None if fence == marker else (fence or marker)
            heading_level.append(None)
            continue
        m = HEADING.match(line) if fence is None else None
        heading_level.append(len(m.group(1)) if m else None)
    out: dict[str, str] = {}
    for i, line in enumerate(lines):
        m = LABEL.match(line)
        if not m:
            continue
        j = next((k for k in range(i + 1, len(lines)) if heading_level[k]), len(lines))
        level = heading_level[j] if j < len(lines) else 1
        k = next((k for k in range(j + 1, len(lines)) if heading_level[k] and heading_level[k] <= level), len(lines))
        out[m.group(1)] = "\n".join(lines[i:k])
    return out


def _resolve(call: str) -> bool:
    """Does ``pk.<module>.<name>`` exist in the installed perturbkit?"""
    import perturbkit as pk

    obj: object = pk
    for part in call.split(".")[1:]:
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return callable(obj)


def check(
    methods: list[dict[str, str]],
    book_dir: Path,
    *,
    manifests: dict[str, object] | None = None,
    status_dir: Path | None = None,
) -> list[str]:
    """Every way the map could tell a reader something false; an empty list when none.

    ``manifests``: dataset id -> manifest (``pk.data.manifests()``); ``status_dir``: the
    chapters' run records (``_build/status/<chapter>.json``), to catch a ``real`` section whose
    chapter ran on a simulated stand-in.
    """
    problems: list[str] = []
    texts = {c.stem: _text(c) for c in sorted(Path(book_dir).glob("*.md")) if c.stem in SECTIONS}
    where_label = {slug: ch for ch, text in texts.items() for slug in LABEL.findall(text)}
    section_text = {slug: sec for text in texts.values() for slug, sec in sections(text).items()}
    for m in methods:
        slug, name = m["slug"], m["name"]
        if slug not in where_label:
            if m.get("status"):
                problems.append(f"{name}: status {m['status']!r} but no (method-{slug})= label in any chapter")
            continue
        if where_label[slug] != m["section"]:
            problems.append(f"{name}: labelled in {where_label[slug]!r} but section is {m['section']!r}")
        if not m.get("status"):
            problems.append(f"{name}: labelled in {where_label[slug]!r} but has no status")
            continue
        for call in [c.strip() for c in str(m.get("function") or "").split(",") if c.strip()]:
            if not _resolve(call):
                problems.append(f"{name}: function {call} does not exist")
            elif call.split(".")[-1] + "(" not in section_text[slug].replace(" (", "("):
                problems.append(f"{name}: {call} is not called in the section labelled method-{slug}")
        if not m.get("function"):
            problems.append(f"{name}: labelled but names no `function:`")
        if m["status"] == "real":
            data = m.get("data", "")
            if manifests is not None:
                man = manifests.get(data)
                if man is None:
                    problems.append(f"{name}: data {data!r} is not a dataset id")
                elif not getattr(man, "verified", False):
                    problems.append(f"{name}: data {data!r} is not a verified (mirrored) dataset")
            if data and data not in texts[where_label[slug]]:
                problems.append(f"{name}: 'real' on {data!r}, but chapter {where_label[slug]} never names it")
            if status_dir is not None:
                record = Path(status_dir) / f"{where_label[slug]}.json"
                if record.exists():
                    run = json.loads(record.read_text())
                    used = {d.get("dataset") for d in run.get("datasets", [])}
                    if data not in used:
                        problems.append(
                            f"{name}: 'real' on {data!r}, but the executed {where_label[slug]} "
                            f"did not read it (stand-in?); read: {sorted(u for u in used if u)}"
                        )
    return problems


def _text(chapter: Path) -> str:
    if chapter.suffix == ".ipynb":  # executed notebooks: what the HTML is built from
        cells = json.loads(chapter.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return chapter.read_text(encoding="utf-8")


def find_labels(book_dir: Path) -> dict[str, str]:
    """Map each ``(method-<slug>)=`` label found in ``book_dir/*.md`` or ``*.ipynb``
    (the executed chapters) to its chapter's name."""
    labels: dict[str, str] = {}
    chapters = sorted([*Path(book_dir).glob("*.md"), *Path(book_dir).glob("*.ipynb")])
    for chapter in chapters:
        for slug in LABEL.findall(_text(chapter)):
            if slug in labels:
                print(
                    f"warning: label method-{slug} in both {labels[slug]} and {chapter.stem}",
                    file=sys.stderr,
                )
                continue
            labels[slug] = chapter.stem
    return labels


def bib_keys(path: Path) -> set[str]:
    """The citation keys of a bibtex file."""
    return set(BIB_KEY.findall(Path(path).read_text(encoding="utf-8")))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


CHAPTER_TITLES = {
    "principles": "Principles",
    "screens": "Single-cell screens",
    "dose_response": "Dose-response",
    "spatial": "Spatial",
    "applications": "Applications",
}


def where(method: dict[str, str], labels: dict[str, str]) -> str:
    """Link to the section running the method, or "planned".

    The link carries its own text (the chapter's title), so it works whether the label
    sits above a heading or above a figure or paragraph.
    """
    slug = method["slug"]
    if slug not in labels:
        return "planned"
    return f"{{ref}}`{method['name']} section <method-{slug}>`"


def counts(methods: list[dict[str, str]], labels: dict[str, str]) -> dict[str, int]:
    """Table-1 methods by status: real, simulation, sketch, and planned (no labelled section)."""
    table1 = [m for m in methods if m["category"] != EXTRA]
    out = {s: 0 for s in (*STATUSES, "planned")}
    for m in table1:
        out[m.get("status") if m["slug"] in labels and m.get("status") else "planned"] += 1
    return out


def summary(methods: list[dict[str, str]], labels: dict[str, str]) -> str:
    """One sentence with the counts, quoted by the page, the README and the index."""
    c, n = counts(methods, labels), sum(m["category"] != EXTRA for m in methods)
    return (
        f"Of the {n} methods of Table 1, {c['real']} run on public data, {c['simulation']} on a "
        f"planted-truth simulation and {c['sketch']} as a sketch of the core idea only; "
        f"{c['planned']} are planned."
    )


def _status_cell(m: dict[str, str], labels: dict[str, str]) -> str:
    if m["slug"] not in labels or not m.get("status"):
        return "planned"
    text = STATUS_TEXT[m["status"]]
    if m["status"] == "real":
        text += f" (`{m['data']}`)"
    elif m.get("reason"):
        text += f": {m['reason']}"
    return _cell(text)


def render(methods: list[dict[str, str]], labels: dict[str, str]) -> str:
    """The MyST Markdown page: counts by status, then one table per category."""
    categories = list(dict.fromkeys(m["category"] for m in methods))
    lines = [
        "(methods-map)=",
        "# Methods map",
        "",
        f"The review this book follows {{cite}}`{KEY_PREFIX}monfortlanzas2025` collects, in its Table 1, the",
        "computational tools and experimental methods of perturbation biology, grouped as below.",
        "This page lists them all, with the idea behind each in one line, the section of this",
        "book that runs it, and how: on **public data**, on a planted-truth **simulation** (with",
        "the reason real data are not used), or as a **sketch** that runs only the core idea (the",
        'section says what is missing). "planned" means no section runs it yet. The last table',
        "adds reference tools the chapters use that the review's table does not list.",
        "",
        summary(methods, labels),
    ]
    for category in categories:
        lines += [
            "",
            f"## {category}",
            "",
            "| Method | Idea | Reference | Section | How it runs |",
            "|---|---|---|---|---|",
        ]
        for m in (m for m in methods if m["category"] == category):
            lines.append(
                f"| {_cell(m['name'])} | {_cell(m['idea'])} | {{cite}}`{KEY_PREFIX}{m['reference']}` "
                f"| {where(m, labels)} | {_status_cell(m, labels)} |"
            )
    lines += [
        "",
        "## References",
        "",
        "```{bibliography}",
        ":filter: docname in docnames",
        f":keyprefix: {KEY_PREFIX}",
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_executed" / "methods_map.md")
    parser.add_argument("--methods", type=Path, default=ROOT / "book" / "methods.yaml")
    parser.add_argument("--book", type=Path, default=ROOT / "book", help="folder of the chapters")
    parser.add_argument("--bib", type=Path, default=ROOT / "book" / "references.bib")
    parser.add_argument("--check", action="store_true", help="fail when the map and chapters disagree")
    parser.add_argument("--check-book", type=Path, default=ROOT / "book", help="chapter sources for --check")
    parser.add_argument("--status", type=Path, default=None, help="_build/status, to catch stand-ins")
    args = parser.parse_args(argv)

    methods = load_methods(args.methods)
    missing = sorted({m["reference"] for m in methods} - bib_keys(args.bib))
    if missing:
        parser.error(f"references missing from {args.bib}: {', '.join(missing)}")
    labels = find_labels(args.book)
    unknown = sorted(set(labels) - {m["slug"] for m in methods})
    if unknown:
        # A chapter may label a method outside Table 1; it simply does not appear on the map.
        print(f"note: labels not in {args.methods.name}: {', '.join(unknown)}", file=sys.stderr)

    if args.check:
        import perturbkit as pk

        problems = check(methods, args.check_book, manifests=pk.data.manifests(), status_dir=args.status)
        if problems:
            print("methods map does not match the chapters:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(methods, labels), encoding="utf-8")
    print(summary(methods, labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
