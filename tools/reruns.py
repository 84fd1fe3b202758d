"""The rerun matrix: every chapter in smoke mode with seeds 0, 1, 2 and documented alternatives.

Rerunning a chapter with other parameters is one of the book's uses, so CI runs each chapter
with several seeds and with alternative values of categorical parameters that run offline
(:data:`ALTERNATIVES`), plus the README's rerun examples exactly as written (their
``PARAMS``, in smoke mode). Each run goes through ``tools/run_chapter.py --out`` into its
own folder under ``_build/reruns/`` (the book's ``_executed/`` is left alone), and the
matrix writes ``_build/reruns/summary.md`` and ``summary.json``: chapter, parameters,
status, runtime, and for a failure the failing cell and error.

A run listed in :data:`KNOWN_FAILURES` (a claim a chapter's owner has yet to make robust to
the seed, issue #20) is reported as ``known failure`` and does not fail the matrix; if it
passes it is reported as ``fixed`` so the entry gets removed. Any other failure exits 1.

    python tools/reruns.py [--jobs N] [--only CHAPTER ...] [--seeds 0,1,2] [--mode full] [--list]

``--mode full`` runs the chapters at their default (full) parameters with each seed only:
the once-per-wave measurement that every chapter's claims hold for seeds 0-4
(``--mode full --seeds 0,1,2,3,4``; about half an hour on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import chapter_params  # noqa: E402  (a sibling script, not a package)
from chapters import CHAPTERS  # noqa: E402

SEEDS = (0, 1, 2)
# Alternative values of categorical parameters that run on the mirrored data (no internet).
ALTERNATIVES: dict[str, list[dict[str, str]]] = {
    "principles": [{"holdout": "B cells"}],  # another Kang 2018 cell type held out and predicted
    "dose_response": [{"candidate_models": "LL.4,W1.4"}],  # a smaller model set for the AIC choice
}
# (chapter, parameters as in the run's label) -> why it is allowed to fail for now.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}
# The README section whose `make chapter` lines are rerun as written.
README_SECTION = "## Rerunning a chapter with other parameters"
_MAKE_LINE = re.compile(r"^make chapter CH=(\w+)(?: PARAMS='([^']*)')?\s*(?:#.*)?$")


@dataclass
class Run:
    """One cell of the matrix: a chapter and its ``-p`` parameters (text, as typed)."""

    chapter: str
    params: dict[str, str]
    origin: str = "matrix"
    result: dict[str, object] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return " ".join(f"-p {k} {shlex.quote(v)}" for k, v in self.params.items()) or "(defaults)"

    @property
    def slug(self) -> str:
        text = "_".join(f"{k}-{v}" for k, v in self.params.items()) or "defaults"
        return f"{self.chapter}__{re.sub(r'[^A-Za-z0-9.-]+', '_', text)}"


def readme_examples(readme: Path = ROOT / "README.md") -> list[Run]:
    """The ``make chapter`` lines of the README's rerun section, as runs."""
    text = readme.read_text()
    if README_SECTION not in text:
        raise ValueError(f"{readme} has no section {README_SECTION!r}")
    section = text.split(README_SECTION, 1)[1].split("\n## ", 1)[0]
    runs = []
    for line in section.splitlines():
        match = _MAKE_LINE.match(line.strip())
        if not match:
            continue
        words = shlex.split(match.group(2) or "")
        if len(words) % 3 or any(w != "-p" for w in words[::3]):
            raise ValueError(f"README example {line.strip()!r}: PARAMS must be '-p NAME VALUE' pairs")
        runs.append(Run(match.group(1), dict(zip(words[1::3], words[2::3], strict=True)), origin="README"))
    if not runs:
        raise ValueError(f"{readme}: no `make chapter` example in {README_SECTION!r}")
    return runs


def matrix(chapters: tuple[str, ...] = CHAPTERS, seeds: tuple[int, ...] = SEEDS) -> list[Run]:
    """Seeds x chapters, the alternatives, then README examples not already covered."""
    runs = [Run(ch, {"seed": str(s)} if s else {}) for ch in chapters for s in seeds]
    runs += [Run(ch, alt, origin="alternative") for ch in chapters for alt in ALTERNATIVES.get(ch, [])]
    seen = {_key(r) for r in runs}
    for r in readme_examples():
        if r.chapter in chapters and _key(r) not in seen:
            seen.add(_key(r))
            runs.append(r)
    return runs


