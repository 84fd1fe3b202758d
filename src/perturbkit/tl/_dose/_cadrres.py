"""CaDRReS-Sc (Suphavilai et al. 2021): expression -> kernel features -> a latent space shared
with drugs -> an IC50 for any expression profile (a cell line, a cluster, a tumour)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..._seeding import torch_seed
from ..._validate import check_finite

__all__ = ["CaDRReSModel", "cadrres_fit", "cadrres_holdout"]


def _kernel(profiles: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Pearson correlation of every (gene-centred) profile with every reference cell line."""
    a = profiles - profiles.mean(axis=1, keepdims=True)
    b = reference - reference.mean(axis=1, keepdims=True)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


@dataclass(frozen=True)
class CaDRReSModel:
    """A fitted CaDRReS-Sc model (see :func:`cadrres_fit`); ``predict`` gives ln IC50s."""

    genes: list[str]
    drugs: list[str]
    gene_mean: np.ndarray
    reference: np.ndarray  # gene-centred expression of the training cell lines
    w_latent: np.ndarray  # kernel features -> latent (n_lines x rank)
    w_bias: np.ndarray  # kernel features -> profile bias (n_lines,)
    drug_latent: np.ndarray  # drugs x rank
    drug_bias: np.ndarray  # drugs
    mean: float
    params: dict = field(default_factory=dict)

    def _features(self, profiles: pd.DataFrame) -> np.ndarray:
        missing = [g for g in self.genes if g not in profiles.columns]
        if missing:
            raise KeyError(f"profiles lack {len(missing)} model genes, e.g. {missing[:5]}")
        x = profiles[self.genes].to_numpy(dtype=float)
        check_finite(x, name="profiles")
        return _kernel(x - self.gene_mean, self.reference)

    def latent(self, profiles: pd.DataFrame) -> pd.DataFrame:
        """Position of each profile (rows: samples, columns: genes) in the drug latent space."""
        p = self._features(profiles) @ self.w_latent
        return pd.DataFrame(p, index=profiles.index, columns=[f"latent{k}" for k in range(p.shape[1])])

    def predict(self, profiles: pd.DataFrame) -> pd.DataFrame:
        """Predicted ln IC50, profiles x drugs, for log-expression profiles on the panel's scale
        (cell lines, a cluster's mean, a pseudobulk)."""
        k = self._features(profiles)
        sens = self.mean + self.drug_bias[None, :] + (k @ self.w_bias)[:, None] + (k @ self.w_latent) @ self.drug_latent.T
        return pd.DataFrame(-sens, index=profiles.index, columns=pd.Index(self.drugs, name="drug"))


def _check_inputs(ic50: pd.DataFrame, expression: pd.DataFrame, min_lines: int) -> pd.Index:
    if not isinstance(ic50, pd.DataFrame) or not isinstance(expression, pd.DataFrame):
        raise TypeError("ic50 (cell lines x drugs) and expression (cell lines x genes) must be DataFrames")
    shared = ic50.index.intersection(expression.index)
    if len(shared) < min_lines:
        raise ValueError(f"only {len(shared)} cell lines are in both ic50 and expression (need >= {min_lines}); "
                         "check that both are indexed by the same cell-line ids")
    check_finite(expression.loc[shared].to_numpy(dtype=float), name="expression")
    if np.isinf(ic50.to_numpy(dtype=float)).any():
        raise ValueError("ic50 has infinite values; use NaN for pairs not screened")
    return shared


