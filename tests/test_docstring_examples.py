"""Every public function's docstring Examples run and print what they say.

The examples are the first code a reader copies; running them here keeps them true.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import os
from pathlib import Path

import matplotlib
import pytest

import perturbkit as pk

MODULES = ("data", "pp", "tl", "pl", "get", "dose", "book")


def _public_functions() -> list[str]:
    names = []
    for mod in MODULES:
        for name in sorted(dir(getattr(pk, mod))):
            if not name.startswith("_") and inspect.isfunction(getattr(getattr(pk, mod), name)):
                names.append(f"{mod}.{name}")
    return names


@pytest.mark.parametrize("qualname", _public_functions())
def test_docstring_examples_run(qualname: str, tmp_path, monkeypatch) -> None:
    mod, name = qualname.split(".")
    func = getattr(getattr(pk, mod), name)
    tests = doctest.DocTestFinder(recurse=False).find(func, qualname, globs={})
    assert tests and tests[0].examples, f"{qualname}: no runnable example"
    # examples may write checkpoints or results, or set environment variables
    monkeypatch.chdir(tmp_path)
    saved = dict(os.environ)
    backend = matplotlib.get_backend()
    matplotlib.use("Agg")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    try:
        for test in tests:
            runner.run(test, out=report.append)
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
        matplotlib.use(backend)
        os.environ.clear()
        os.environ.update(saved)
    assert runner.summarize(verbose=False).failed == 0, "".join(report)


LOADERS = sorted(p.stem for p in (Path(pk.__file__).parent / "data" / "_loaders").glob("[!_]*.py"))


@pytest.mark.parametrize("loader", LOADERS)
def test_loader_examples_run(loader: str, mirror) -> None:
    """Each dataset reader's docstring examples (they load the mirrored file)."""
    module = importlib.import_module(f"perturbkit.data._loaders.{loader}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=False)
    assert result.attempted > 0, f"{loader}: no runnable example"
    assert result.failed == 0, f"{result.failed} example(s) failed in the {loader} loader"
