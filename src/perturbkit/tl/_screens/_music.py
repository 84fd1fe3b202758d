"""MUSIC-style topic model of a screen: each cell a mixture of expression topics."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ..._validate import check_adata, check_counts, check_group

__all__ = ["music"]

_EXCLUDED = ("multiple", "unassigned")


def _kl_nmf(x: np.ndarray, w: np.ndarray, h: np.ndarray, n_iter: int, fit_h: bool) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicative updates for Poisson (KL) NMF, x ~ Poisson(w @ h): probabilistic LSA.

    Dense on purpose: screen panels have hundreds of genes, and a dense cells x genes
    product is cheaper than gathering the factors at every non-zero count.
    """
    for _ in range(n_iter):
        w *= ((x / np.maximum(w @ h, 1e-12)) @ h.T) / np.maximum(h.sum(1), 1e-12)[None, :]
        if fit_h:
            h *= (w.T @ (x / np.maximum(w @ h, 1e-12))) / np.maximum(w.sum(0), 1e-12)[:, None]
    return w, h


def _js(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2, between 0 and 1) of two distributions."""
    m = 0.5 * (p + q)

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        ok = a > 0
        return float((a[ok] * np.log2(a[ok] / b[ok])).sum())

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def music(
    adata: AnnData,
    *,
    n_topics: int = 8,
    groupby: str = "perturbation",
    control: str = "control",
    layer: str | None = "counts",
    max_cells_per_group: int = 300,
    n_iter: int = 60,
    n_permutations: int = 200,
    seed: int = 0,
    key_added: str = "music",
    copy: bool = False,
) -> AnnData | None:
    """Topic model of a single-cell screen and a ranking of perturbations by topic shift.

    MUSIC models every cell as a mixture of expression *topics* and reads a perturbation's
    effect as the change it makes to that mixture. Here the topics come from Poisson
    non-negative matrix factorisation of the counts, which is probabilistic latent semantic
    analysis, the maximum-likelihood sibling of the LDA model MUSIC uses (no Dirichlet
    prior; much faster, same kind of topics). The topics are fitted on at most
    ``max_cells_per_group`` cells of every perturbation (so large groups do not dominate),
    then every cell's topic proportions are fitted with the topics held fixed. Each
    perturbation is scored by the Jensen-Shannon divergence between its cells' mean topic
    proportions and the controls', with a p-value from shuffling labels between the two
    groups.

    Run first: :func:`perturbkit.tl.assign_guides`.

    Parameters
    ----------
    adata
        Screen with raw counts and ``obs[groupby]``.
    n_topics
        Number of topics.
    groupby, control
        Perturbation labels and the control label (``"multiple"`` and ``"unassigned"``
        cells get proportions but are not scored).
    layer
        Raw counts (``None``: ``X``).
    max_cells_per_group
        Cap per perturbation for fitting the topics.
    n_iter
        EM (multiplicative update) iterations of the topic fit (a third of that, at
        least 20, for the proportions of all cells).
    n_permutations
        Label shuffles per perturbation for its p-value.
    seed
        Seed of the initialisation, subsampling and shuffles.
    key_added
        Keys written.
    copy
        Return a modified copy.

    Returns
    -------
    ``None`` or the copy; writes

    ``obsm[f"X_{key_added}"]``
        topic proportions per cell (float, cells x ``n_topics``, rows sum to 1).
    ``varm[f"{key_added}_topics"]``
        each topic's distribution over genes (float, genes x ``n_topics``, columns sum to 1).
    ``uns[key_added]``
        ``{"params", "ranking": DataFrame}``; ``ranking`` per perturbation: ``n_cells``,
        ``js_divergence``, ``js_null_mean`` (mean over shuffles: the size-dependent floor),
        ``effect`` (``js_divergence - js_null_mean``), ``pvalue``, ``top_topic`` (topic whose
        share changes most) and ``top_topic_change``; sorted by ``effect``. Also
        ``"topic_genes"``: DataFrame of the 10 top genes per topic.

    Raises
    ------
    ValueError
        No control cells; ``n_topics`` < 2.

    References
    ----------
    Duan et al. 2019 :cite:`duan2019`; Blei et al. 2003 :cite:`blei2003`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=600, n_genes=40, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> pk.tl.music(adata, n_topics=4, n_permutations=50)
    >>> adata.obsm["X_music"].shape
    (600, 4)
    """
    check_adata(adata)
    check_group(adata, groupby, control, role="control label")
    if n_topics < 2:
        raise ValueError(f"n_topics must be >= 2, got {n_topics}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    raw = adata.layers[layer] if layer is not None else adata.X
    check_counts(raw, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    x = np.asarray(raw.toarray() if sparse.issparse(raw) else raw, dtype=np.float32)
    rng = np.random.default_rng(seed)
    labels = adata.obs[groupby].astype(str).to_numpy()
    fit_cells = []
    for g in np.unique(labels):
        idx = np.flatnonzero(labels == g)
        fit_cells.append(rng.choice(idx, size=min(idx.size, max_cells_per_group), replace=False))
    fit_cells = np.sort(np.concatenate(fit_cells))
    xf = x[fit_cells]
    lib = xf.sum(1)
    w = (rng.uniform(0.5, 1.5, (xf.shape[0], n_topics)) * (lib[:, None] / n_topics)).astype(np.float32)
    h = rng.dirichlet(np.ones(x.shape[1]), n_topics).astype(np.float32)
    w, h = _kl_nmf(xf, w, h, n_iter, fit_h=True)
    h_norm = h / h.sum(1, keepdims=True)  # topic x gene distributions
    lib_all = x.sum(1)
    w_all = (np.full((x.shape[0], n_topics), 1.0 / n_topics) * lib_all[:, None]).astype(np.float32)
    w_all, _ = _kl_nmf(x, w_all, h_norm.copy(), max(n_iter // 3, 20), fit_h=False)
    theta = (w_all / np.maximum(w_all.sum(1, keepdims=True), 1e-12)).astype(float)
    h_norm = h_norm.astype(float)

    ctrl = labels == str(control)
    rows = []
    for g in sorted(set(labels) - {str(control), *_EXCLUDED}):
        grp = labels == g
        pool = np.flatnonzero(grp | ctrl)
        n1 = int(grp.sum())
        p_g, p_c = theta[grp].mean(0), theta[ctrl].mean(0)
        js = _js(p_g, p_c)
        null = np.empty(n_permutations)
        sub = theta[pool]
        for b in range(n_permutations):
            perm = rng.permutation(pool.size)
            null[b] = _js(sub[perm[:n1]].mean(0), sub[perm[n1:]].mean(0))
        change = p_g - p_c
        k = int(np.argmax(np.abs(change)))
        rows.append({
            "perturbation": g, "n_cells": n1, "js_divergence": js,
            "js_null_mean": float(null.mean()) if n_permutations else np.nan,
            "effect": js - (float(null.mean()) if n_permutations else 0.0),
            "pvalue": float((1 + (null >= js).sum()) / (1 + n_permutations)) if n_permutations else np.nan,
            "top_topic": f"topic{k}", "top_topic_change": float(change[k]),
        })
    ranking = pd.DataFrame(rows).set_index("perturbation").sort_values("effect", ascending=False)
    genes = np.asarray(adata.var_names)
    topic_genes = pd.DataFrame(
        {f"topic{k}": genes[np.argsort(-h_norm[k])[:10]] for k in range(n_topics)}
    )
    out = adata.copy() if copy else adata
    out.obsm[f"X_{key_added}"] = theta
    out.varm[f"{key_added}_topics"] = h_norm.T
    out.uns[key_added] = {
        "params": {"n_topics": n_topics, "groupby": groupby, "control": control, "layer": layer,
                   "max_cells_per_group": max_cells_per_group, "n_iter": n_iter,
                   "n_permutations": n_permutations, "seed": seed, "n_fit_cells": int(fit_cells.size)},
        "ranking": ranking,
        "topic_genes": topic_genes,
    }
    return out if copy else None
