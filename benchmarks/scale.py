"""Time and peak memory of the core statistics against the number of cells, in core and out of core.

For each size a simulated screen (Poisson counts, 20 targets + controls, 3 replicates; each
target shifts 10 genes) is streamed to a zarr store chunked by cells, never held whole. Every
(statistic, size, path) then runs in its own Python process, so its peak resident memory
(``ru_maxrss``) is its own; the table reports it minus the cost of the imports alone.
``in-memory`` loads the store first (the way every function worked before), ``chunked`` hands
the lazy AnnData to the same public function. The fitted exponent b of ``seconds ~ cells^b``
says how the cost grows (1 = linear). Writes benchmarks/results/scale.md.

Usage: python benchmarks/scale.py [--cells 10000 30000 100000] [--genes 1000] [--paths chunked in-memory]
Not run by `make test`; about 10 minutes on 2 cores with the defaults.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "scale.md"
STATS = ("pseudobulk", "signature+mixscape", "edistance")
N_TARGETS, CHUNK = 20, 10_000
EDIST_TARGETS = ["T0", "T1", "T2", "T3"]  # each against all controls: the quadratic part


def simulate_store(path: Path, n_cells: int, n_genes: int, seed: int = 0) -> None:
    """Stream a planted screen to ``path`` block by block (dask), never holding it whole."""
    import anndata as ad
    import dask.array as da
    import pandas as pd

    import perturbkit as pk

    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(n_cells) < 0.2, "control",
                      np.array([f"T{i}" for i in range(N_TARGETS)])[rng.integers(0, N_TARGETS, n_cells)])
    base = rng.gamma(2.0, 0.5, size=n_genes)
    shift = np.ones((N_TARGETS + 1, n_genes))
    for t in range(N_TARGETS):
        shift[t, rng.choice(n_genes, 10, replace=False)] = 3.0
    code = np.array([N_TARGETS if lab == "control" else int(lab[1:]) for lab in labels])

    def block(_: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        start, stop = block_info[None]["array-location"][0]
        r = np.random.default_rng([seed, start])
        return r.poisson(base * shift[code[start:stop]]).astype(np.float32)

    chunks = (tuple(min(CHUNK, n_cells - s) for s in range(0, n_cells, CHUNK)), (n_genes,))
    counts = da.map_blocks(block, da.zeros((n_cells, n_genes), chunks=chunks), dtype=np.float32)
    obs = pd.DataFrame({"perturbation": labels, "replicate": [f"r{i % 3}" for i in range(n_cells)],
                        "cell_type": "K562"}, index=[f"c{i}" for i in range(n_cells)])
    obs["sample"] = obs["perturbation"] + "_" + obs["replicate"]
    adata = ad.AnnData(layers={"counts": counts}, obs=obs, var=pd.DataFrame(index=[f"g{i}" for i in range(n_genes)]))
    pk.data.to_zarr(adata, path, chunk_size=CHUNK)


def run_one(stat: str, store: str, path: str, max_cells: int | None = None) -> dict:
    """One measurement, inside its own process."""
    import perturbkit as pk

    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    adata = pk.data.read_lazy(store, chunk_size=CHUNK)
    start = time.perf_counter()
    cpu0 = time.process_time()
    if path == "in-memory":
        from perturbkit._chunked import _edistance

        _edistance.BLOCK_ABOVE = 10**12  # the one-shot n x n distance matrix, as before
        adata.layers["counts"] = np.asarray(adata.layers["counts"].compute())
    if stat == "pseudobulk":
        pk.get.pseudobulk(adata, sample_key="sample", cell_type_key=None)
    elif stat == "signature+mixscape":
        pk.tl.perturbation_signature(adata)
        pk.tl.mixscape(adata)
    else:  # E-distance of every target to control on 20 PCs of the lognormalised signature-free data
        from perturbkit._chunked._signature import pca_embedding

        adata.obsm["X_pca"] = pca_embedding(adata.layers["counts"], 20, name="counts")[0]
        pk.tl.edistance(adata, split_by=None, perturbations=EDIST_TARGETS, n_perms=20, max_cells=max_cells)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu0, "peak_mb": peak_mb - base_mb}


def _exponent(cells: list[int], seconds: list[float]) -> float:
    if len(cells) < 2:
        return float("nan")
    return float(np.polyfit(np.log(cells), np.log(seconds), 1)[0])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    ap.add_argument("--genes", type=int, default=1_000)
    ap.add_argument("--paths", nargs="+", default=["chunked", "in-memory"])
    ap.add_argument("--stats", nargs="+", default=list(STATS))
    ap.add_argument("--edistance-max-cells", type=int, default=None,
                    help="subsample each group to this many cells for the E-distance (default: exact, all cells)")
    ap.add_argument("--one", nargs=3, metavar=("STAT", "STORE", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(*args.one, max_cells=args.edistance_max_cells)))
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="pk-scale-") as tmp:
        for n in args.cells:
            store = Path(tmp) / f"screen_{n}.zarr"
            t0 = time.perf_counter()
            simulate_store(store, n, args.genes)
            print(f"simulated {n} cells x {args.genes} genes in {time.perf_counter() - t0:.0f} s", flush=True)
            for stat in args.stats:
                for path in args.paths:
                    if stat == "edistance" and path == "in-memory" and n > 50_000:
                        # 0.2 n controls + 0.05 n target cells: 21,000^2 float64 at 1e5 cells, 3.5 GB alone
                        rows.append({"statistic": stat, "path": path, "cells": n, "seconds": float("nan"),
                                     "cpu_seconds": float("nan"),
                                     "peak_mb": float("nan"), "error": "not run: the n x n matrix alone is 3.5 GB"})
                        continue
                    cmd = [sys.executable, __file__, "--one", stat, str(store), path]
                    if args.edistance_max_cells:
                        cmd += ["--edistance-max-cells", str(args.edistance_max_cells)]
                    proc = subprocess.run(cmd, capture_output=True, text=True)
                    if proc.returncode:
                        res = {"seconds": float("nan"), "cpu_seconds": float("nan"), "peak_mb": float("nan"),
                               "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
                    else:
                        res = json.loads(proc.stdout.strip().splitlines()[-1])
                    rows.append({"statistic": stat, "path": path, "cells": n, **res})
                    print(rows[-1], flush=True)
    lines = [
        "# Cost of the core statistics against cells",
        "",
        f"Measured by `python benchmarks/scale.py` ({args.genes} genes, 20 targets + 20% controls, "
        "2 CPU cores shared with other jobs, so wall seconds are noisy; CPU seconds are the steadier "
        "measure). Peak MB: the process's peak resident memory minus that of its imports. "
        "Exponent: slope of log(CPU seconds) on log(cells) (1 = linear, 2 = quadratic). E-distance: "
        "4 targets, each against all controls, "
        + (f"each group subsampled to `max_cells={args.edistance_max_cells}`" if args.edistance_max_cells
           else "without `max_cells`")
        + " (20 permutations), on 20 PCs computed out of core.",
        "",
        "| statistic | path | cells | wall s | CPU s | peak MB | exponent |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for stat in args.stats:
        for path in args.paths:
            sel = [r for r in rows if r["statistic"] == stat and r["path"] == path]
            ok = [r for r in sel if np.isfinite(r["cpu_seconds"])]
            b = _exponent([r["cells"] for r in ok], [r["cpu_seconds"] for r in ok])
            for i, r in enumerate(sel):
                exp = f"{b:.2f}" if i == len(sel) - 1 and np.isfinite(b) else ""
                if np.isfinite(r["seconds"]):
                    cols = f"{r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {r['peak_mb']:.0f}"
                else:
                    cols = f"- | - | {r.get('error', 'failed')}"
                lines.append(f"| {stat} | {path} | {r['cells']:,} | {cols} | {exp} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
