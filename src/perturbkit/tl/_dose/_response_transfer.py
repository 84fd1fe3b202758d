"""Carry drug-response labels from bulk cell lines to single cells (scDEAL's task), with an
adversarial domain-adaptation model against simpler alignments."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._seeding import seeds_torch
from ..._validate import as_dense, check_adata, check_obs

__all__ = ["transfer_response"]

METHODS = ("naive", "standardise", "coral", "domain_adversarial")


def _coral(source: np.ndarray, target: np.ndarray, eps: float = 1.0) -> np.ndarray:
    """Re-colour standardised source data with the target's covariance (CORAL)."""
    cs = np.cov(source, rowvar=False) + eps * np.eye(source.shape[1])
    ct = np.cov(target, rowvar=False) + eps * np.eye(source.shape[1])

    def power(m: np.ndarray, p: float) -> np.ndarray:
        w, v = np.linalg.eigh(m)
        return (v * np.maximum(w, 1e-12) ** p) @ v.T

    return (source - source.mean(0)) @ power(cs, -0.5) @ power(ct, 0.5) + target.mean(0)


@seeds_torch
def _adversarial(xs, ys, xt, seed, n_epochs=150, hidden=32, lam=0.5):
    """A feature extractor trained to predict the bulk label while a domain classifier,
    behind a gradient-reversal layer, fails to tell bulk from single-cell features."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    class Reverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad):
            return -lam * grad

    feat = torch.nn.Sequential(torch.nn.Linear(xs.shape[1], hidden), torch.nn.ReLU())
    clf = torch.nn.Linear(hidden, 1)
    dom = torch.nn.Sequential(torch.nn.Linear(hidden, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    params = [*feat.parameters(), *clf.parameters(), *dom.parameters()]
    opt = torch.optim.Adam(params, lr=3e-3, weight_decay=1e-3)
    s = torch.tensor(xs, dtype=torch.float32)
    t = torch.tensor(xt, dtype=torch.float32)
    y = torch.tensor(ys, dtype=torch.float32)
    bce = torch.nn.BCEWithLogitsLoss()
    for _ in range(n_epochs):
        opt.zero_grad()
        fs, ft = feat(s), feat(t)
        loss = bce(clf(fs)[:, 0], y)
        d_logit = dom(Reverse.apply(torch.cat([fs, ft])))[:, 0]
        d_label = torch.cat([torch.zeros(len(fs)), torch.ones(len(ft))])
        (loss + bce(d_logit, d_label)).backward()
        opt.step()
    with torch.no_grad():
        out = torch.sigmoid(clf(feat(t))[:, 0]).numpy()
    torch.set_num_threads(threads)
    return out


def transfer_response(
    bulk: AnnData,
    cells: AnnData,
    *,
    label_key: str = "resistant",
    methods: Sequence[str] = METHODS,
    seed: int = 0,
) -> pd.DataFrame:
    """Train on bulk labels, predict single cells, score against the cells' true labels.

    * ``naive``: logistic regression on bulk expression applied to cells as they are;
    * ``standardise``: genes z-scored within each domain first (the simplest alignment);
    * ``coral``: bulk data re-coloured to the cells' covariance (CORAL), then standardised;
    * ``domain_adversarial``: a small network whose features predict the bulk label while
      a domain classifier behind gradient reversal cannot separate bulk from cells, the
      domain-adaptation idea of scDEAL (without its denoising autoencoders).

    Parameters
    ----------
    bulk, cells
        Samples x genes (log expression), the same genes; ``bulk.obs[label_key]`` holds the
        training labels, ``cells.obs[label_key]`` the truth used only for scoring.
    label_key
        Boolean label column.
    methods
        Subset of the methods above.
    seed
        Random seed.

    Returns
    -------
    DataFrame
        One row per method: ``auroc`` and ``accuracy`` (threshold 0.5) on the cells.

    Examples
    --------
    >>> import perturbkit as pk
    >>> bulk, cells = pk.data.simulate_response_transfer(seed=0)
    >>> res = pk.tl.transfer_response(bulk, cells, methods=("naive", "standardise"))
    >>> list(res.index)
    ['naive', 'standardise']
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    check_adata(bulk, name="bulk")
    check_adata(cells, name="cells")
    check_obs(bulk, label_key)
    check_obs(cells, label_key)
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; known: {list(METHODS)}")
    if list(bulk.var_names) != list(cells.var_names):
        raise ValueError("bulk and cells must have the same genes in the same order")
    xs, xt = as_dense(bulk.X), as_dense(cells.X)
    ys = bulk.obs[label_key].to_numpy().astype(int)
    yt = cells.obs[label_key].to_numpy().astype(int)

    def z(a: np.ndarray) -> np.ndarray:
        return (a - a.mean(0)) / np.where(a.std(0) > 0, a.std(0), 1.0)

    rows = []
    for m in methods:
        if m == "domain_adversarial":
            prob = _adversarial(z(xs), ys, z(xt), seed)
        else:
            src, tgt = {"naive": (xs, xt), "standardise": (z(xs), z(xt)),
                        "coral": (z(_coral(z(xs), z(xt))), z(xt))}[m]
            model = LogisticRegression(C=0.1, max_iter=2000).fit(src, ys)
            prob = model.predict_proba(tgt)[:, 1]
        rows.append({"method": m, "auroc": float(roc_auc_score(yt, prob)),
                     "accuracy": float(((prob > 0.5) == yt).mean())})
    return pd.DataFrame(rows).set_index("method")
