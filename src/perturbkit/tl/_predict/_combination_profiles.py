"""Mean profiles of single and double perturbations from cells, with a co-expression gene graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ..._validate import check_adata, check_counts, check_group, check_obs

__all__ = ["combination_profiles"]


def combination_profiles(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    layer: str | None = "counts",
    min_cells: int = 20,
    n_neighbors: int = 10,
) -> AnnData:
    """Condition means of a combinatorial screen, ready for :func:`predict_combinations`.

    Every condition of ``obs[groupby]`` with at least ``min_cells`` cells becomes one row:
    the mean of log1p(counts per 10k) over its cells. Doubles are labelled ``"A+B"``
    (the spelling of :func:`perturbkit.data.load` for scPerturb screens). The gene-gene
    graph that the graph model needs is learnt from the control cells alone: each gene is
    linked to the ``n_neighbors`` genes it correlates with most (Pearson, positive only),
    a co-expression graph in the spirit of GEARS's gene graph, but from data the
    held-out doubles never touch.

    Run first: nothing; ``adata`` holds cells with raw counts and condition labels
    (``"control"``, ``"A"``, ``"A+B"``).

    Parameters
    ----------
    adata
        Cells x genes.
    groupby, control
        Condition column and its control label.
    layer
        Raw counts (``None``: ``X``).
    min_cells
        Conditions with fewer cells are left out.
    n_neighbors
        Co-expression partners per gene in the graph.

    Returns
    -------
    AnnData
        Conditions x genes (a new object; ``adata`` is not modified): ``X`` mean log1p
        expression (float64), ``obs["perturbation"]``, ``obs["n_cells"]``,
        ``obs["n_perturbations"]``; ``uns["gene_graph"]`` (``source``, ``target``,
        ``weight`` = correlation); ``uns["perturbation_genes"]`` (single -> its gene);
        ``uns["pairs"]``: DataFrame indexed by the doubles whose two singles are also
        profiled (``n_cells``).

    Raises
    ------
    KeyError
        ``obs[groupby]`` is missing.
    ValueError
        No control cells, fewer than ``min_cells`` of them, or counts that are not counts.

    References
    ----------
    Roohani et al. 2024 :cite:`roohani2024`; Norman et al. 2019 :cite:`norman2019`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> cells = pk.data.simulate_screen(n_cells=600, n_genes=30, seed=0)
    >>> pk.tl.assign_guides(cells, method="mixture")
    >>> profiles = pk.tl.combination_profiles(cells, min_cells=10, n_neighbors=3)
    >>> profiles.n_vars, "control" in set(profiles.obs["perturbation"])
    (30, True)
    """
    check_adata(adata)
    check_obs(adata, groupby)
    check_group(adata, groupby, control, role="control label")
    raw = adata.layers[layer] if layer is not None else adata.X
    check_counts(raw, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    x = sparse.csr_matrix(raw, dtype=np.float64)
    lib = np.asarray(x.sum(axis=1)).ravel()
    x = (sparse.diags(1e4 / np.maximum(lib, 1)) @ x).tocsr()
    x.data = np.log1p(x.data)
    labels = adata.obs[groupby].astype(str).to_numpy()
    sizes = pd.Series(labels).value_counts()
    if sizes.get(control, 0) < min_cells:
        raise ValueError(f"{sizes.get(control, 0)} control cells in adata.obs[{groupby!r}]; need >= min_cells={min_cells}")
    keep = [c for c in sizes.index if sizes[c] >= min_cells and c not in ("multiple", "unassigned")]
    keep = [control] + sorted(c for c in keep if c != control)
    means = np.vstack([np.asarray(x[labels == c].mean(axis=0)).ravel() for c in keep])

    genes = np.asarray(adata.var_names)
    ctrl = x[labels == control].toarray()
    sd = ctrl.std(axis=0)
    ok = np.flatnonzero(sd > 0)
    z = (ctrl[:, ok] - ctrl[:, ok].mean(axis=0)) / sd[ok]
    corr = z.T @ z / max(z.shape[0], 1)
    np.fill_diagonal(corr, -np.inf)
    k = min(n_neighbors, max(ok.size - 1, 0))
    edges: dict[tuple[str, str], float] = {}
    for i in range(ok.size):
        for j in np.argsort(-corr[i])[:k]:
            if corr[i, j] > 0:
                a, b = sorted((genes[ok[i]], genes[ok[j]]))
                edges[(a, b)] = float(corr[i, j])
    graph = pd.DataFrame([(a, b, w) for (a, b), w in edges.items()], columns=["source", "target", "weight"])

    obs = pd.DataFrame({"perturbation": keep, "n_cells": [int(sizes[c]) for c in keep],
                        "n_perturbations": [0 if c == control else c.count("+") + 1 for c in keep]},
                       index=pd.Index(keep, name="condition"))
    out = AnnData(X=means, obs=obs, var=pd.DataFrame(index=pd.Index(genes, name="gene")))
    singles = [c for c in keep if c != control and "+" not in c]
    out.uns["gene_graph"] = graph
    out.uns["perturbation_genes"] = {s: s for s in singles}
    doubles = [c for c in keep if c.count("+") == 1 and all(p in singles for p in c.split("+"))]
    out.uns["pairs"] = pd.DataFrame({"n_cells": [int(sizes[d]) for d in doubles]},
                                    index=pd.Index(doubles, name="pair"))
    return out
