"""tools/methods_map.py: labels found in chapters become links, the rest "planned"."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("methods_map", ROOT / "tools" / "methods_map.py")
methods_map = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(methods_map)

METHODS = [
    {
        "name": "Augur",
        "slug": "augur",
        "category": "Single-cell analyses",
        "idea": "Classifier AUC per cell type.",
        "reference": "skinnider2021",
        "section": "principles",
    },
    {
        "name": "LIANA+",
        "slug": "liana",
        "category": "Spatial omics",
        "idea": "Ligand-receptor scores | many methods.",
        "reference": "dimitrov2024",
        "section": "spatial",
    },
    {
        "name": "Perturb-Seq",
        "slug": "perturb-seq",
        "category": "Experimental methods",
        "idea": "Pooled CRISPR with scRNA-seq.",
        "reference": "dixit2016",
        "section": "screens",
    },
]
BIB = "".join(f"@article{{{m['reference']},\n  title = {{x}}\n}}\n" for m in METHODS)
BIB += "@article{monfortlanzas2025,\n  title = {x}\n}\n"


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A fake book: two chapters, labels for Augur and Perturb-Seq only, plus a stray one."""
    (tmp_path / "methods.yaml").write_text(yaml.safe_dump(METHODS))
    (tmp_path / "references.bib").write_text(BIB)
    (tmp_path / "principles.md").write_text(
        "# Principles\n\n(method-augur)=\n## Which cell type responds?\n"
    )
    (tmp_path / "screens.md").write_text(
        "# Screens\n\n(method-perturb-seq)=\n## Perturb-seq\n\n(method-mixscape)=\n## Mixscape\n"
        "Not a label: (method-liana)= in running text.\n"
    )
    return tmp_path


def test_find_labels(book: Path) -> None:
    assert methods_map.find_labels(book) == {
        "augur": "principles",
        "perturb-seq": "screens",
        "mixscape": "screens",
    }


def test_label_found_links_missing_is_planned(book: Path) -> None:
    labels = methods_map.find_labels(book)
    page = methods_map.render(methods_map.load_methods(book / "methods.yaml"), labels)
    rows = {line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| ")}
    assert rows["Augur"].rstrip(" |").endswith("{ref}`Principles <method-augur>`")
    assert rows["Perturb-Seq"].rstrip(" |").endswith("{ref}`Single-cell screens <method-perturb-seq>`")
    assert rows["LIANA+"].rstrip(" |").endswith("planned")
    assert "{cite}`map-dimitrov2024`" in rows["LIANA+"]
    assert "\\|" in rows["LIANA+"]  # a pipe in the idea must not split the table
    assert page.startswith("(methods-map)=\n# Methods map")
    assert "2 of the 3 methods of Table 1 run in this book." in page
    for category in ("Single-cell analyses", "Spatial omics", "Experimental methods"):
        assert f"## {category}" in page
    assert "```{bibliography}\n:filter: docname in docnames\n:keyprefix: map-\n```" in page


def test_main_writes_page_and_summary(book: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = book / "_executed" / "methods_map.md"
    argv = [
        "--out",
        str(out),
        "--methods",
        str(book / "methods.yaml"),
        "--book",
        str(book),
        "--bib",
        str(book / "references.bib"),
    ]
    assert methods_map.main(argv) == 0
    assert out.read_text().startswith("(methods-map)=")
    captured = capsys.readouterr()
    assert captured.out.strip() == "2 of 3 methods of Table 1 run in the book"
    assert "mixscape" in captured.err  # a label outside the table is reported


def test_main_fails_on_missing_reference(book: Path) -> None:
    (book / "references.bib").write_text("@article{skinnider2021,\n  title = {x}\n}\n")
    argv = [
        "--out",
        str(book / "out.md"),
        "--methods",
        str(book / "methods.yaml"),
        "--book",
        str(book),
        "--bib",
        str(book / "references.bib"),
    ]
    with pytest.raises(SystemExit):
        methods_map.main(argv)


def test_duplicate_slug_rejected(tmp_path: Path) -> None:
    path = tmp_path / "methods.yaml"
    path.write_text(yaml.safe_dump([METHODS[0], dict(METHODS[1], slug="augur")]))
    with pytest.raises(ValueError, match="augur"):
        methods_map.load_methods(path)


# The real list: Table 1 of the review.


def test_book_methods_valid_and_slugs_unique() -> None:
    methods = methods_map.load_methods(ROOT / "book" / "methods.yaml")
    slugs = [m["slug"] for m in methods]
    assert len(slugs) == len(set(slugs))
    assert all(s == s.lower() and " " not in s for s in slugs)
    table1 = [m for m in methods if m["category"] != methods_map.EXTRA]
    assert len(table1) == 46  # 9 drug response, 16 single-cell, 8 spatial, 13 experimental
    assert {m["category"] for m in methods} == {
        "Drug response",
        "Single-cell analyses",
        "Spatial omics",
        "Experimental methods",
        methods_map.EXTRA,
    }


def test_book_references_exist() -> None:
    methods = methods_map.load_methods(ROOT / "book" / "methods.yaml")
    keys = methods_map.bib_keys(ROOT / "book" / "references.bib")
    assert {m["reference"] for m in methods} <= keys
    assert "monfortlanzas2025" in keys  # cited in the page's intro


def test_bib_keys_unique() -> None:
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    keys = methods_map.BIB_KEY.findall(text)
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
