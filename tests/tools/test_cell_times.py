"""tools/cell_times.py: per-cell durations from papermill metadata, ranked, with shares."""

from __future__ import annotations

import doctest
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import cell_times  # noqa: E402


def _cell(source: str, duration: float | None, kind: str = "code") -> dict:
    meta = {} if duration is False else {"papermill": {"duration": duration}}
    return {"cell_type": kind, "source": source, "metadata": meta}


def _notebook() -> dict:
    return {"cells": [
        _cell("# Title", 0.0, kind="markdown"),  # markdown is never counted
        _cell("import perturbkit as pk", 1.0),
        _cell("\n\nmodel = pk.tl.fit(adata, epochs=200)\nmore()", 6.0),
        _cell("pk.pl.umap(adata)", 3.0),
        _cell("never_ran()", False),  # after a failure: no papermill duration
        _cell("interrupted()", None),  # papermill's None for a cell that did not finish
    ]}


def test_durations_indices_and_first_lines() -> None:
    times = cell_times.cell_times(_notebook())
    assert [(c.index, c.first_line, c.seconds) for c in times] == [
        (1, "import perturbkit as pk", 1.0),
        (2, "model = pk.tl.fit(adata, epochs=200)", 6.0),
        (3, "pk.pl.umap(adata)", 3.0),
        (5, "interrupted()", 0.0),
    ]


def test_slowest_first_with_shares_summing_to_one() -> None:
    ranked = cell_times.slowest(cell_times.cell_times(_notebook()), top=15)
    assert [c.index for c, _ in ranked] == [2, 3, 1, 5]
    assert [round(s, 3) for _, s in ranked] == [0.6, 0.3, 0.1, 0.0]
    assert sum(s for _, s in ranked) == pytest.approx(1.0)
    assert [c.index for c, _ in cell_times.slowest(cell_times.cell_times(_notebook()), top=2)] == [2, 3]
    with pytest.raises(ValueError, match="top must be >= 1, got 0"):
        cell_times.slowest([], top=0)


def test_cli_on_a_written_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ch.ipynb"
    path.write_text(json.dumps(_notebook()))
    assert cell_times.main([str(path), "--top", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["2", "6.0", "60.0%", "model", "=", "pk.tl.fit(adata,", "epochs=200)"]
    assert out[2].split()[:3] == ["3", "3.0", "30.0%"]
    assert out[-1] == "total     10.0 s over 4 timed cells"
    assert cell_times.main([str(path), "--markdown", "--top", "1"]) == 0
    md = capsys.readouterr().out.splitlines()
    assert md[2] == "| 2 | 6.0 | 60.0% | `model = pk.tl.fit(adata, epochs=200)` |"


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no 'cells' key"):
        cell_times.cell_times({"metadata": {}})
    path = tmp_path / "plain.ipynb"
    path.write_text(json.dumps({"cells": [_cell("x = 1", False)]}))
    with pytest.raises(SystemExit):
        cell_times.main([str(path)])


def test_docstring_examples() -> None:
    result = doctest.testmod(cell_times)
    assert result.attempted >= 3 and result.failed == 0
