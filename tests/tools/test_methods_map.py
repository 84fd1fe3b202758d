"""tools/methods_map.py: labels become links with an honest status; mismatches fail the check."""

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
        "status": "real",
        "function": "pk.tl.augur",
        "data": "kang2018_ifnb_muscat",
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
        "status": "simulation",
        "function": "pk.tl.assign_guides",
        "reason": "planted guides",
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
        "# Principles\n\nadata = pk.data.load(\"kang2018_ifnb_muscat\")\n\n"
        "(method-augur)=\n## Which cell type responds?\n\n```python\n# a comment, not a heading\n"
        "aucs = pk.tl.augur(adata)\n```\n\n### Reading the result\n\n## Next section\n"
    )
    (tmp_path / "screens.md").write_text(
        "# Screens\n\n(method-perturb-seq)=\n## Perturb-seq\npk.tl.assign_guides(adata)\n\n"
        "(method-mixscape)=\n## Mixscape\nNot a label: (method-liana)= in running text.\n"
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
    assert "{ref}`Augur section <method-augur>` | public data (`kang2018_ifnb_muscat`) |" in rows["Augur"]
    assert "{ref}`Perturb-Seq section <method-perturb-seq>` | simulation: planted guides |" in rows["Perturb-Seq"]
    assert rows["LIANA+"].rstrip(" |").endswith("planned | planned")
    assert "{cite}`map-dimitrov2024`" in rows["LIANA+"]
    assert "\\|" in rows["LIANA+"]  # a pipe in the idea must not split the table
    assert page.startswith("(methods-map)=\n# Methods map")
    assert (
        "Of the 3 methods of Table 1, 1 run on public data, 1 on a planted-truth simulation and 0 as "
        "a sketch of the core idea only; 1 are planned." in page
    )
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
    assert captured.out.strip().startswith("Of the 3 methods of Table 1, 1 run on public data")
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


# The check: every planted mismatch is caught, the real book has none.


def _problems(book: Path, **kw) -> list[str]:
    import perturbkit as pk

    methods = methods_map.load_methods(book / "methods.yaml")
    return methods_map.check(methods, book, manifests=pk.data.manifests(), **kw)


def test_check_passes_on_consistent_book(book: Path) -> None:
    assert _problems(book) == []


def test_sections_stop_at_same_level_heading_not_at_code_comments(book: Path) -> None:
    sec = methods_map.sections((book / "principles.md").read_text())["augur"]
    assert "pk.tl.augur(adata)" in sec and "### Reading the result" in sec
    assert "Next section" not in sec


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"section": "screens"}, "labelled in 'principles' but section is 'screens'"),
        ({"function": "pk.tl.no_such_function"}, "pk.tl.no_such_function does not exist"),
        ({"function": "pk.tl.mixscape"}, "pk.tl.mixscape is not called in the section"),
        ({"data": "papalexi2021_eccite_sceptredata"}, "chapter principles never names it"),
        ({"data": "norman2019"}, "not a verified (mirrored) dataset"),
        ({"data": "no_such_data"}, "is not a dataset id"),
        ({"function": None}, "names no `function:`"),
    ],
)
def test_check_catches_planted_mismatch(book: Path, change: dict, message: str) -> None:
    methods = [dict(METHODS[0], **change), *METHODS[1:]]
    (book / "methods.yaml").write_text(yaml.safe_dump(methods))
    problems = _problems(book)
    assert any(message in p for p in problems), problems


def test_check_catches_a_real_section_run_on_a_stand_in(book: Path) -> None:
    import json

    status = book / "status"
    status.mkdir()
    (status / "principles.json").write_text(json.dumps({"datasets": []}))
    assert any("did not read it (stand-in?)" in p for p in _problems(book, status_dir=status))
    (status / "principles.json").write_text(json.dumps({"datasets": [{"dataset": "kang2018_ifnb_muscat"}]}))
    assert _problems(book, status_dir=status) == []


def test_status_needs_reason_or_data(tmp_path: Path) -> None:
    path = tmp_path / "methods.yaml"
    path.write_text(yaml.safe_dump([dict(METHODS[2], reason=None)]))
    with pytest.raises(ValueError, match="gives no `reason:`"):
        methods_map.load_methods(path)
    path.write_text(yaml.safe_dump([dict(METHODS[0], status="done")]))
    with pytest.raises(ValueError, match="status 'done'"):
        methods_map.load_methods(path)


def test_the_book_map_matches_its_chapters(mirror) -> None:
    """The real methods.yaml against the real chapters: labels, functions, verified data."""
    problems = _problems(ROOT / "book")
    assert problems == [], "\n".join(problems)
    methods = methods_map.load_methods(ROOT / "book" / "methods.yaml")
    labels = methods_map.find_labels(ROOT / "book")
    assert all(m.get("status") for m in methods if m["slug"] in labels)


def test_readme_and_index_quote_the_map() -> None:
    """The counts a reader sees on the front pages are the map's, not hand-written."""
    methods = methods_map.load_methods(ROOT / "book" / "methods.yaml")
    sentence = methods_map.summary(methods, methods_map.find_labels(ROOT / "book"))
    for page in ("README.md", "book/index.md"):
        text = " ".join((ROOT / page).read_text().split())
        assert sentence in text, f"{page} must quote the methods map: {sentence}"