def _key(run: Run) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What a run executes in smoke mode: `-p smoke True` and `-p seed 0` change nothing."""
    same = {("smoke", "true"), ("seed", "0")}
    return run.chapter, tuple(sorted((k, v) for k, v in run.params.items() if (k, v.lower()) not in same))


def _execute(run: Run, out_root: Path, mode: str = "smoke") -> Run:
    out = out_root / run.slug
    cmd = [sys.executable, str(ROOT / "tools" / "run_chapter.py"), run.chapter, "--mode", mode, "--out", str(out)]
    for name, value in run.params.items():
        cmd += ["-p", name, value]
    if "checkpoint_dir" not in run.params and "checkpoint_dir" in chapter_params.declared(run.chapter):
        cmd += ["-p", "checkpoint_dir", str(out / "checkpoints")]  # runs side by side never share a model
    env = {**os.environ, "PERTURBKIT_RESULTS_DIR": str(out / "results")}
    start = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    status_file = out / f"{run.chapter}.json"
    status = json.loads(status_file.read_text()) if status_file.exists() else {}
    run.result = {"returncode": proc.returncode, "wall_s": round(time.time() - start, 1),
                  "status": status.get("status", "not started"), "runtime_s": status.get("runtime_s"),
                  "error": status.get("error") or ({"evalue": proc.stderr.strip()[-500:]} if proc.returncode else None)}
    return run


def _verdict(run: Run) -> str:
    known = (run.chapter, run.label) in KNOWN_FAILURES
    ok = run.result["returncode"] == 0
    if ok:
        return "fixed (remove from KNOWN_FAILURES)" if known else "ok"
    return "known failure" if known else "FAILED"


def report(runs: list[Run], total_s: float, mode: str = "smoke") -> str:
    lines = [f"# Rerun matrix ({mode} mode)", "",
             f"{len(runs)} runs in {total_s:.0f} s wall time.", "",
             "| chapter | parameters | from | result | runtime (s) | failing cell: error |",
             "|---|---|---|---|---|---|"]
    for r in runs:
        err = r.result.get("error") or {}
        where = f"cell {err.get('cell')}: {err.get('ename', '')} {str(err.get('evalue', ''))[:160]}" if err else ""
        where = where.replace("|", "/").replace("\n", " ")
        lines.append(f"| {r.chapter} | `{r.label}` | {r.origin} | {_verdict(r)} | {r.result.get('wall_s')} | {where} |")
    per_chapter: dict[str, float] = {}
    for r in runs:
        per_chapter[r.chapter] = per_chapter.get(r.chapter, 0.0) + float(r.result.get("wall_s") or 0)
    lines += ["", "Time per chapter (s, summed over its runs): "
              + ", ".join(f"{c} {t:.0f}" for c, t in sorted(per_chapter.items(), key=lambda kv: -kv[1]))]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="chapters run side by side (default 1)")
    parser.add_argument("--only", nargs="+", choices=CHAPTERS, default=list(CHAPTERS))
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "reruns")
    parser.add_argument("--mode", choices=("smoke", "full"), default="smoke",
                        help="full: default parameters, seeds only (no alternatives or README runs)")
    parser.add_argument("--list", action="store_true", help="print the runs and exit")
    args = parser.parse_args(argv)
    seeds = tuple(int(s) for s in args.seeds.split(","))
    if args.mode == "full":
        runs = [Run(ch, {"seed": str(s)}) for ch in args.only for s in seeds]
    else:
        runs = matrix(tuple(args.only), seeds)
    if args.list:
        for r in runs:
            print(f"{r.chapter:14s} {r.label:40s} {r.origin}")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.time()

    def one(run: Run) -> Run:
        _execute(run, args.out, args.mode)
        print(f"{run.chapter} {run.label}: {_verdict(run)} in {run.result['wall_s']} s", flush=True)
        return run

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        done = list(pool.map(one, runs))
    page = report(done, time.time() - start, args.mode)
    (args.out / "summary.md").write_text(page)
    (args.out / "summary.json").write_text(json.dumps(
        [{"chapter": r.chapter, "params": r.params, "origin": r.origin, "verdict": _verdict(r), **r.result}
         for r in done], indent=1))
    print(page)
    failed = [r for r in done if _verdict(r) == "FAILED"]
    if failed:
        print(f"{len(failed)} rerun(s) failed: " + "; ".join(f"{r.chapter} {r.label}" for r in failed),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
