"""The slowest cells of an executed chapter notebook, to see where a chapter's runtime goes.

papermill records each cell's wall time in ``cell.metadata.papermill.duration`` (seconds).
This lists the slowest code cells with their index, first non-blank source line, duration and
share of the notebook's total, plus the total itself, so a runtime cut starts where the time is.

    python tools/cell_times.py _executed/principles.ipynb [--top 15] [--markdown]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CellTime:
    """One executed code cell: its index in the notebook, first source line and wall time."""

    index: int
    first_line: str
    seconds: float


def _first_line(source: str | list[str]) -> str:
    text = "".join(source) if isinstance(source, list) else source
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def cell_times(notebook: dict) -> list[CellTime]:
    """Durations of every code cell papermill timed, in notebook order.

    Cells without a ``papermill.duration`` (never executed, e.g. after a failure) are skipped;
    a ``None`` duration (papermill's value for a cell it started but did not finish) counts as 0.

    Examples
    --------
    >>> nb = {"cells": [
    ...     {"cell_type": "markdown", "source": "# T", "metadata": {}},
    ...     {"cell_type": "code", "source": ["\\n", "fit()\\n"],
    ...      "metadata": {"papermill": {"duration": 2.5}}},
    ...     {"cell_type": "code", "source": "x = 1", "metadata": {}}]}
    >>> cell_times(nb)
    [CellTime(index=1, first_line='fit()', seconds=2.5)]
    """
    if "cells" not in notebook:
        raise ValueError("not a notebook: no 'cells' key")
    out = []
    for i, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") != "code":
            continue
        pm = cell.get("metadata", {}).get("papermill")
        if not pm or "duration" not in pm:
            continue
        out.append(CellTime(i, _first_line(cell.get("source", "")), float(pm["duration"] or 0.0)))
    return out


def slowest(times: list[CellTime], top: int = 15) -> list[tuple[CellTime, float]]:
    """The ``top`` slowest cells, slowest first, each with its share of the total (0-1).

    Examples
    --------
    >>> ts = [CellTime(0, "a", 1.0), CellTime(1, "b", 3.0), CellTime(2, "c", 0.0)]
    >>> [(c.first_line, share) for c, share in slowest(ts, top=2)]
    [('b', 0.75), ('a', 0.25)]
    """
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    total = sum(c.seconds for c in times)
    ranked = sorted(times, key=lambda c: (-c.seconds, c.index))[:top]
    return [(c, c.seconds / total if total > 0 else 0.0) for c in ranked]


def format_table(times: list[CellTime], top: int = 15, *, markdown: bool = False, width: int = 70) -> str:
    """A text (or Markdown) table of the slowest cells and the notebook total.

    Examples
    --------
    >>> print(format_table([CellTime(3, "pk.tl.fit(adata)", 9.0), CellTime(4, "x", 1.0)], top=1))
     cell  seconds  share  first line
        3      9.0  90.0%  pk.tl.fit(adata)
    total     10.0 s over 2 timed cells
    """
    rows = slowest(times, top)
    total = sum(c.seconds for c in times)
    lines = []
    if markdown:
        lines += ["| cell | seconds | share | first line |", "|---:|---:|---:|---|"]
        for c, share in rows:
            text = c.first_line[:width].replace("|", "\\|")
            lines.append(f"| {c.index} | {c.seconds:.1f} | {share:.1%} | `{text}` |")
    else:
        lines.append(f"{'cell':>5}  {'seconds':>7}  {'share':>5}  first line")
        for c, share in rows:
            lines.append(f"{c.index:>5}  {c.seconds:>7.1f}  {share:>5.1%}  {c.first_line[:width]}")
    lines.append(f"total {total:>8.1f} s over {len(times)} timed cells")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path, help="an executed .ipynb written by papermill")
    parser.add_argument("--top", type=int, default=15, help="how many cells to list (default 15)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    notebook = json.loads(args.notebook.read_text(encoding="utf-8"))
    times = cell_times(notebook)
    if not times:
        parser.error(f"{args.notebook}: no cell has papermill timing (was it run through papermill?)")
    print(format_table(times, args.top, markdown=args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
