"""Write the book's build summary page from ``_build/status/*.json``.

Usage: python tools/build_summary.py [--out _executed/build_summary.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from chapters import CHAPTERS  # noqa: E402  (a sibling script, not a package)


def summary(status_dir: Path) -> str:
    lines = [
        "# Build summary",
        "",
        "Every chapter of this book is executed from its text source on every build",
        "(jupytext, then papermill). This page records how each run went: status, the mode",
        "(`full` or the quick `smoke` parameters), wall time, peak memory of the kernel,",
        "and the exact public files each chapter read, by sha256.",
        "",
        "| chapter | status | mode | parameters | runtime (s) | peak memory (MB) |",
        "|---|---|---|---|---|---|",
    ]
    details = []
    found = sorted(p.stem for p in status_dir.glob("*.json"))
    for chapter in list(CHAPTERS) + [c for c in found if c not in CHAPTERS]:
        path = status_dir / f"{chapter}.json"
        if not path.exists():
            lines.append(f"| {chapter} | not run | | | | |")
            continue
        s = json.loads(path.read_text())
        params = ", ".join(f"`{k}={v}`" for k, v in s.get("params", {}).items()) or "defaults"
        mark = "ok" if s["status"] == "ok" else "**FAILED**"
        lines.append(
            f"| {chapter} | {mark} | {s['mode']} | {params} | {s['runtime_s']} | {s['peak_mem_mb']} |"
        )
        details.append(f"## {chapter}")
        details.append("")
        if s["status"] != "ok":
            err = s["error"]
            details.append(f"Failed at cell {err['cell']} of the executed notebook: `{err['ename']}`")
            details.append("")
            details.append("```python")
            details.append(err.get("source", ""))
            details.append("```")
            details.append("")
            details.append("```text")
            details.append(err["evalue"])
            details.append("```")
            details.append("")
        if s.get("datasets"):
            details.append("| dataset | file | sha256 | from |")
            details.append("|---|---|---|---|")
            for d in s["datasets"]:
                details.append(f"| {d['dataset']} | {d['file']} | `{d['sha256']}` | {d.get('source', '')} |")
        else:
            details.append("No public data file was read (simulated data only).")
        details.append("")
    return "\n".join(lines + [""] + details)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "_executed" / "build_summary.md"))
    parser.add_argument("--status", default=str(ROOT / "_build" / "status"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(summary(Path(args.status)))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
