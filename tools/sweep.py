"""Run chapters over a grid of parameters on a Dask cluster; gather every run's results into one table.

A sweep file (YAML) names the chapters, the mode and the grid::

    name: principles_holdout
    chapters: [principles]
    mode: smoke                       # or full
    grid: {holdout: ["CD4 T cells", "B cells"], seed: [0, 1, 2]}
    retries: 1                        # a failed run is tried once more

Every (chapter, grid point) is one run, executed by papermill in its own process with its own
folder ``_build/sweeps/<name>/<run id>/`` (the executed notebook, ``status.json``, the chapter's
results JSON). Runs go to a dask.distributed cluster: ``--scheduler`` or
``DASK_SCHEDULER_ADDRESS`` for an existing one, else a LocalCluster of ``--workers`` processes;
without dask, a local process pool. A run whose ``status.json`` says ok is not run again, so an
interrupted sweep resumes where it stopped. At the end every run's scalar results are gathered
into ``results.csv`` (one row per run x result: run, chapter, parameters, key, value) and
``summary.md`` (one row per run: status, runtime, failing cell).

Usage: python tools/sweep.py SWEEP.yaml [--workers 2] [--scheduler ADDRESS] [--root DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import chapter_params  # noqa: E402  (a sibling script, not a package)


def load_sweep(path: Path, root: Path = ROOT) -> dict:
    """Read and check a sweep file: every grid name must be a parameter of every chapter."""
    spec = yaml.safe_load(Path(path).read_text())
    missing = [k for k in ("name", "chapters", "grid") if k not in spec]
    if missing:
        raise ValueError(f"{path}: sweep file needs {missing}")
    spec.setdefault("mode", "smoke")
    spec.setdefault("retries", 1)
    if spec["mode"] not in ("smoke", "full"):
        raise ValueError(f"{path}: mode must be 'smoke' or 'full', got {spec['mode']!r}")
    for chapter in spec["chapters"]:
        point = {k: v[0] for k, v in spec["grid"].items()}
        chapter_params.parse(chapter, point, root)  # an unknown name fails here, before any run
    return spec


def runs(spec: dict) -> list[dict]:
    """One dict per (chapter, grid point): id, chapter, params."""
    names = list(spec["grid"])
    out = []
    for chapter in spec["chapters"]:
        for values in itertools.product(*(spec["grid"][n] for n in names)):
            params = dict(zip(names, values, strict=True))
            digest = hashlib.sha256(json.dumps([chapter, params], sort_keys=True).encode()).hexdigest()[:8]
            label = "-".join(f"{k}={v}" for k, v in params.items())
            safe = "".join(c if c.isalnum() or c in "=-_." else "_" for c in label)
            out.append({"id": f"{chapter}-{safe}-{digest}", "chapter": chapter, "params": params})
    return out


def execute(run: dict, mode: str, root: str, out: str, retries: int) -> dict:
    """Run one chapter in a fresh process (isolated folder and environment); retry on failure."""
    folder = Path(out) / run["id"]
    status_file = folder / "status.json"
    if status_file.exists() and json.loads(status_file.read_text()).get("status") == "ok":
        return {**json.loads(status_file.read_text()), "resumed": True}
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PERTURBKIT_RESULTS_DIR": str(folder), "MPLBACKEND": "Agg"}
    status: dict = {}
    for attempt in range(1 + retries):
        status_file.unlink(missing_ok=True)  # a crash must not read the previous attempt's status
        cmd = [sys.executable, str(Path(__file__).resolve()), "--one", json.dumps(run), mode, root, str(folder)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        status = json.loads(status_file.read_text()) if status_file.exists() else {
            "status": "failed", "error": {"cell": None, "ename": "crash", "evalue": proc.stderr[-2000:]}}
        status["attempts"] = attempt + 1
        status_file.write_text(json.dumps(status, indent=1))
        if status["status"] == "ok":
            break
    return status


def run_parameters(run: dict, mode: str, root: Path, folder: Path) -> dict:
    """The papermill parameters of one run: its grid point, ``smoke`` in smoke mode, and, for a
    chapter that saves model weights (a ``checkpoint_dir`` parameter), a checkpoint folder of
    its own: runs of one chapter side by side on a cluster overwrote each other's weights."""
    params = {"smoke": True, **run["params"]} if mode == "smoke" else dict(run["params"])
    if "checkpoint_dir" in chapter_params.declared(run["chapter"], root) and "checkpoint_dir" not in params:
        params["checkpoint_dir"] = str(Path(folder) / "checkpoints")
    params = chapter_params.parse(run["chapter"], params, root)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


