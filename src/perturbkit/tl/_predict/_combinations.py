"""Predict unseen double perturbations from singles: additive baseline vs graph-informed models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._seeding import torch_seed
from ..._validate import check_adata, check_group, check_obs

__all__ = ["CombinationPrediction", "predict_combinations"]


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


def _normalised(adj: np.ndarray) -> np.ndarray:
    """Symmetric normalisation D^-1/2 (A + I) D^-1/2 of a graph's adjacency (GCN style)."""
    a = adj + np.eye(len(adj))
    d = a.sum(1)
    return a / np.sqrt(d[:, None] * d[None, :])


def _gnn(shift: dict[str, np.ndarray], singles: list[str], train: Sequence[str], test: Sequence[str],
         genes: list[str], graph: pd.DataFrame, pgenes: Mapping[str, str], *, hidden: int, layers: int,
         epochs: int, lr: float, weight_decay: float, seed: int, progress: bool) -> tuple[np.ndarray, list[float]]:
    """GEARS-style network: test-pair shifts (pairs x genes) and the training loss per epoch."""
    import torch
    from tqdm.auto import tqdm

    gpos = {g: i for i, g in enumerate(genes)}
    adj = np.zeros((len(genes), len(genes)))
    keep = graph["source"].isin(gpos) & graph["target"].isin(gpos)
    src = graph.loc[keep, "source"].map(gpos).to_numpy(int)
    dst = graph.loc[keep, "target"].map(gpos).to_numpy(int)
    adj[src, dst] = adj[dst, src] = 1.0
    adj[np.arange(len(genes)), np.arange(len(genes))] = 0.0
    # perturbation-similarity graph: Jaccard overlap of the targets' closed gene-graph neighbourhoods
    hood = np.zeros((len(singles), len(genes)))
    for i, p in enumerate(singles):
        if pgenes[p] in gpos:
            hood[i] = adj[gpos[pgenes[p]]] > 0
            hood[i, gpos[pgenes[p]]] = 1.0
    inter = hood @ hood.T
    union = hood.sum(1)[:, None] + hood.sum(1)[None, :] - inter
    psim = np.where(union > 0, inter / np.maximum(union, 1.0), 0.0)
    np.fill_diagonal(psim, 0.0)
    ppos = {p: i for i, p in enumerate(singles)}

    def membership(names: Sequence[str]) -> torch.Tensor:
        m = np.zeros((len(names), len(singles)))
        for k, name in enumerate(names):
            m[k, [ppos[p] for p in name.split("+")]] = 1.0
        return torch.tensor(m, dtype=torch.float32)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small model: one thread is fast and bit-reproducible
    try:
        gene_graph = torch.tensor(_normalised(adj), dtype=torch.float32)
        pert_graph = torch.tensor(_normalised(psim), dtype=torch.float32)
        with torch_seed(seed):  # initialisation draws from torch's global generator: the caller's is restored
            gene_emb = torch.nn.Parameter(0.1 * torch.randn(len(genes), hidden))
            pert_emb = torch.nn.Parameter(0.1 * torch.randn(len(singles), hidden))
            gene_mp = torch.nn.ModuleList(torch.nn.Linear(hidden, hidden) for _ in range(layers))
            pert_mp = torch.nn.ModuleList(torch.nn.Linear(hidden, hidden) for _ in range(layers))
            mlp = torch.nn.Sequential(torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                                      torch.nn.Linear(hidden, hidden))
        bias = torch.nn.Parameter(torch.zeros(len(genes)))
        params = [gene_emb, pert_emb, bias, *gene_mp.parameters(), *pert_mp.parameters(), *mlp.parameters()]

        def forward(m: torch.Tensor) -> torch.Tensor:
            h = gene_emb
            for lin in gene_mp:  # residual message passing over the gene graph
                h = h + torch.relu(lin(gene_graph @ h))
            q = pert_emb
            for lin in pert_mp:  # ... and over the perturbation-similarity graph
                q = q + torch.relu(lin(pert_graph @ q))
            total = m @ q
            # the MLP of the summed embeddings makes pairs non-additive; subtracting the
            # singles' MLP terms keeps a single's own prediction free of "interaction"
            z = total + mlp(total) - m @ mlp(q)
            return z @ h.T + bias

        names = list(singles) + list(train)
        m_train = membership(names)
        y = torch.tensor(np.vstack([shift[n] for n in names]), dtype=torch.float32)
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
        losses = []
        for _ in tqdm(range(epochs), desc="GEARS-style GNN", disable=not progress):
            opt.zero_grad()
            loss = ((forward(m_train) - y) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        with torch.no_grad():
            out = forward(membership(test)).numpy().astype(float) if len(test) else np.zeros((0, len(genes)))
    finally:
        torch.set_num_threads(threads)
    return out, losses


@dataclass(frozen=True)
class CombinationPrediction:
    """What :func:`predict_combinations` returns: the predictions and what the model learnt.

    Attributes
    ----------
    predictions
        Tidy table, one row per (test pair, gene): ``pair``, ``gene``, ``observed``,
        ``additive``, ``model``.
    coefficients
        Interaction coefficient ``b_c`` per graph community (community model; else empty).
    loss
        Training MSE per epoch (GNN; else empty).
    params
        The options used.
    """

    predictions: pd.DataFrame
    coefficients: pd.Series
    loss: pd.Series
    params: dict = field(default_factory=dict)


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
    model: Literal["community", "gnn"] = "community",
    hidden: int = 32,
    layers: int = 2,
    epochs: int = 400,
    lr: float = 1e-2,
    weight_decay: float = 1e-4,
    progress: bool = False,
    seed: int = 0,
) -> CombinationPrediction:
    """Predict double perturbations from their singles, with and without a gene graph.

    The **additive** baseline predicts the shift of ``A+B`` as the shift of ``A`` plus the
    shift of ``B``. The ``"community"`` **graph model** asks the GEARS question (do the genes two
    perturbations hit sit close together in a gene-gene graph, and does that make the pair
    interact?) with a deliberately small model: the graph is split into communities
    (Leiden), and for pairs whose two target genes share a community it learns
    one coefficient per community, ``shift(A+B) = (1 + b_c) (shift(A) + shift(B))`` on that
    community's genes, by ridge regression on the training doubles. Pairs across
    communities, and communities without training doubles, stay additive. It is not GEARS's
    graph neural network; it isolates the idea GEARS relies on.

    ``model="gnn"`` is a compact GEARS-style graph neural network (torch, CPU, one
    thread): learnable gene embeddings pass ``layers`` rounds of residual message passing
    over the gene graph, learnable perturbation embeddings the same over a
    perturbation-similarity graph (Jaccard overlap of the target genes' gene-graph
    neighbourhoods). A condition's embedding is the sum of its perturbations' embeddings
    plus an MLP of that sum, minus the MLP terms of its singles (so a pair can be
    non-additive while a single carries no interaction term); its inner product with each
    gene's embedding is the predicted shift from control. It is trained, full batch with
    Adam and MSE, on every single and the training pairs; it does not read the measured
    singles at prediction time (they are learnt, as in GEARS). Dropped from GEARS: the Gene
    Ontology graph, the cross-gene decoder layer and the direction-aware loss.

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
    model
        ``"community"`` (one interaction coefficient per graph community) or ``"gnn"``.
    hidden, layers, epochs, lr, weight_decay
        The GNN's embedding size, message-passing rounds, full-batch Adam steps, learning
        rate and weight decay (``model="gnn"`` only). ``hidden`` should be at least the
        number of singles, so that every single's profile can be learnt.
    progress
        Show a tqdm progress bar while the GNN trains.
    seed
        Seed of the community detection, or of the GNN's initialisation.

    Returns
    -------
    CombinationPrediction
        Frozen dataclass: ``predictions`` (tidy DataFrame, one row per (test pair, gene):
        ``pair``, ``gene``, ``observed``, ``additive``, ``model``, shifts against control,
        float64); ``coefficients`` (Series of the learnt ``b_c`` indexed ``community0``, ...;
        empty for ``model="gnn"``); ``loss`` (Series of the training MSE per epoch, indexed
        from 1; empty for ``model="community"``); ``params`` (dict of the options).
        ``adata`` is not modified.

    Raises
    ------
    ValueError
        A pair that is not ``"A+B"`` with both singles present; overlapping train and test;
        a perturbation without a target gene; no control; an unknown ``model``.

    References
    ----------
    Roohani et al. 2024 :cite:`roohani2024`; Norman et al. 2019 :cite:`norman2019`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> combo = pk.data.simulate_combinations(n_genes=120, seed=0)
    >>> pairs = list(combo.uns["truth"]["pairs"].index)
    >>> pred = pk.tl.predict_combinations(combo, train=pairs[::2], test=pairs[1::2])
    >>> sorted(pred.predictions.columns)
    ['additive', 'gene', 'model', 'observed', 'pair']
    >>> gnn = pk.tl.predict_combinations(combo, train=pairs[::2], test=pairs[1::2], model="gnn", epochs=50)
    >>> gnn.predictions.shape == pred.predictions.shape, len(gnn.loss)
    (True, 50)
    """
    check_adata(adata)
    if model not in ("community", "gnn"):
        raise ValueError(f"model must be 'community' or 'gnn', got {model!r}")
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
    params = {"model": model, "seed": seed, "n_train": len(train)}
    if model == "gnn":
        singles = [lab for lab in labels if lab != control and "+" not in lab]
        missing = sorted(p for p in singles if p not in pgenes)
        if missing:
            raise ValueError(f"perturbations without a target gene: {missing[:5]}")
        pred, losses = _gnn(shift, singles, train, test, genes, graph, pgenes, hidden=hidden, layers=layers,
                            epochs=epochs, lr=lr, weight_decay=weight_decay, seed=seed, progress=progress)
        frames = [pd.DataFrame({"pair": pair, "gene": genes, "observed": shift[pair],
                                "additive": shift[pair.split("+")[0]] + shift[pair.split("+")[1]],
                                "model": pred[k]}) for k, pair in enumerate(test)]
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=["pair", "gene", "observed", "additive", "model"])
        return CombinationPrediction(
            predictions=out, coefficients=pd.Series(dtype=float, name="coefficient"),
            loss=pd.Series(losses, index=pd.RangeIndex(1, len(losses) + 1, name="epoch"), name="mse", dtype=float),
            params={**params, "hidden": hidden, "layers": layers, "epochs": epochs, "lr": lr,
                    "weight_decay": weight_decay})
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
    coefficients = pd.Series(np.asarray(coef, dtype=float), index=[f"community{c}" for c in range(len(coef))],
                             name="coefficient")
    return CombinationPrediction(predictions=out, coefficients=coefficients,
                                 loss=pd.Series(dtype=float, name="mse"),
                                 params={**params, "resolution": resolution, "alpha": alpha})
