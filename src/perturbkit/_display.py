"""Showing a message in a rendered page or a terminal; shared by `book` and `data` so
neither imports the other."""

from __future__ import annotations

import html

__all__ = ["banner", "display_html", "in_notebook"]


def display_html(markup: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:  # plain Python: fall back to text
        print(html.unescape(markup))
        return
    if get_ipython() is None:
        print(html.unescape(markup))
    else:
        display(HTML(markup))


def banner(text: str, *, title: str = "Note", kind: str = "warning") -> None:
    """Show a visible admonition box in the rendered page (plain text outside notebooks).

    Parameters
    ----------
    text
        The message.
    title
        Bold title of the box.
    kind
        Admonition class: ``"warning"``, ``"note"``, ``"danger"``...

    Returns
    -------
    None

    Examples
    --------
    >>> import perturbkit as pk
    >>> pk.book.banner("runs on simulated data", title="Simulated stand-in")
    Simulated stand-in: runs on simulated data
    """
    display_html(
        f'<div class="admonition {kind}"><p class="admonition-title">{html.escape(title)}</p>'
        f"<p>{html.escape(text)}</p></div>"
        if in_notebook()
        else f"{title}: {text}"
    )


def in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None
