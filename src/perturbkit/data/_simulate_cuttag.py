"""A CRISPR screen read out by single-cell CUT&Tag of an activating and a repressive histone mark."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ._load import CONTROL


def simulate_cuttag_screen(
    n_cells: int = 800,
    *,
    n_domains: int = 40,
    bins_per_domain: tuple[int, int] = (5, 40),
    bin_rate: float = 0.04,
    fold: float = 0.5,
    seed: int = 0,
) -> AnnData:
    """Simulate bin-level CUT&Tag counts of H3K27ac and H3K27me3 in knockout and control cells.

    The genome is cut into 5 kb bins; each mark covers ``n_domains`` *broad domains* of
    ``bins_per_domain`` bins (H3K27me3 domains are the broad, Polycomb-repressed ones; H3K27ac
    domains are shorter, at enhancers), plus background bins between them. A cell's fragments
    per bin are Poisson with rate ``bin_rate x depth`` inside a domain of the mark and a tenth
    of it outside, ``depth`` log-normal per cell and mark (sd 0.5): single-cell CUT&Tag is
    sparse, most bins hold no fragment in a given cell, but a domain pools many bins.

    Targets: ``EZH2`` (Polycomb's methyltransferase) loses H3K27me3 in the first third of the
    H3K27me3 domains (rate x ``fold``) and *gains* H3K27ac there (rate / ``fold`` over those
    bins): the two marks move with opposite signs. ``TF1`` loses H3K27ac at the first third of
    the H3K27ac domains and leaves H3K27me3 alone. ``SMALL`` changes no domain but its cells
    yield half the fragments. Losing a mark over a third of its domains lowers the cell's total
    fragments of that mark, so normalising by the total makes the *other* domains look gained
    (a compositional artefact); the spike-in counts are the unbiased depth. Controls are labelled ``control``.

    Parameters
    ----------
    n_cells
        Cells, a quarter of them controls.
    n_domains
        Domains per mark.
    bins_per_domain
        Range of domain lengths in bins (H3K27ac domains use the lower half of the range).
    bin_rate
        Mean fragments per bin and cell inside a domain at depth 1.
    fold
        Rate ratio of a lost domain (0.5 = half the fragments).
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X``: fragment counts (CSR float32, cells x bins of both marks). ``var``: ``mark``
        (``"H3K27ac"``/``"H3K27me3"``), ``domain`` (e.g. ``"H3K27me3_d3"``, ``"background"``
        between domains), ``chrom_bin``. ``obs["perturbation"]``; ``obs["spike_in_<mark>"]``:
        spike-in (E. coli carry-over) fragments per cell and mark, Poisson(100 x depth). ``uns["truth"]``:
        ``"domain_effects"`` (DataFrame: ``target``, ``mark``, ``domain``, ``log2_fold``).

    Examples
    --------
    >>> import perturbkit as pk
    >>> ct = pk.data.simulate_cuttag_screen(n_cells=200, seed=0)
    >>> sorted(ct.var["mark"].unique())
    ['H3K27ac', 'H3K27me3']
    """
    if not 0 < fold < 1:
        raise ValueError(f"fold must be in (0, 1), got {fold}")
    rng = np.random.default_rng(seed)
    groups = [CONTROL, "EZH2", "TF1", "SMALL"]
    label = rng.choice(groups, size=n_cells, p=[0.25, 0.25, 0.25, 0.25])
    lo, hi = bins_per_domain
    var_rows, inside = [], []
    for mark, (a, b) in {"H3K27ac": (lo, max(lo + 1, (lo + hi) // 2)), "H3K27me3": ((lo + hi) // 2, hi)}.items():
        for d in range(n_domains):
            gap = int(rng.integers(3, 10))
            var_rows += [(mark, "background")] * gap
            inside += [False] * gap
            length = int(rng.integers(a, b + 1))
            var_rows += [(mark, f"{mark}_d{d}")] * length
            inside += [True] * length
    var = pd.DataFrame(var_rows, columns=["mark", "domain"])
    var["chrom_bin"] = np.arange(len(var))
    var.index = pd.Index([f"{m}_bin{i}" for i, m in enumerate(var["mark"])], name="bin")
    inside = np.asarray(inside)
    base = np.where(inside, bin_rate, bin_rate / 10)
    effect = np.ones((len(groups), len(var)))
    third = n_domains // 3
    lost_me3 = [f"H3K27me3_d{d}" for d in range(third)]
    lost_ac = [f"H3K27ac_d{d}" for d in range(third)]
    is_me3_lost = var["domain"].isin(lost_me3).to_numpy()
    effect[groups.index("EZH2"), is_me3_lost] = fold
    # the same loci gain the activating mark: H3K27ac bins at the H3K27me3 domain positions do
    # not exist, so the gain is planted on H3K27ac bins with the same domain index
    gain_ac = [f"H3K27ac_d{d}" for d in range(third)]
    effect[groups.index("EZH2"), var["domain"].isin(gain_ac).to_numpy()] = 1 / fold
    effect[groups.index("TF1"), var["domain"].isin(lost_ac).to_numpy()] = fold
    g_idx = np.array([groups.index(x) for x in label])
    depth = np.column_stack([rng.lognormal(0, 0.5, n_cells) for _ in range(2)])
    depth *= np.where(label == "SMALL", 0.5, 1.0)[:, None]
    mark_col = (var["mark"] == "H3K27me3").to_numpy().astype(int)
    mu = depth[:, mark_col] * base[None, :] * effect[g_idx]
    counts = rng.poisson(mu).astype(np.float32)
    obs = pd.DataFrame({"perturbation": pd.Categorical(label)},
                       index=pd.Index([f"cell{i}" for i in range(n_cells)], name="cell"))
    # E. coli DNA carried over with the Tn5 (CUT&Tag's spike-in): proportional to the cell's
    # depth in that library, blind to what the knockout did to the mark
    for m, mark in enumerate(("H3K27ac", "H3K27me3")):
        obs[f"spike_in_{mark}"] = rng.poisson(100 * depth[:, m]).astype(float)
    adata = AnnData(X=sparse.csr_matrix(counts), obs=obs, var=var)
    rows = ([("EZH2", "H3K27me3", d, float(np.log2(fold))) for d in lost_me3]
            + [("EZH2", "H3K27ac", d, float(-np.log2(fold))) for d in gain_ac]
            + [("TF1", "H3K27ac", d, float(np.log2(fold))) for d in lost_ac])
    adata.uns["truth"] = {"domain_effects": pd.DataFrame(rows, columns=["target", "mark", "domain", "log2_fold"])}
    return adata
