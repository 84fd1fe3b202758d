"""GEARS's prior-knowledge idea: a Gene Ontology graph lets a never-perturbed gene borrow a prediction."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import check_adata, check_group, check_obs

__all__ = ["go_graph", "predict_unseen_genes"]


def go_graph(gene_terms: pd.DataFrame, genes: Sequence[str], *, k: int = 20, min_similarity: float = 0.1) -> pd.DataFrame:
    """GEARS's perturbation graph: genes linked by the Jaccard overlap of their GO terms.

    For every pair of ``genes``, the similarity is ``|T_a & T_b| / |T_a | T_b|`` over their
    annotated terms; each gene keeps its ``k`` most similar genes with similarity at least
    ``min_similarity`` (GEARS: top 20). Genes without any term stay isolated.

    Parameters
    ----------
    gene_terms
        Annotation table with columns ``term`` and ``gene`` (e.g. ``pk.data.load("ontology_drugcell")["genes"]``).
    genes
        The perturbed genes (nodes).
    k, min_similarity
        Neighbours kept per gene and the smallest similarity kept.

    Returns
    -------
    DataFrame
        Directed edges ``source``, ``target``, ``weight`` (Jaccard similarity), ``target`` among
        ``source``'s top ``k``; no self-edges.

    Raises
    ------
    KeyError
        ``gene_terms`` lacks ``term`` or ``gene``.
    ValueError
        ``k < 1`` or ``min_similarity`` outside [0, 1].

    References
    ----------
    Roohani et al. 2024 :cite:`roohani2024`.

    Examples
    --------
    >>> import pandas as pd
    >>> import perturbkit as pk
    >>> ann = pd.DataFrame({"term": ["t1", "t1", "t2", "t2"], "gene": ["A", "B", "B", "C"]})
    >>> pk.tl.go_graph(ann, ["A", "B", "C"], k=1).query("source == 'A'")["target"].item()
    'B'
    """
    for col in ("term", "gene"):
        if col not in gene_terms.columns:
            raise KeyError(f"gene_terms has no {col!r} column; columns: {list(gene_terms.columns)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not 0 <= min_similarity <= 1:
        raise ValueError(f"min_similarity must be in [0, 1], got {min_similarity}")
    genes = list(dict.fromkeys(map(str, genes)))
    ann = gene_terms[gene_terms["gene"].astype(str).isin(genes)]
    terms = sorted(ann["term"].astype(str).unique())
    tpos = {t: i for i, t in enumerate(terms)}
    gpos = {g: i for i, g in enumerate(genes)}
    m = np.zeros((len(genes), len(terms)))
    m[ann["gene"].astype(str).map(gpos).to_numpy(), ann["term"].astype(str).map(tpos).to_numpy()] = 1.0
    inter = m @ m.T
    size = m.sum(1)
    union = size[:, None] + size[None, :] - inter
    sim = np.where(union > 0, inter / np.maximum(union, 1.0), 0.0)
    np.fill_diagonal(sim, -1.0)
    rows = []
    for i, g in enumerate(genes):
        order = np.argsort(-sim[i], kind="stable")[:k]
        for j in order:
            if sim[i, j] >= min_similarity and sim[i, j] > 0:
                rows.append((g, genes[j], float(sim[i, j])))
    return pd.DataFrame(rows, columns=["source", "target", "weight"])


def predict_unseen_genes(
    adata: AnnData,
    graph: pd.DataFrame,
    *,
    train: Sequence[str],
    test: Sequence[str],
    groupby: str = "perturbation",
    control: str = "control",
) -> pd.DataFrame:
    """Predict singles and pairs that involve genes never perturbed in training, through a gene graph.

    GEARS's central claim is that a prior-knowledge graph (Gene Ontology) places a perturbation
    it never saw: its embedding is formed by message passing from graph neighbours that were
    seen. This is that idea without the neural network: an unseen gene's shift from control is
    the similarity-weighted mean of the shifts of its graph neighbours among the training
    singles (one round of message passing with the graph's weights); a seen gene keeps its
    measured shift; a pair is the sum of its two genes' (measured or borrowed) shifts. A gene
    with no trained neighbour gets the mean training shift.

    Baselines in every row: ``no_change`` (0: the control) and ``mean_single`` (the mean
    training single; the best one can do knowing nothing about the gene), and for pairs of two
    measured singles ``additive``.

    Run first: nothing; ``adata`` holds one row per condition (mean log expression), singles
    ``"A"`` and pairs ``"A+B"`` in ``obs[groupby]`` (e.g. :func:`perturbkit.data.simulate_go_screen`).

    Parameters
    ----------
    adata
        Conditions x genes.
    graph
        Edges ``source``, ``target``, ``weight`` between perturbed genes (:func:`go_graph`).
    train
        Singles whose measured shifts the model may read.
    test
        Singles or pairs to predict (none of them in ``train``).
    groupby, control
        Condition labels and the control label.

    Returns
    -------
    DataFrame
        One row per (test condition, gene): ``condition``, ``kind`` (``"single"``, ``"pair, one
        unseen"``, ``"pair, both unseen"``, ``"pair, both seen"``), ``n_neighbours`` (trained graph
        neighbours used, summed over the pair's unseen genes), ``gene``, ``observed``, ``model``,
        ``no_change``, ``mean_single``. ``adata`` is not modified.

    Raises
    ------
    KeyError
        ``graph`` lacks ``source``/``target``/``weight``.
    ValueError
        A condition not in ``obs[groupby]``; a test condition in ``train``; a pair not
        ``"A+B"``; no control.

    References
    ----------
    Roohani et al. 2024 :cite:`roohani2024`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sets = {"t1": ["A", "B", "C"], "t2": ["D", "E", "F"]}
    >>> go = pk.data.simulate_go_screen(sets, n_readout_genes=30, n_pairs=0, gene_noise=0.0, seed=0)
    >>> g = pk.tl.go_graph(go.uns["truth"]["gene_terms"], list("ABCDEF"))
    >>> res = pk.tl.predict_unseen_genes(go, g, train=["A", "B", "D", "E"], test=["C", "F"])
    >>> c = res[res["condition"] == "C"]
    >>> bool(((c["model"] - c["observed"]) ** 2).mean() < ((c["no_change"] - c["observed"]) ** 2).mean())
    True
    """
    check_adata(adata)
    check_obs(adata, groupby)
    check_group(adata, groupby, control, role="control label")
    for col in ("source", "target", "weight"):
        if col not in graph.columns:
            raise KeyError(f"graph has no {col!r} column; columns: {list(graph.columns)}")
    labels = adata.obs[groupby].astype(str).to_numpy()
    row = {lab: i for i, lab in enumerate(labels)}
    for name in [*train, *test]:
        if name not in row:
            raise ValueError(f"condition {name!r} not in adata.obs[{groupby!r}]")
    clash = sorted(set(train) & set(test))
    if clash:
        raise ValueError(f"test conditions also in train: {clash[:5]}")
    x = np.asarray(adata.X, dtype=float)
    shift = {lab: x[i] - x[row[control]] for lab, i in row.items()}
    seen = [t for t in train if "+" not in t]
    mean_single = np.mean([shift[s] for s in seen], axis=0) if seen else np.zeros(adata.n_vars)
    seen_set = set(seen)
    edges = graph[graph["target"].astype(str).isin(seen_set)]
    by_source = {s: e for s, e in edges.groupby(edges["source"].astype(str))}

    def single(gene: str) -> tuple[np.ndarray, int]:
        if gene in seen_set:
            return shift[gene], 0
        e = by_source.get(gene)
        if e is None or e.empty:
            return mean_single, 0
        w = e["weight"].to_numpy(float)
        return np.sum([wi * shift[t] for wi, t in zip(w, e["target"].astype(str), strict=True)], axis=0) / w.sum(), len(e)

    frames = []
    for cond in test:
        parts = cond.split("+")
        if len(parts) > 2:
            raise ValueError(f"condition {cond!r} must be a single 'A' or a pair 'A+B'")
        preds = [single(p) for p in parts]
        model = np.sum([p for p, _ in preds], axis=0)
        n_unseen = sum(p not in seen_set for p in parts)
        kind = "single" if len(parts) == 1 else ["pair, both seen", "pair, one unseen", "pair, both unseen"][n_unseen]
        frame = pd.DataFrame({"condition": cond, "kind": kind, "n_neighbours": sum(n for _, n in preds),
                              "gene": adata.var_names, "observed": shift[cond], "model": model,
                              "no_change": 0.0, "mean_single": mean_single * len(parts)})
        if len(parts) == 2 and n_unseen == 0:
            frame["additive"] = shift[parts[0]] + shift[parts[1]]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
