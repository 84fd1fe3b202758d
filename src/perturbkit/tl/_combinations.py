"""Predict unseen double perturbations from singles: additive baseline vs a graph-informed model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from .._validate import check_adata, check_group, check_obs

__all__ = ["predict_combinations"]


def _communities(genes: list[str], graph: pd.DataFrame, resolution: float, seed: int) -> np.ndarray:
    """Leiden communities of the gene-gene graph; genes in communities of < 3 genes get -1."""
    import igraph as ig
    import leidenalg

    pos = {g: i for i, g in enumerate(genes)}
    keep = graph["source"].isin(pos) & graph["target"].isin(pos)
    edges = list(zip(graph.loc[keep, "source"].map(pos), graph.loc[keep, "target"].map(pos), strict=True))
    g = ig.Graph(n=len(genes), edges=edges)
    part = leidenalg.find_partition(g, leidenalg.RBConfigurationVertexPartition,
                                    resolution_parameter=resolution, seed=seed)
    labels = np.asarray(part.membership)
    sizes = np.bincount(labels)
    labels = np.where(sizes[labels] >= 3, labels, -1)
    # relabel 0..k-1 in order of first appearance, so coefficients are easy to read
    uniq = [c for c in dict.fromkeys(labels.tolist()) if c >= 0]
    remap = {c: k for k, c in enumerate(uniq)}
    return np.asarray([remap.get(c, -1) for c in labels])


def predict_combinations(
    adata: AnnData,
    *,
    train: Sequence[str],
    test: Sequence[str],
    groupby: str = "perturbation",
    control: str = "control",
    graph: pd.DataFrame | None = None,
    perturbation_genes: Mapping[str, str] | None = None,
    resolution: float = 1.0,
    alpha: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Predict double perturbations from their singles, with and without a gene graph.

    The **additive** baseline predicts the shift of ``A+B`` as the shift of ``A`` plus the
    shift of ``B``. The **graph model** asks the GEARS question (do the genes two
    perturbations hit sit close together in a gene-gene graph, and does that make the pair
    interact?) with a deliberately small model: the graph is split into communities
    (Leiden), and for pairs whose two target genes share a community it learns
    one coefficient per community, ``shift(A+B) = (1 + b_c) (shift(A) + shift(B))`` on that
    community's genes, by ridge regression on the training doubles. Pairs across
    communities, and communities without training doubles, stay additive. It is not GEARS's
    graph neural network; it isolates the idea GEARS relies on.

    Run first: nothing; ``adata`` holds one row per condition (a pseudobulk, e.g.
    :func:`perturbkit.data.simulate_combinations`) with ``X`` the mean (log) expression.

    Parameters
    ----------
    adata
        Conditions x genes with singles (``"A"``) and doubles (``"A+B"``) in ``obs[groupby]``.
    train, test
        Doubles used to fit the graph model, and doubles to predict (disjoint).
    groupby, control
        Condition labels and the control label (shifts are taken against it).
    graph
        Gene-gene edges (``source``, ``target``); default ``uns["gene_graph"]``.
    perturbation_genes
        Perturbation -> the gene it targets; default ``uns["perturbation_genes"]``.
    resolution
        Leiden resolution of the graph's communities (higher: more, smaller ones).
    alpha
        Ridge penalty of the community coefficients.
    seed
        Seed of the community detection.

    Returns
    -------
    DataFrame
        Tidy, one row per (test pair, gene): ``pair``, ``gene``, ``observed``, ``additive``,
        ``model`` (shifts against control). ``attrs["coefficients"]``: the learnt ``b_c``
        per community. ``adata`` is not modified.

    Raises
    ------
    ValueError
        A pair that is not ``"A+B"`` with both singles present; overlapping train and test;
        a perturbation without a target gene; no control.

    References
    ----------
    Roohani et al. 2024 :cite:`roohani2024`; Norman et al. 2019 :cite:`norman2019`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> combo = pk.data.simulate_combinations(n_genes=120, seed=0)
    >>> pairs = list(combo.uns["truth"]["pairs"].index)
    >>> pred = pk.tl.predict_combinations(combo, train=pairs[::2], test=pairs[1::2])
    >>> sorted(pred.columns)
    ['additive', 'gene', 'model', 'observed', 'pair']
    """
    check_adata(adata)
    check_obs(adata, groupby)
    check_group(adata, groupby, control, role="control label")
    overlap = sorted(set(train) & set(test))
    if overlap:
        raise ValueError(f"train and test share pairs: {overlap[:5]}")
    graph = adata.uns.get("gene_graph") if graph is None else graph
    pgenes = adata.uns.get("perturbation_genes") if perturbation_genes is None else perturbation_genes
    if graph is None or pgenes is None:
        raise ValueError("pass graph= and perturbation_genes= (or store them in uns['gene_graph'] and "
                         "uns['perturbation_genes'])")
    labels = adata.obs[groupby].astype(str).to_numpy()
    row = {lab: i for i, lab in enumerate(labels)}
    x = np.asarray(adata.X, dtype=float)
    shift = {lab: x[i] - x[row[control]] for lab, i in row.items()}
    for pair in list(train) + list(test):
        parts = pair.split("+")
        if len(parts) != 2 or pair not in row or any(p not in row for p in parts):
            raise ValueError(f"pair {pair!r} must be 'A+B' with A, B and A+B all in adata.obs[{groupby!r}]")
        missing = [p for p in parts if p not in pgenes]
        if missing:
            raise ValueError(f"perturbations without a target gene: {missing}")
    genes = list(adata.var_names)
    comm = _communities(genes, graph, resolution, seed)
    n_communities = max(int(comm.max()) + 1, 1)  # at least one (never-used) coefficient
    gpos = {g: i for i, g in enumerate(genes)}

    def features(pair: str) -> tuple[np.ndarray, np.ndarray]:
        a, b = pair.split("+")
        base = shift[a] + shift[b]
        feats = np.zeros((len(genes), n_communities))
        ca, cb = comm[gpos[pgenes[a]]] if pgenes[a] in gpos else -1, comm[gpos[pgenes[b]]] if pgenes[b] in gpos else -1
        if ca == cb and ca >= 0:
            feats[comm == ca, ca] = base[comm == ca]
        return base, feats

    xs, ys = [], []
    for pair in train:
        base, feats = features(pair)
        xs.append(feats)
        ys.append(shift[pair] - base)
    if xs:
        f = np.vstack(xs)
        r = np.concatenate(ys)
        coef = np.linalg.solve(f.T @ f + alpha * np.eye(n_communities), f.T @ r)
    else:
        coef = np.zeros(n_communities)
    frames = []
    for pair in test:
        base, feats = features(pair)
        frames.append(pd.DataFrame({"pair": pair, "gene": genes, "observed": shift[pair],
                                    "additive": base, "model": base + feats @ coef}))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["pair", "gene", "observed", "additive", "model"])
    out.attrs["coefficients"] = {f"community{c}": float(v) for c, v in enumerate(coef)}
    return out
