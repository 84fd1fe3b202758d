"""Execute one chapter: MyST text notebook -> jupytext -> papermill -> _executed/<chapter>.ipynb.

Writes ``_build/status/<chapter>.json`` (status, runtime, peak memory, parameters,
datasets with sha256, and on failure the cell and error) for the build summary page.
A failing chapter exits 1 in every mode, printing the chapter, the failing cell and its
source; the failure is also recorded, so the summary page marks the chapter failed.

Parameters are checked against the chapter's ``parameters`` cell before any kernel starts
(``tools/chapter_params.py``): an unknown name or a value that does not fit the declared
type exits 2 with a one-line message.

Usage: python tools/run_chapter.py CHAPTER [--mode smoke|full] [-p NAME VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNEL = os.environ.get("PERTURBKIT_KERNEL", "perturbkit")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import chapter_params  # noqa: E402  (a sibling script, not a package)
from chapters import CHAPTERS  # noqa: E402  (the chapter registry, read from _toc.yml)


def _datasets(log: Path) -> list[dict[str, str]]:
    if not log.exists():
        return []
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        seen[(entry["dataset"], entry["file"])] = entry
    return list(seen.values())


def run(chapter: str, mode: str, params: dict[str, object], root: Path = ROOT, out_dir: Path | None = None) -> int:
    """Execute ``book/<chapter>.md``; ``params`` are text (from ``-p``) or typed values.

    ``out_dir`` (e.g. for the rerun matrix) receives the executed notebook and its status
    instead of ``_executed/`` and ``_build/status/``, leaving the book's copies alone.

    Returns 0 when every cell ran, 1 when the chapter failed (the failing cell printed),
    2 when it could not start (no such chapter, a parameter it does not declare or take).
    """
    import jupytext
    import papermill as pm

    executed, status_dir = root / "_executed", root / "_build" / "status"
    work = root / "_build" / "work"
    if out_dir is not None:
        executed = status_dir = work = Path(out_dir)
    source = root / "book" / f"{chapter}.md"
    if not source.exists():
        print(f"no chapter source {source}; the book's chapters (_toc.yml): {' '.join(CHAPTERS)}", file=sys.stderr)
        return 2
    if mode == "smoke":
        params = {"smoke": True, **params}
    try:
        params = chapter_params.parse(chapter, params, root)
    except chapter_params.ParameterError as err:
        print(f"{chapter}: {err}", file=sys.stderr)
        return 2
    # papermill writes lists, not tuples, into the notebook
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
    for folder in (executed, status_dir, work):
        folder.mkdir(parents=True, exist_ok=True)
    staged = work / f"{chapter}.staged.ipynb"
    jupytext.write(jupytext.read(source), staged)

    log = status_dir / f"{chapter}.provenance.jsonl"
    log.unlink(missing_ok=True)
    os.environ["PERTURBKIT_PROVENANCE_LOG"] = str(log)
    os.environ.setdefault("PERTURBKIT_RESULTS_DIR", str(root / "_build" / "results"))
    out = executed / f"{chapter}.ipynb"

    status: dict[str, object] = {"chapter": chapter, "mode": mode, "params": params}
    start = time.time()
    try:
        pm.execute_notebook(
            str(staged),
            str(out),
            parameters=params,
            kernel_name=KERNEL,
            cwd=str(root),
            progress_bar=False,
            request_save_on_cell_execute=False,
        )
        status["status"] = "ok"
    except pm.PapermillExecutionError as err:
        status["status"] = "failed"
        status["error"] = {
            "cell": err.cell_index,
            "source": err.source[:400],
            "ename": err.ename,
            "evalue": str(err.evalue)[:2000],
        }
    except Exception as err:  # kernel died, timeout, bad notebook: still a failed chapter
        status["status"] = "failed"
        status["error"] = {"cell": None, "source": "", "ename": type(err).__name__, "evalue": str(err)[:2000]}
    status["runtime_s"] = round(time.time() - start, 1)
    # ru_maxrss of the largest finished child: the kernel (kB on Linux)
    status["peak_mem_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    status["datasets"] = _datasets(log)
    status["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    (status_dir / f"{chapter}.json").write_text(json.dumps(status, indent=1))

    default_run = mode == "full" and not params
    if out_dir is None and out.exists() and (status["status"] != "ok" or not default_run):
        # Mark as stale so the next `make book` re-executes it with default parameters.
        os.utime(out, (0, 0))
    if status["status"] == "ok":
        print(f"{chapter}: ok in {status['runtime_s']} s (peak {status['peak_mem_mb']} MB)")
        return 0
    err = status["error"]
    msg = (
        f"{chapter}: FAILED at cell {err['cell']} (in {out}): "
        f"{err['ename']}: {err['evalue'][:500]}\n--- cell source ---\n{err['source']}"
    )
    print(msg, file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", help=f"chapter id: {', '.join(CHAPTERS)}")
    parser.add_argument("--mode", choices=["smoke", "full"], default="full")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the executed notebook and status (default: _executed/, _build/status/)")
    args = parser.parse_args(argv)
    return run(args.chapter, args.mode, dict(args.parameter), out_dir=args.out)


if __name__ == "__main__":
    sys.exit(main())