def _one(run: dict, mode: str, root: Path, folder: Path) -> int:
    """Inside the run's process: papermill one chapter into ``folder`` and write status.json."""
    import jupytext
    import papermill as pm

    params = run_parameters(run, mode, root, folder)
    staged = folder / f"{run['chapter']}.source.ipynb"
    jupytext.write(jupytext.read(root / "book" / f"{run['chapter']}.md"), staged)
    status = {"run": run["id"], "chapter": run["chapter"], "params": run["params"], "mode": mode}
    start = time.time()
    try:
        pm.execute_notebook(str(staged), str(folder / f"{run['chapter']}.ipynb"), parameters=params,
                            kernel_name=os.environ.get("PERTURBKIT_KERNEL", "perturbkit"), cwd=str(root),
                            progress_bar=False)
        status["status"] = "ok"
    except pm.PapermillExecutionError as err:
        status["status"] = "failed"
        status["error"] = {"cell": err.cell_index, "source": err.source[:400], "ename": err.ename,
                           "evalue": str(err.evalue)[:1000]}
    status["runtime_s"] = round(time.time() - start, 1)
    (folder / "status.json").write_text(json.dumps(status, indent=1))
    return 0 if status["status"] == "ok" else 1


def submit_all(todo: list[dict], spec: dict, root: Path, out: Path, workers: int, scheduler: str | None) -> list[dict]:
    """Run every run on Dask (existing scheduler or LocalCluster), else on a process pool."""
    args = (spec["mode"], str(root), str(out), int(spec["retries"]))
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        from concurrent.futures import ProcessPoolExecutor

        print("dask.distributed not installed: running on a local process pool", flush=True)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(execute, todo, *[[a] * len(todo) for a in args]))
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        client, cluster = Client(address), None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        # pure=False: a rerun of the same run after a fix is a new task, not a cached result
        futures = [client.submit(execute, r, *args, key=f"run-{r['id']}", pure=False) for r in todo]
        return client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def gather(out: Path, all_runs: list[dict], statuses: list[dict]) -> tuple[Path, Path]:
    """``results.csv`` (tidy: one row per run and scalar result) and ``summary.md`` (one row per run)."""
    import pandas as pd

    rows, lines = [], ["| run | chapter | parameters | status | attempts | runtime s | failing cell |",
                       "|---|---|---|---|---:|---:|---|"]
    for run, st in zip(all_runs, statuses, strict=True):
        results = out / run["id"] / f"{run['chapter']}.json"
        values = json.loads(results.read_text()) if results.exists() else {}
        for key, value in values.items():
            if isinstance(value, bool | int | float | str) and not key.startswith("_"):
                rows.append({"run": run["id"], "chapter": run["chapter"], **run["params"], "key": key, "value": value})
        err = st.get("error") or {}
        cell = f"{err.get('cell')}: {err.get('ename')}: {str(err.get('evalue', ''))[:80]}" if err else ""
        params = ", ".join(f"{k}={v}" for k, v in run["params"].items())
        lines.append(f"| {run['id']} | {run['chapter']} | {params} | {st.get('status')} | "
                     f"{st.get('attempts', 0)} | {st.get('runtime_s', '')} | {cell} |")
    table = out / "results.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    page = out / "summary.md"
    n_ok = sum(s.get("status") == "ok" for s in statuses)
    page.write_text(f"# Sweep {out.name}\n\n{n_ok} of {len(statuses)} runs ok; results: `{table.name}`.\n\n"
                    + "\n".join(lines) + "\n")
    return table, page


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--one":
        _, run, mode, root, folder = argv
        return _one(json.loads(run), mode, Path(root), Path(folder))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    ap.add_argument("--root", type=Path, default=ROOT, help="repository with book/<chapter>.md")
    ap.add_argument("--out", type=Path, default=None, help="default: <root>/_build/sweeps/<name>")
    args = ap.parse_args(argv)
    try:
        spec = load_sweep(args.sweep, args.root)
    except (ValueError, chapter_params.ParameterError) as err:
        print(f"sweep: {err}", file=sys.stderr)
        return 2
    out = args.out or args.root / "_build" / "sweeps" / spec["name"]
    out.mkdir(parents=True, exist_ok=True)
    all_runs = runs(spec)
    print(f"sweep {spec['name']}: {len(all_runs)} runs -> {out}", flush=True)
    statuses = submit_all(all_runs, spec, args.root, out, args.workers, args.scheduler)
    table, page = gather(out, all_runs, statuses)
    failed = [s for s in statuses if s.get("status") != "ok"]
    for s in failed:
        err = s.get("error") or {}
        print(f"FAILED {s.get('run')}: cell {err.get('cell')}: {err.get('ename')}: {err.get('evalue', '')[:300]}",
              file=sys.stderr)
    print(f"{len(statuses) - len(failed)}/{len(statuses)} ok; table {table}; page {page}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
