"""Resistant subpopulations in a single-cell dose series: a mixture of two dose-response
curves (sensitive and resistant) fitted to a per-cell response score by EM."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import optimize, stats

from ..._keys import RESISTANCE, obs_key
from ..._validate import as_dense, check_adata, check_obs
from ...dose import get_model

__all__ = ["resistant_subpopulation"]


_HILL = get_model("Hill")


def _hill(x: np.ndarray, top: float, ec50: float, h: float) -> np.ndarray:
    """Hill curve rising from 0 to ``top``: pk.dose's ``Hill`` with c = 0, d = top, b = h, e = ec50."""
    return _HILL(x, np.array([h, 0.0, top, ec50], float))


def _response_score(
    adata: AnnData, dose: np.ndarray, layer: str | None, n_genes: int, genes: list[str] | None
) -> tuple[np.ndarray, list[str]]:
    """Mean standardised log expression of the genes that track dose (signed)."""
    x = as_dense(adata.layers[layer] if layer is not None else adata.X)
    if (x < 0).any():
        raise ValueError("expression has negative values; pass counts or log-normalised data")
    lib = x.sum(axis=1, keepdims=True)
    if np.any(lib == 0):
        raise ValueError("some cells have no counts")
    logx = np.log1p(x / lib * np.median(lib))
    ctrl = dose == 0
    mu, sd = logx[ctrl].mean(axis=0), logx[ctrl].std(axis=0) + 1e-3
    z = (logx - mu) / sd
    if genes is None:
        logd = np.log10(np.where(dose > 0, dose, dose[dose > 0].min() / 3))
        rho = np.array([stats.spearmanr(logd, logx[:, j])[0] if np.ptp(logx[:, j]) > 0 else 0.0
                        for j in range(logx.shape[1])])
        rho = np.nan_to_num(rho)
        pick = np.argsort(-np.abs(rho))[:n_genes]
        sign = np.sign(rho[pick])
        names = [str(adata.var_names[j]) for j in pick]
    else:
        missing = [g for g in genes if g not in adata.var_names]
        if missing:
            raise KeyError(f"response genes not in adata.var_names: {missing[:5]}")
        pick = np.array([adata.var_names.get_loc(g) for g in genes])
        sign = np.ones(len(pick))
        names = list(genes)
    return (z[:, pick] * sign).mean(axis=1), names


