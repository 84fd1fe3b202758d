"""Time and peak memory of the core statistics against the number of cells, in core and out of core.

For each size a simulated screen (Poisson counts with mean 0.3 per gene, about 75% zeros;
20 targets + 20% controls, 3 replicates; each target triples 10 genes; 2 guides per target
and 4 non-targeting guides with ambient guide reads) is written to a zarr store chunked by
cells, one block of 10,000 cells at a time, never held whole. Every (statistic, size, path)
then runs in its own Python process, so its peak resident memory (``ru_maxrss``) is its
own; the table reports it minus the cost of the imports alone. ``in-memory`` loads the
store first (the way every function worked before), ``chunked`` hands the lazy AnnData to
the same public function. The fitted exponent b of ``seconds ~ cells^b`` says how the cost
grows (1 = linear). Each measurement is appended to ``<workdir>/results.jsonl`` as it ends
(an interrupted run keeps what it measured; stores are reused); the table is rebuilt from it.

Usage: python benchmarks/scale.py [--cells 10000 100000 1000000] [--genes 2000] [--paths chunked in-memory]
       python benchmarks/scale.py --table-only        # rebuild benchmarks/results/scale.md from the jsonl
Not run by `make test`; 1e4 and 1e5 cells take about 20 minutes on 2 cores, 1e6 cells a few hours.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "scale.md"
STATS = ("normalise+pca", "pseudobulk", "guides", "signature+mixscape", "edistance")
N_TARGETS, CHUNK, GUIDES_PER_TARGET, N_NT = 20, 10_000, 2, 4
EDIST_TARGETS = ["T0", "T1", "T2", "T3"]  # each against all controls: the quadratic part
#: the dense float64 matrix the in-memory path makes (the store holds float32 counts)
IN_MEMORY_LIMIT = 4 * 2**30


def simulate_store(path: Path, n_cells: int, n_genes: int, seed: int = 0) -> None:
    """Write a planted screen to ``path`` one block of cells at a time (zarr, float32 counts)."""
    import anndata as ad
    import pandas as pd
    import zarr
    from scipy import sparse

    rng = np.random.default_rng(seed)
    code = np.where(rng.random(n_cells) < 0.2, N_TARGETS, rng.integers(0, N_TARGETS, n_cells))
    names = np.array([f"T{i}" for i in range(N_TARGETS)] + ["control"])
    labels = names[code]
    base = rng.gamma(0.6, 0.5, size=n_genes)  # mean 0.3 counts: about 75% zeros, as droplet data
    lam = np.tile(base, (N_TARGETS + 1, 1))
    for t in range(N_TARGETS):
        lam[t, rng.choice(n_genes, 10, replace=False)] *= 3.0
    # guides: each targeted cell carries one of its target's guides, controls a non-targeting one
    guide_names = [f"T{t}g{k + 1}" for t in range(N_TARGETS) for k in range(GUIDES_PER_TARGET)]
    guide_names += [f"NTg{k + 1}" for k in range(N_NT)]
    guide_target = [f"T{t}" for t in range(N_TARGETS) for _ in range(GUIDES_PER_TARGET)] + ["non-targeting"] * N_NT
    own = np.where(code < N_TARGETS, code * GUIDES_PER_TARGET + rng.integers(0, GUIDES_PER_TARGET, n_cells),
                   N_TARGETS * GUIDES_PER_TARGET + rng.integers(0, N_NT, n_cells))
    n_guides = len(guide_names)
    own_umis = rng.negative_binomial(4, 4 / 34, n_cells) + 1  # mean about 30 UMIs
    n_ambient = rng.poisson(0.05 * n_guides, n_cells)  # ambient reads, 1-2 UMIs, any guide
    amb_rows = np.repeat(np.arange(n_cells), n_ambient)
    rows = np.r_[np.arange(n_cells), amb_rows]
    cols = np.r_[own, rng.integers(0, n_guides, amb_rows.size)]
    vals = np.r_[own_umis, rng.integers(1, 3, amb_rows.size)].astype(np.float32)
    guides = sparse.csr_matrix((vals, (rows, cols)), shape=(n_cells, n_guides))
    guides.sum_duplicates()

    obs = pd.DataFrame({"perturbation": labels, "replicate": [f"r{i % 3}" for i in range(n_cells)],
                        "cell_type": "K562"}, index=[f"c{i}" for i in range(n_cells)])
    obs["sample"] = obs["perturbation"] + "_" + obs["replicate"]
    skeleton = ad.AnnData(obs=obs, var=pd.DataFrame(index=[f"g{i}" for i in range(n_genes)]),
                          obsm={"guide_counts": guides},
                          uns={"guide_names": np.array(guide_names),
                               "guides": pd.DataFrame({"target": guide_target},
                                                      index=pd.Index(guide_names, name="guide"))})
    import perturbkit as pk

    pk.data.to_zarr(skeleton, path, chunk_size=CHUNK)
    # the counts layer, written block by block in anndata's dense-array encoding
    group = zarr.open_group(path, mode="a", use_consolidated=False)
    arr = group.require_group("layers").create_array(
        "counts", shape=(n_cells, n_genes), chunks=(CHUNK, n_genes), dtype=np.float32, fill_value=0.0)
    arr.attrs.update({"encoding-type": "array", "encoding-version": "0.2.0"})
    for start in range(0, n_cells, CHUNK):
        stop = min(start + CHUNK, n_cells)
        r = np.random.default_rng([seed, start])
        arr[start:stop] = r.poisson(lam[code[start:stop]]).astype(np.float32)
    zarr.consolidate_metadata(path)


def run_one(stat: str, store: str, path: str, max_cells: int | None = None) -> dict:
    """One measurement, inside its own process."""
    import perturbkit as pk

    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    adata = pk.data.read_lazy(store, chunk_size=CHUNK)
    start = time.perf_counter()
    cpu0 = time.process_time()
    if path == "in-memory":  # the whole matrix in memory and every function's one-shot path, as before
        from perturbkit._chunked import _blocks, _edistance

        _edistance.BLOCK_ABOVE = 10**12
        _blocks.LARGE_DENSE = 10**15
        adata.layers["counts"] = np.asarray(adata.layers["counts"].compute())
    pcs = Path(store).with_suffix(f".{path}.pcs.npy")
    if stat == "edistance" and not pcs.exists():  # its input, computed outside the timing
        pk.pp.pca(adata, n_comps=20)
        np.save(pcs, adata.obsm["X_pca"])
    if stat == "normalise+pca":
        pk.pp.pca(adata, n_comps=20)
    elif stat == "pseudobulk":
        pk.get.pseudobulk(adata, sample_key="sample", cell_type_key=None)
    elif stat == "guides":
        pk.tl.assign_guides(adata, method="mixture")
    elif stat == "signature+mixscape":
        # approximate neighbours at every size, so the rows measure one method (exact is cells x controls)
        pk.tl.perturbation_signature(adata, nn_method="approximate")
        pk.tl.mixscape(adata)
    else:  # E-distance of 4 targets to control on the 20 PCs of the normalise+pca step (its own row)
        adata.obsm["X_pca"] = np.load(pcs)
        pk.tl.edistance(adata, split_by=None, perturbations=EDIST_TARGETS, n_perms=20, max_cells=max_cells)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if stat == "normalise+pca":
        np.save(pcs, adata.obsm["X_pca"])  # the E-distance's input
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak_mb - base_mb}


def _exponent(cells: list[int], seconds: list[float]) -> float:
    if len(cells) < 2:
        return float("nan")
    return float(np.polyfit(np.log(cells), np.log(seconds), 1)[0])


def _append(jsonl: Path, row: dict) -> None:
    with jsonl.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(row, flush=True)


def measure(args: argparse.Namespace, jsonl: Path) -> None:
    """Simulate each store (once) and measure every (statistic, path) on it, appending rows."""
    for n in args.cells:
        store = args.workdir / f"screen_{n}_{args.genes}.zarr"
        if not (store / ".done").exists():
            t0, c0 = time.perf_counter(), time.process_time()
            simulate_store(store, n, args.genes)
            (store / ".done").touch()
            _append(jsonl, {"statistic": "simulate store", "path": "chunked", "cells": n, "genes": args.genes,
                            "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                            "peak_mb": float("nan")})
        if args.simulate_only:
            continue
        for stat in args.stats:
            for path in args.paths:
                row = {"statistic": stat, "path": path, "cells": n, "genes": args.genes,
                       "max_cells": args.edistance_max_cells if stat == "edistance" else None}
                dense_bytes = n * args.genes * 8
                if path == "in-memory" and dense_bytes > IN_MEMORY_LIMIT:
                    _append(jsonl, {**row, "seconds": float("nan"), "cpu_seconds": float("nan"),
                                    "peak_mb": float("nan"),
                                    "error": f"not run: the dense float64 matrix alone is {dense_bytes / 2**30:.0f} GB"})
                    continue
                if stat == "edistance" and path == "in-memory" and n > 50_000 and not args.edistance_max_cells:
                    _append(jsonl, {**row, "seconds": float("nan"), "cpu_seconds": float("nan"),
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
                _append(jsonl, {**row, **res})


def table(jsonl: Path, genes: int, max_cells: int | None) -> str:
    """The markdown table of the last measurement of each (statistic, path, cells) at ``genes``."""
    rows: dict[tuple, dict] = {}
    for line in jsonl.read_text().splitlines():
        r = json.loads(line)
        if r.get("genes") == genes:
            rows[(r["statistic"], r["path"], r["cells"])] = r
    lines = [
        "# Cost of the core statistics against cells",
        "",
        f"Measured by `python benchmarks/scale.py` ({genes:,} genes, 20 targets + 20% controls, Poisson counts "
        "with about 75% zeros, float32 zarr chunks of 10,000 cells; 2 CPU cores shared with other jobs and run "
        "under `nice`, so wall seconds are noisy; CPU seconds are the steadier measure). Peak MB: the process's "
        "peak resident memory minus that of its imports. Exponent: slope of log(CPU seconds) on log(cells) "
        "between the two largest sizes measured (1 = linear, 2 = quadratic; at 10,000 cells fixed costs such as "
        "the 2,000 x 2,000 eigendecomposition and compiling the neighbour search dominate). `in-memory` loads the matrix and takes every function's one-shot path; "
        "`chunked` hands the lazy AnnData to the same function. normalise+pca: `pk.pp.pca` (per-10k log1p, "
        "standardised, 20 PCs). guides: `pk.tl.assign_guides(method='mixture')` on 44 guides. "
        "signature+mixscape: `nn_method='approximate'`. E-distance: 4 targets, each against all controls, "
        + (f"each group subsampled to `max_cells={max_cells}`" if max_cells else "without `max_cells`")
        + " (20 permutations), on the 20 PCs of the normalise+pca row (not counted again).",
        "",
        "| statistic | path | cells | wall s | CPU s | peak MB | exponent |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    order = ["simulate store", *STATS]
    for stat in order:
        for path in ("chunked", "in-memory"):
            sel = sorted((r for (s_, p_, _), r in rows.items() if s_ == stat and p_ == path), key=lambda r: r["cells"])
            ok = [r for r in sel if np.isfinite(r["cpu_seconds"])][-2:]  # the two largest sizes measured
            b = _exponent([r["cells"] for r in ok], [r["cpu_seconds"] for r in ok])
            for i, r in enumerate(sel):
                exp = f"{b:.2f}" if i == len(sel) - 1 and np.isfinite(b) else ""
                if np.isfinite(r["seconds"]):
                    peak = f"{r['peak_mb']:.0f}" if np.isfinite(r["peak_mb"]) else "-"
                    cols = f"{r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {peak}"
                else:
                    cols = f"- | - | {r.get('error', 'failed')}"
                lines.append(f"| {stat} | {path} | {r['cells']:,} | {cols} | {exp} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--genes", type=int, default=2_000)
    ap.add_argument("--paths", nargs="+", default=["chunked", "in-memory"])
    ap.add_argument("--stats", nargs="+", default=list(STATS))
    ap.add_argument("--edistance-max-cells", type=int, default=None,
                    help="subsample each group to this many cells for the E-distance (default: exact, all cells)")
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "pk-scale",
                    help="stores and results.jsonl (kept between runs)")
    ap.add_argument("--simulate-only", action="store_true", help="write the stores, measure nothing")
    ap.add_argument("--table-only", action="store_true", help="rebuild the table from results.jsonl")
    ap.add_argument("--one", nargs=3, metavar=("STAT", "STORE", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(*args.one, max_cells=args.edistance_max_cells)))
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    jsonl = args.workdir / "results.jsonl"
    if not args.table_only:
        measure(args, jsonl)
    if args.simulate_only:
        return 0
    text = table(jsonl, args.genes, args.edistance_max_cells)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
