"""Docstring text shared by the plotting functions (as scanpy's ``_doc_params``).

Every ``pk.pl`` function takes ``ax`` and ``title`` and returns the axes it drew on; the
words for them are written once here and put into each docstring by :func:`fill_doc`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

# Indented as parameter entries of a function docstring (4 spaces name, 8 description).
DOC = {
    "ax": "    ax\n        Axes to draw on (a new figure when ``None``).",
    "title": "    title\n        Plot title.",
    "returns_axes": "    Returns\n    -------\n    matplotlib.axes.Axes\n        The axes drawn on.",
}


def fill_doc(func: F) -> F:
    """Replace ``{ax}``, ``{title}`` and ``{returns_axes}`` lines in ``func``'s docstring.

    Only these placeholders are touched, so other braces in a docstring (dicts, sets) stay.
    """
    doc = func.__doc__ or ""
    for key, text in DOC.items():
        doc = doc.replace("    {" + key + "}", text)
    unfilled = [key for key in DOC if "{" + key + "}" in doc]
    if unfilled:
        raise ValueError(f"{func.__qualname__}: placeholder {unfilled} not on its own indented line")
    func.__doc__ = doc
    return func
