"""The chapter runner: parameters reach the notebook, failures name the cell, strict mode fails."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_chapter = _module("run_chapter")
build_summary = _module("build_summary")

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: perturbkit
  language: python
  name: perturbkit
---
# Demo

```{code-cell} ipython3
:tags: [parameters]
seed: int = 0
smoke: bool = False
```

```{code-cell} ipython3
import json, pathlib
pathlib.Path("out.json").write_text(json.dumps({"seed": seed, "smoke": smoke}))
assert seed != 13, "unlucky seed"
```
"""


@pytest.fixture()
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "demo.md").write_text(CHAPTER)
    monkeypatch.setenv("PERTURBKIT_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.delenv("PERTURBKIT_STRICT", raising=False)
    return tmp_path


def test_parameters_are_typed_before_the_kernel_starts(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_chapter.run("demo", "full", {"sede": "1"}, root=root) == 2
    assert "demo has no parameter 'sede' (did you mean seed?); known parameters: seed, smoke" in capsys.readouterr().err
    assert run_chapter.run("demo", "full", {"seed": "one"}, root=root) == 2
    assert "seed is an int, got 'one'" in capsys.readouterr().err
    assert not (root / "_executed" / "demo.ipynb").exists()


def test_false_means_false_and_1e3_is_an_int(root: Path) -> None:
    assert run_chapter.run("demo", "full", {"smoke": "false", "seed": "1e3"}, root=root) == 0
    assert json.loads((root / "out.json").read_text()) == {"seed": 1000, "smoke": False}


def test_parameters_are_injected_and_status_written(root: Path) -> None:
    assert run_chapter.run("demo", "smoke", {"seed": 7}, root=root) == 0
    assert json.loads((root / "out.json").read_text()) == {"seed": 7, "smoke": True}
    status = json.loads((root / "_build" / "status" / "demo.json").read_text())
    assert status["status"] == "ok" and status["params"] == {"smoke": True, "seed": 7}
    assert status["runtime_s"] > 0
    out = root / "_executed" / "demo.ipynb"
    assert out.exists() and os.stat(out).st_mtime == 0  # non-default run: stale for `make book`


@pytest.mark.parametrize("strict", ["0", "1"])
def test_failure_names_the_cell_and_exits_nonzero_in_every_mode(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], strict: str
) -> None:
    monkeypatch.setenv("PERTURBKIT_STRICT", strict)
    assert run_chapter.run("demo", "full", {"seed": 13}, root=root) == 1
    err = capsys.readouterr().err
    assert "demo: FAILED at cell 3" in err and "assert seed != 13" in err
    status = json.loads((root / "_build" / "status" / "demo.json").read_text())
    assert status["status"] == "failed"
    assert status["error"]["ename"] == "AssertionError" and "unlucky seed" in status["error"]["evalue"]
    assert status["error"]["cell"] == 3  # 0 markdown, 1 parameters, 2 injected, 3 failing
    assert "assert seed != 13" in status["error"]["source"]
    page = build_summary.summary(root / "_build" / "status")
    assert "**FAILED**" in page and "unlucky seed" in page
    assert run_chapter.run("demo", "smoke", {"seed": 13}, root=root) == 1


def test_out_dir_leaves_the_book_copies_alone(root: Path) -> None:
    out = root / "_build" / "reruns" / "demo_seed2"
    assert run_chapter.run("demo", "smoke", {"seed": "2"}, root=root, out_dir=out) == 0
    assert (out / "demo.ipynb").exists() and json.loads((out / "demo.json").read_text())["status"] == "ok"
    assert not (root / "_executed").exists() and not (root / "_build" / "status").exists()