def cadrres_fit(
    ic50: pd.DataFrame,
    expression: pd.DataFrame,
    *,
    rank: int = 8,
    l2: float = 1e-3,
    n_epochs: int = 600,
    lr: float = 0.02,
    seed: int = 0,
) -> CaDRReSModel:
    """Fit CaDRReS-Sc's cell-line feature projection into a latent space shared with drugs.

    Each cell line's log expression is centred per gene (the panel mean: a log fold change
    against the average line) and described by its Pearson correlations with all training
    cell lines (the kernel features ``x``). A linear map projects ``x`` into a
    ``rank``-dimensional latent space, ``p = x W``, where every drug has a vector ``q`` and
    a bias; the predicted sensitivity (minus ln IC50) is
    ``mu + b_drug + x w_b + q . p``. The weights are fitted by full-batch Adam on the
    squared error over the measured pairs plus an L2 penalty. Because the cell side is a
    function of expression, not a free vector, any profile on the panel's scale (a held-out
    line, a cluster's mean) gets a latent position and an IC50 for every drug; that is the
    step that lets CaDRReS-Sc score tumour clusters.

    Parameters
    ----------
    ic50
        ln IC50, cell lines x drugs (NaN where not screened).
    expression
        Log expression, cell lines x genes, matched to ``ic50`` by index.
    rank
        Latent dimensions.
    l2
        L2 penalty on all weights.
    n_epochs, lr
        Adam steps and learning rate.
    seed
        Random seed (initial weights).

    Returns
    -------
    CaDRReSModel
        Frozen dataclass; ``.predict(profiles)`` -> ln IC50 (profiles x drugs, DataFrame),
        ``.latent(profiles)`` -> latent positions; ``params`` holds the settings and the
        final training loss.

    References
    ----------
    Suphavilai et al. (2018) Predicting cancer drug response using a recommender system,
    Bioinformatics 34:3907; Suphavilai et al. (2021) Predicting heterogeneity in clone-specific
    therapeutic vulnerabilities using single-cell transcriptomic signatures, Genome Med 13:189.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(seed=0)
    >>> model = pk.tl.cadrres_fit(sim["ic50"], sim["expression"], seed=0)
    >>> model.predict(sim["expression"].iloc[:2]).shape
    (2, 4)
    """
    import torch

    if rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank}")
    if l2 < 0 or n_epochs < 1 or lr <= 0:
        raise ValueError(f"need l2 >= 0, n_epochs >= 1 and lr > 0; got {l2}, {n_epochs}, {lr}")
    shared = _check_inputs(ic50, expression, min_lines=max(10, rank + 2))
    expr = expression.loc[shared]
    y = -ic50.loc[shared].to_numpy(dtype=float)  # sensitivity: high = responds
    mask = np.isfinite(y)
    if not mask.any(axis=0).all():
        raise ValueError(f"drugs without any IC50: {list(ic50.columns[~mask.any(axis=0)])}")
    gene_mean = expr.to_numpy(dtype=float).mean(axis=0)
    reference = expr.to_numpy(dtype=float) - gene_mean
    k = _kernel(reference, reference)
    mu = float(np.nanmean(y))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        kt = torch.tensor(k, dtype=torch.float32)
        yt = torch.tensor(np.where(mask, y - mu, 0.0), dtype=torch.float32)
        mt = torch.tensor(mask, dtype=torch.float32)
        n, d = k.shape[0], y.shape[1]
        with torch_seed(seed):  # seeded draws that leave the caller's torch generator alone
            w = torch.nn.Parameter(0.01 * torch.randn(n, rank))
            q = torch.nn.Parameter(0.1 * torch.randn(d, rank))
        wb = torch.nn.Parameter(torch.zeros(n))
        bq = torch.nn.Parameter(torch.tensor(np.nanmean(y, axis=0) - mu, dtype=torch.float32))
        opt = torch.optim.Adam([w, wb, q, bq], lr=lr)
        for _ in range(n_epochs):
            opt.zero_grad()
            pred = bq[None, :] + (kt @ wb)[:, None] + (kt @ w) @ q.T
            loss = (((pred - yt) ** 2) * mt).sum() / mt.sum()
            reg = l2 * ((w**2).sum() + (wb**2).sum() + (q**2).sum())
            (loss + reg).backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return CaDRReSModel(
        genes=[str(g) for g in expr.columns], drugs=[str(c) for c in ic50.columns], gene_mean=gene_mean,
        reference=reference, w_latent=w.detach().numpy().astype(float), w_bias=wb.detach().numpy().astype(float),
        drug_latent=q.detach().numpy().astype(float), drug_bias=bq.detach().numpy().astype(float), mean=mu,
        params={"rank": rank, "l2": l2, "n_epochs": n_epochs, "lr": lr, "seed": seed, "train_mse": float(loss.item())},
    )


