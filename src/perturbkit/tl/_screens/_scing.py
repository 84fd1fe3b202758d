"""SCING-style gene regulatory network: gradient-boosted regression of each target on
candidate regulators, edges pruned by mutual information, scored against a known network."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import as_dense

__all__ = ["grn", "grn_aupr"]


def grn(
    adata: AnnData,
    *,
    regulators: Sequence[str],
    targets: Sequence[str] | None = None,
    n_estimators: int = 60,
    max_depth: int = 3,
    mi_quantile: float = 0.5,
    layer: str | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Infer regulator -> target edges the SCING way (Littman et al. 2023), in small.

    For each target, a gradient-boosted regression tree ensemble predicts its expression
    from the candidate regulators (the target itself excluded); a regulator's importance is
    its share of the ensemble's impurity reduction. Edges are then pruned by mutual
    information: an edge whose regulator-target mutual information falls below the
    ``mi_quantile`` quantile of all candidate edges is dropped (``kept = False``, score 0),
    which removes regulators that the trees used only to fit noise. SCING adds bagging of
    "supercells" and conditional mutual information to drop indirect edges; this keeps the
    two core steps.

    Must run first: normalisation and ``log1p`` of ``X``.

    Parameters
    ----------
    adata
        Cells x genes, log-normalised.
    regulators
        Candidate regulators (e.g. transcription factors).
    targets
        Genes to explain (default: every gene that is not a regulator).
    n_estimators, max_depth
        Size of each boosted ensemble.
    mi_quantile
        Edges with mutual information below this quantile of all edges are pruned.
    layer
        Layer to use instead of ``X``.
    seed
        Seed of the boosting subsamples and of the mutual-information estimate.

    Returns
    -------
    DataFrame
        One row per candidate edge: ``regulator``, ``target``, ``importance`` (boosting,
        sums to 1 per target), ``mi`` (mutual information, nats), ``kept`` (bool),
        ``score`` (importance if kept, else 0), ``r`` (Pearson correlation, the baseline);
        sorted by ``score``. ``adata`` is not modified.

    Raises
    ------
    KeyError
        A regulator, target or layer that is not there.

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> edges = pk.tl.grn(tissue, regulators=["TF1", "TF2", "TF3", "EPCAM", "CD3E"],
    ...                   targets=["TG1a", "TG2a", "TG3a", "CD274"])
    >>> edges.groupby("target").head(1).set_index("target").loc[["TG1a", "TG2a", "TG3a"], "regulator"].tolist()
    ['TF1', 'TF2', 'TF3']
    """
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.feature_selection import mutual_info_regression

    regulators = list(regulators)
    targets = [g for g in adata.var_names if g not in set(regulators)] if targets is None else list(targets)
    missing = [g for g in [*regulators, *targets] if g not in adata.var_names]
    if missing:
        raise KeyError(f"genes not in adata.var_names: {missing[:10]}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    if not 0 <= mi_quantile < 1:
        raise ValueError(f"mi_quantile must be in [0, 1), got {mi_quantile}")
    genes = list(dict.fromkeys([*regulators, *targets]))
    sub = adata[:, genes]
    x = pd.DataFrame(as_dense(sub.layers[layer] if layer is not None else sub.X), columns=genes)
    rows = []
    for i, target in enumerate(targets):
        regs = [r for r in regulators if r != target]
        xr, y = x[regs].to_numpy(), x[target].to_numpy()
        if y.std() == 0:
            continue
        model = GradientBoostingRegressor(n_estimators=n_estimators, max_depth=max_depth, subsample=0.8,
                                          learning_rate=0.1, random_state=seed + i).fit(xr, y)
        mi = mutual_info_regression(xr, y, random_state=seed, n_neighbors=5)
        r = [np.corrcoef(xr[:, j], y)[0, 1] if xr[:, j].std() > 0 else 0.0 for j in range(len(regs))]
        rows.extend(
            {"regulator": reg, "target": target, "importance": float(imp), "mi": float(m), "r": float(c)}
            for reg, imp, m, c in zip(regs, model.feature_importances_, mi, r, strict=True)
        )
    out = pd.DataFrame(rows)
    threshold = out["mi"].quantile(mi_quantile)
    out["kept"] = out["mi"] > threshold
    out["score"] = np.where(out["kept"], out["importance"], 0.0)
    cols = ["regulator", "target", "importance", "mi", "kept", "score", "r"]
    return out[cols].sort_values(["score", "importance"], ascending=False, ignore_index=True)


def grn_aupr(edges: pd.DataFrame, truth: pd.DataFrame, *, score: str = "score") -> dict[str, float]:
    """Area under the precision-recall curve of an edge ranking against a known network.

    Parameters
    ----------
    edges
        Candidate edges with ``regulator``, ``target`` and the ``score`` column (larger =
        more confident; use ``"r"`` with its absolute value taken for the correlation
        baseline).
    truth
        Known edges with ``tf`` (or ``regulator``) and ``target`` columns.
    score
        Column to rank by (absolute value).

    Returns
    -------
    dict
        ``aupr`` (average precision), ``random`` (the AUPR of a random ranking: the share of
        true edges among the candidates), ``n_true`` and ``n_candidates``.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> edges = pd.DataFrame({"regulator": ["a", "a", "b"], "target": ["x", "y", "x"], "score": [0.9, 0.1, 0.5]})
    >>> truth = pd.DataFrame({"tf": ["a"], "target": ["x"]})
    >>> pk.tl.grn_aupr(edges, truth)["aupr"]
    1.0
    """
    from sklearn.metrics import average_precision_score

    reg_col = "tf" if "tf" in truth.columns else "regulator"
    true = set(zip(truth[reg_col].astype(str), truth["target"].astype(str), strict=True))
    labels = np.array([(r, t) in true for r, t in zip(edges["regulator"], edges["target"], strict=True)])
    if not labels.any():
        raise ValueError("none of the known edges is among the candidates; check regulators and targets")
    aupr = float(average_precision_score(labels, np.abs(edges[score].to_numpy(dtype=float))))
    return {"aupr": aupr, "random": float(labels.mean()), "n_true": int(labels.sum()), "n_candidates": int(len(labels))}