def resistant_subpopulation(
    adata: AnnData,
    *,
    dose_key: str = "dose",
    layer: str | None = "counts",
    response_genes: list[str] | None = None,
    n_genes: int = 20,
    max_iter: int = 200,
    key_added: str = RESISTANCE,
    copy: bool = False,
) -> AnnData | None:
    """Find cells that need a much higher dose to respond: a two-curve mixture model.

    Each cell gets a response score (the mean standardised expression of the genes that
    follow dose most closely, or of ``response_genes``). Across the dose series the scores
    are modelled as a mixture of two dose-response curves, ``top / (1 + (EC50 / dose)^h)``
    plus Gaussian noise, fitted by expectation-maximisation; the component with the larger
    EC50 is called resistant. Cells at dose 0 (and at doses where both curves are still
    flat) cannot be told apart: their probability stays near the mixing proportion.
    Baseline: a single curve for all cells, whose likelihood the mixture must beat
    (``uns[key_added]["delta_bic"]``, positive = two populations preferred).

    Parameters
    ----------
    adata
        Cells x genes of a dose series (counts in ``layer``), with ``obs[dose_key]``
        (0 = vehicle control; at least 10 controls).
    dose_key
        ``obs`` column with the dose.
    layer
        Counts layer (``None``: ``X``).
    response_genes
        Genes defining the response score (default: the ``n_genes`` most dose-correlated).
    n_genes
        Genes in the automatic response score.
    max_iter
        EM iterations.
    key_added
        Prefix of the keys written.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    None or AnnData
        Writes ``obs[f"{key_added}_score"]`` (float, response score),
        ``obs[f"{key_added}_prob"]`` (float, posterior probability of the resistant curve),
        ``obs[f"{key_added}_resistant"]`` (bool, prob > 0.5 among treated cells) and
        ``uns[key_added]``: ``ec50`` (dict sensitive/resistant), ``top``, ``hill``,
        ``sigma``, ``weight`` (resistant share), ``delta_bic``, ``response_genes``,
        ``fraction_by_dose`` (dict dose -> mean resistant probability) and ``params``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_resistance(seed=0)
    >>> pk.tl.resistant_subpopulation(sim)
    >>> ec = sim.uns["resistance"]["ec50"]
    >>> ec["resistant"] > 10 * ec["sensitive"]
    True
    """
    check_adata(adata)
    check_obs(adata, dose_key)
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    dose = pd.to_numeric(adata.obs[dose_key], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(dose)) or (dose < 0).any():
        raise ValueError(f"obs[{dose_key!r}] must hold finite doses >= 0")
    if (dose == 0).sum() < 10:
        raise ValueError(f"need at least 10 control cells (dose 0); found {int((dose == 0).sum())}")
    if np.unique(dose[dose > 0]).size < 3:
        raise ValueError("need at least 3 positive doses to fit dose-response curves")
    score, genes = _response_score(adata, dose, layer, n_genes, response_genes)

    pos = np.unique(dose[dose > 0])
    top0 = float(np.percentile(score[dose == pos.max()], 90)) or 1.0
    theta = {"top": top0, "ec": [float(pos[len(pos) // 4]), float(pos[-1])], "h": 1.5,
             "sigma": float(np.std(score[dose == 0])) or 1.0, "w": 0.3}

    def loglik_parts(th: dict) -> np.ndarray:
        mus = np.column_stack([_hill(dose, th["top"], e, th["h"]) for e in th["ec"]])
        dens = stats.norm.pdf(score[:, None], mus, th["sigma"])
        return dens * np.array([1 - th["w"], th["w"]])[None, :]

    prev = -np.inf
    for _ in range(max_iter):
        parts = loglik_parts(theta) + 1e-300
        resp = parts / parts.sum(axis=1, keepdims=True)
        ll = float(np.log(parts.sum(axis=1)).sum())

        def resid(p: np.ndarray, resp: np.ndarray = resp) -> np.ndarray:
            top, le1, le2, h = p
            r1 = (score - _hill(dose, top, np.exp(le1), h)) * np.sqrt(resp[:, 0])
            r2 = (score - _hill(dose, top, np.exp(le2), h)) * np.sqrt(resp[:, 1])
            return np.r_[r1, r2]

        start = np.array([theta["top"], np.log(theta["ec"][0]), np.log(theta["ec"][1]), theta["h"]])
        fit = optimize.least_squares(resid, start, bounds=([1e-6, -30, -30, 0.3], [np.inf, 30, 30, 8]))
        top, le1, le2, h = fit.x
        rss = float(np.sum(fit.fun**2))
        theta = {"top": float(top), "ec": [float(np.exp(le1)), float(np.exp(le2))], "h": float(h),
                 "sigma": float(np.sqrt(rss / len(score))), "w": float(resp[:, 1].mean())}
        if abs(ll - prev) < 1e-6 * max(1.0, abs(ll)):
            break
        prev = ll
    parts = loglik_parts(theta) + 1e-300
    resp = parts / parts.sum(axis=1, keepdims=True)
    ll_mix = float(np.log(parts.sum(axis=1)).sum())
    flip = theta["ec"][0] > theta["ec"][1]
    if flip:
        theta["ec"] = theta["ec"][::-1]
        theta["w"] = 1 - theta["w"]
        resp = resp[:, ::-1]
    # baseline: one curve for every cell
    one = optimize.least_squares(
        lambda p: score - _hill(dose, p[0], np.exp(p[1]), p[2]),
        np.array([theta["top"], np.log(np.median(pos)), 1.5]), bounds=([1e-6, -30, 0.3], [np.inf, 30, 8]))
    sig1 = float(np.sqrt(np.mean(one.fun**2)))
    ll_one = float(stats.norm.logpdf(one.fun, 0, sig1).sum())
    n = len(score)
    delta_bic = (3 + 1) * np.log(n) - 2 * ll_one - ((5 + 1) * np.log(n) - 2 * ll_mix)

    out = adata.copy() if copy else adata
    prob = resp[:, 1]
    out.obs[obs_key(key_added, "score")] = score
    out.obs[obs_key(key_added, "prob")] = prob
    out.obs[obs_key(key_added, "resistant")] = (prob > 0.5) & (dose > 0)
    frac = pd.Series(prob).groupby(dose).mean()
    out.uns[key_added] = {
        "ec50": {"sensitive": theta["ec"][0], "resistant": theta["ec"][1]},
        "top": theta["top"], "hill": theta["h"], "sigma": theta["sigma"], "weight": theta["w"],
        "delta_bic": float(delta_bic), "response_genes": genes,
        "fraction_by_dose": {float(k): float(v) for k, v in frac.items()},
        "params": {"dose_key": dose_key, "layer": layer, "n_genes": n_genes},
    }
    return out if copy else None