def cadrres_holdout(
    ic50: pd.DataFrame,
    expression: pd.DataFrame,
    *,
    test_fraction: float = 0.2,
    rank: int = 8,
    l2: float = 1e-3,
    n_epochs: int = 600,
    seed: int = 0,
) -> pd.DataFrame:
    """Held-out cell lines: CaDRReS-Sc against the drug mean and ridge regression on expression.

    A random ``test_fraction`` of the cell lines is held out whole (expression and IC50s);
    :func:`cadrres_fit` is trained on the rest and predicts the held-out lines from their
    expression. Baselines on the same split: the drug's mean ln IC50 over the training
    lines (what a model knows without expression), and a ridge regression of each drug's
    ln IC50 on the expression (alpha by internal cross-validation).

    Parameters
    ----------
    ic50, expression
        As in :func:`cadrres_fit`.
    test_fraction
        Share of cell lines held out.
    rank, l2, n_epochs
        Passed to :func:`cadrres_fit`.
    seed
        Random seed (split and fit).

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per method x drug: ``method`` (``"cadrres"``, ``"drug_mean"``,
        ``"ridge"``), ``drug``, ``rmse`` (ln units), ``pearson`` (NaN for the constant drug
        mean), ``n_test`` (int).

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(seed=0)
    >>> tab = pk.tl.cadrres_holdout(sim["ic50"], sim["expression"], seed=0)
    >>> sorted(tab["method"].unique())
    ['cadrres', 'drug_mean', 'ridge']
    """
    from sklearn.linear_model import RidgeCV

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    shared = _check_inputs(ic50, expression, min_lines=20)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(shared), dtype=bool)
    test[rng.choice(len(shared), max(1, int(round(test_fraction * len(shared)))), replace=False)] = True
    train_lines, test_lines = shared[~test], shared[test]
    model = cadrres_fit(ic50.loc[train_lines], expression.loc[train_lines], rank=rank, l2=l2,
                        n_epochs=n_epochs, seed=seed)
    preds = {"cadrres": model.predict(expression.loc[test_lines]),
             "drug_mean": pd.DataFrame(np.tile(ic50.loc[train_lines].mean().to_numpy(), (len(test_lines), 1)),
                                       index=test_lines, columns=ic50.columns)}
    ridge = {}
    x_train, x_test = expression.loc[train_lines].to_numpy(float), expression.loc[test_lines].to_numpy(float)
    for drug in ic50.columns:
        yy = ic50.loc[train_lines, drug].to_numpy(dtype=float)
        ok = np.isfinite(yy)
        ridge[drug] = RidgeCV(alphas=np.logspace(-1, 4, 12)).fit(x_train[ok], yy[ok]).predict(x_test)
    preds["ridge"] = pd.DataFrame(ridge, index=test_lines)
    rows = []
    for method, pred in preds.items():
        for drug in ic50.columns:
            truth = ic50.loc[test_lines, drug].to_numpy(dtype=float)
            p = pred[drug].to_numpy(dtype=float)
            ok = np.isfinite(truth)
            r = np.nan if np.ptp(p[ok]) < 1e-12 else float(np.corrcoef(p[ok], truth[ok])[0, 1])
            rows.append({"method": method, "drug": str(drug), "rmse": float(np.sqrt(np.mean((p[ok] - truth[ok]) ** 2))),
                         "pearson": r, "n_test": int(ok.sum())})
    return pd.DataFrame(rows)
