"""Wall time of one sweep of 8 chapter runs, serially (1 worker) and on a Dask LocalCluster of 2.

Runs ``tools/sweep.py sweeps/scale_timing.yaml`` twice into fresh folders, ``--workers 1``
then ``--workers 2`` (both a dask.distributed LocalCluster of single-threaded worker
processes), and writes the wall time of each, the sum of the runs' own runtimes and the
speed-up to benchmarks/results/sweep_timing.md.

Usage: python benchmarks/sweep_timing.py [--sweep sweeps/scale_timing.yaml] [--workdir DIR]
Not run by `make test`; about 25 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "sweep_timing.md"


def run(sweep: Path, workers: int, out: Path) -> dict:
    """One sweep into ``out`` (emptied first); wall seconds and the runs' statuses."""
    if out.exists():
        import shutil

        shutil.rmtree(out)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "sweep.py"), str(sweep), "--workers", str(workers),
                           "--out", str(out)], capture_output=True, text=True)
    wall = time.perf_counter() - start
    statuses = [json.loads(p.read_text()) for p in sorted(out.glob("*/status.json"))]
    return {"workers": workers, "wall_s": wall, "returncode": proc.returncode, "n_runs": len(statuses),
            "n_ok": sum(s.get("status") == "ok" for s in statuses),
            "run_s": sum(float(s.get("runtime_s", 0.0)) for s in statuses), "stderr": proc.stderr[-500:]}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", type=Path, default=ROOT / "sweeps" / "scale_timing.yaml")
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "pk-sweep-timing")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    rows = [run(args.sweep, w, args.workdir / f"workers{w}") for w in (1, 2)]
    for r in rows:
        print(json.dumps(r), flush=True)
    serial = rows[0]["wall_s"]
    lines = [
        "# A sweep of 8 chapter runs, serial vs a Dask LocalCluster of 2 workers",
        "",
        f"Measured by `python benchmarks/sweep_timing.py` (`{args.sweep.relative_to(ROOT)}`: the principles "
        "chapter in smoke mode, seeds 0-7; 2 CPU cores shared with other jobs, so the numbers are noisy). "
        "Run seconds: the sum of the runs' own runtimes (papermill); wall seconds include starting the "
        "cluster and the kernels.",
        "",
        "| workers | runs ok | wall s | run s (sum) | speed-up |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['n_ok']}/{r['n_runs']} | {r['wall_s']:.0f} | {r['run_s']:.0f} | "
                     f"{serial / r['wall_s']:.2f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if all(r["n_ok"] == r["n_runs"] == 8 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
