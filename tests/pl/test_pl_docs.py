"""Shared plotting docstring text: filled in every pk.pl function, misuse caught."""

import inspect

import pytest

import perturbkit as pk
from perturbkit.pl._docs import DOC, fill_doc


@pytest.mark.parametrize("name", sorted(n for n in dir(pk.pl) if not n.startswith("_")))
def test_no_placeholder_left(name: str) -> None:
    func = getattr(pk.pl, name)
    if not inspect.isfunction(func):
        pytest.skip("not a function")
    doc = func.__doc__
    assert not any("{" + key + "}" in doc for key in DOC), name
    assert "Parameters" in doc, name


def test_fill_doc_fills_and_keeps_other_braces() -> None:
    def f(ax=None, title=""):
        """Plot.

        Parameters
        ----------
        {ax}
        {title}

        {returns_axes}

        A dict ``{"a": 1}`` stays.
        """

    # the helper expects a 4-space indented docstring, as written inside a module
    f.__doc__ = inspect.cleandoc(f.__doc__).replace("\n", "\n    ")
    doc = fill_doc(f).__doc__
    assert "    ax\n        Axes to draw on" in doc
    assert "    Returns\n    -------\n    matplotlib.axes.Axes" in doc
    assert '{"a": 1}' in doc


def test_fill_doc_rejects_inline_placeholder() -> None:
    def g():
        """Use {ax} inline."""

    with pytest.raises(ValueError, match="placeholder"):
        fill_doc(g)
