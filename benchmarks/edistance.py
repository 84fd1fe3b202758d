"""E-distance and E-test: perturbkit against scPerturb's package and R's energy package.

On Kang 2018 (muscat subset; log-normalised, 500 HVGs, 20 PCs, as the principles chapter),
per cell type, stimulated vs control cells:

- ``pk.tl.energy_distance(unbiased=True)`` (U-statistic, scPerturb's ``sample_correct=True``)
  against ``scperturb.edist_to_control`` (PyPI ``scperturb``), with its default
  squared-Euclidean distance and with the Euclidean one;
- ``pk.tl.energy_distance(unbiased=False)`` (V-statistic) against R ``energy::edist``, which
  reports ``n m / (n + m)`` times the V-statistic (Debian ``r-cran-energy``);
- the E-test p-value of ``pk.tl.edistance`` against ``energy::eqdist.etest`` (V-statistic,
  Euclidean) and ``scperturb.etest`` (U-statistic, squared Euclidean), all with 999
  permutations: different random permutations, so they agree within Monte Carlo error
  (binomial standard error of a p-value ``p`` from 999 draws: ``sqrt(p (1 - p) / 999)``).
  Every p-value here sits at the floor, 1/1000, so the test comparison is weak.

Writes one row per comparison to ``benchmarks/results/edistance.json`` (the principles
chapter displays it). A reference tool that is missing is reported and skipped.

Usage: python benchmarks/edistance.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import scanpy as sc

import perturbkit as pk

N_PERMS = 999
R_SCRIPT = """
suppressMessages(library(energy))
args <- commandArgs(trailingOnly = TRUE)
d <- as.matrix(read.csv(args[1], header = FALSE))
n <- as.integer(args[2]); m <- as.integer(args[3])
set.seed(0)
e <- edist(d, c(n, m))[1]
t <- eqdist.etest(d, c(n, m), R = as.integer(args[4]))
cat(sprintf("%.12g %.12g %.12g\\n", e, t$statistic, t$p.value))
cat(as.character(packageVersion("energy")), "\\n")
"""


def _kang() -> sc.AnnData:
    adata = pk.data.load("kang2018_ifnb_muscat")
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    sc.pp.highly_variable_genes(adata, n_top_genes=500)
    sc.pp.pca(adata, n_comps=20, mask_var="highly_variable", random_state=0)
    return adata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "edistance.json"))
    args = parser.parse_args(argv)
    adata = _kang()
    try:
        import scperturb
    except ImportError:
        scperturb = None
        print("scperturb not installed (pip install scperturb): its comparison is skipped")
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("Rscript not found (apt-get install r-base-core r-cran-energy): R comparison skipped")
    pk_test = pk.tl.edistance(adata, n_perms=N_PERMS, seed=0, unbiased=False).set_index("cell_type")
    rows = []
    for ct in adata.obs["cell_type"].cat.categories:
        sub = adata[adata.obs["cell_type"] == ct].copy()
        stim = (sub.obs["perturbation"] != pk.data.CONTROL).to_numpy()
        x, y = sub.obsm["X_pca"][stim], sub.obsm["X_pca"][~stim]
        n, m = len(x), len(y)
        if scperturb is not None:
            for metric in ("sqeuclidean", "euclidean"):
                ref = scperturb.edist_to_control(sub, obs_key="perturbation", control=pk.data.CONTROL,
                                                 dist=metric, verbose=False, n_jobs=1)
                ours = pk.tl.energy_distance(x, y, metric=metric, unbiased=True)
                theirs = float(ref.drop(index=pk.data.CONTROL).iloc[0, 0])
                rows.append({"cell_type": ct, "quantity": f"E-distance U ({metric})",
                             "reference": f"scperturb {scperturb.__version__ if hasattr(scperturb, '__version__') else '0.1.0'}",
                             "perturbkit": ours, "reference_value": theirs, "abs_diff": abs(ours - theirs)})
            np.random.seed(0)  # noqa: NPY002 - scperturb.etest draws from numpy's global generator
            et = scperturb.etest(sub, obs_key="perturbation", control=pk.data.CONTROL, runs=N_PERMS,
                                 n_jobs=1, verbose=False)
            p_pk = float(pk.tl.edistance(sub, n_perms=N_PERMS, metric="sqeuclidean", seed=0)["pvalue"].iloc[0])
            p_ref = float(et.drop(index=pk.data.CONTROL)["pvalue"].iloc[0])
            rows.append({"cell_type": ct, "quantity": "E-test p (U, sqeuclidean)", "reference": "scperturb etest",
                         "perturbkit": p_pk, "reference_value": p_ref, "abs_diff": abs(p_pk - p_ref)})
        if rscript is not None:
            with tempfile.TemporaryDirectory() as tmp:
                csv = Path(tmp) / "pcs.csv"
                np.savetxt(csv, np.vstack([x, y]), delimiter=",")
                script = Path(tmp) / "e.R"
                script.write_text(R_SCRIPT)
                out = subprocess.run([rscript, str(script), str(csv), str(n), str(m), str(N_PERMS)],
                                     capture_output=True, text=True, check=True).stdout.split("\n")
            e_r, _, p_r = (float(v) for v in out[0].split())
            version = out[1].strip()
            ours = n * m / (n + m) * pk.tl.energy_distance(x, y, unbiased=False)
            rows.append({"cell_type": ct, "quantity": "n m/(n+m) x E-distance V (euclidean)",
                         "reference": f"R energy {version} edist", "perturbkit": ours, "reference_value": e_r,
                         "abs_diff": abs(ours - e_r)})
            p_pk = float(pk_test.loc[ct, "pvalue"])
            rows.append({"cell_type": ct, "quantity": "E-test p (V, euclidean)",
                         "reference": f"R energy {version} eqdist.etest", "perturbkit": p_pk,
                         "reference_value": p_r, "abs_diff": abs(p_pk - p_r)})
    table = pd.DataFrame(rows)
    print(table.to_string())
    values = table[~table["quantity"].str.startswith("E-test")]
    if len(values):
        rel = (values["abs_diff"] / values["reference_value"].abs()).max()
        print(f"largest relative difference of the distances: {rel:.2e}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(table.to_dict(orient="records"), indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
