"""Build the "Methods map" page: the review's Table 1, linked to where each method runs.

Reads ``book/methods.yaml`` and looks in the chapters (``book/*.md``) for MyST labels
``(method-<slug>)=``; a method whose label exists links to that section, the others are
marked "planned".

    python tools/methods_map.py --out _executed/methods_map.md
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
EXTRA = "Also in this book"  # category of tools beyond the review's Table 1
SECTIONS = ("principles", "screens", "dose_response", "spatial", "applications")
LABEL = re.compile(r"^\(method-([A-Za-z0-9_.+-]+)\)=\s*$", re.MULTILINE)
BIB_KEY = re.compile(r"^\s*@\w+\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)
# This page cites every reference the chapters cite; prefixing its keys keeps sphinxcontrib-bibtex
# from reporting each one as a duplicate citation.
KEY_PREFIX = "map-"


def load_methods(path: Path) -> list[dict[str, str]]:
    """Read the methods list and check it: all fields present, known section, unique slugs."""
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
        if m["slug"] in seen:
            raise ValueError(f"{path}: slug {m['slug']!r} is used twice")
        seen.add(m["slug"])
    return methods


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
    title = CHAPTER_TITLES.get(labels[slug], labels[slug])
    return f"{{ref}}`{title} <method-{slug}>`"


def render(methods: list[dict[str, str]], labels: dict[str, str]) -> str:
    """The MyST Markdown page: one table per category, in the order of the methods list."""
    categories = list(dict.fromkeys(m["category"] for m in methods))
    table1 = [m for m in methods if m["category"] != EXTRA]
    n_run = sum(m["slug"] in labels for m in table1)
    lines = [
        "(methods-map)=",
        "# Methods map",
        "",
        f"The review this book follows {{cite}}`{KEY_PREFIX}monfortlanzas2025` collects, in its Table 1, the",
        "computational tools and experimental methods of perturbation biology, grouped as below.",
        "This page lists them all, with the idea behind each in one line. The last column",
        'links to the section of this book that runs the method on data; "planned" means no',
        "chapter runs it yet. The last table adds reference tools the chapters use that the",
        "review's table does not list.",
        "",
        f"{n_run} of the {len(table1)} methods of Table 1 run in this book.",
    ]
    for category in categories:
        lines += [
            "",
            f"## {category}",
            "",
            "| Method | Idea | Reference | Runs in this book |",
            "|---|---|---|---|",
        ]
        for m in (m for m in methods if m["category"] == category):
            lines.append(
                f"| {_cell(m['name'])} | {_cell(m['idea'])} | {{cite}}`{KEY_PREFIX}{m['reference']}` "
                f"| {where(m, labels)} |"
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

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(methods, labels), encoding="utf-8")
    table1 = [m for m in methods if m["category"] != EXTRA]
    n_run = sum(m["slug"] in labels for m in table1)
    print(f"{n_run} of {len(table1)} methods of Table 1 run in the book")
    return 0


if __name__ == "__main__":
    sys.exit(main())
