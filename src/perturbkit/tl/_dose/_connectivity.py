"""Signature reversal: Connectivity Map scores (Kolmogorov-Smirnov, Lamb et al. 2006) and
XSum (Cheng et al. 2014) between a query signature and compound signatures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import as_dense, check_adata, check_group, check_obs

__all__ = ["compound_signatures", "connectivity", "ks_score"]


def compound_signatures(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    split_by: str | Sequence[str] | None = None,
    layer: str | None = None,
) -> pd.DataFrame:
    """Robust z-scores of each group's mean profile against the control wells (one plate).

    For every gene, ``(mean of the group's wells - median of controls) / (1.4826 * MAD of
    controls)``, as L1000 level-4 signatures are built against the plate's vehicle wells.

    Parameters
    ----------
    adata
        Wells x genes with log expression (e.g. ``pk.data.load("l1000_ljp005_a375_dose")``).
    groupby
        ``obs`` column of the perturbation (compound); one signature per label.
    control
        Label of the vehicle wells in ``obs[groupby]``.
    split_by
        Further ``obs`` column(s) splitting a compound's wells into several signatures
        (e.g. ``"dose"``: one signature per compound and dose).
    layer
        Layer to use (``None``: ``X``).

    Returns
    -------
    pandas.DataFrame
        Signatures x genes (float64), indexed by the ``groupby`` label (joined with
        the ``split_by`` labels by ``"|"``, e.g. ``"drugA|10.0"``); control wells are excluded.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_signature_screen(seed=0)
    >>> sig = pk.tl.compound_signatures(sim)
    >>> sig.shape
    (40, 200)
    """
    check_adata(adata)
    extra = [] if split_by is None else [split_by] if isinstance(split_by, str) else list(split_by)
    keys = [groupby, *extra]
    check_obs(adata, *keys)
    check_group(adata, groupby, control, role="control")
    x = as_dense(adata.layers[layer] if layer is not None else adata.X)
    if not np.isfinite(x).all():
        raise ValueError("expression contains NaN or infinite values")
    is_ctrl = (adata.obs[groupby].astype(str) == str(control)).to_numpy()
    if is_ctrl.sum() < 3:
        raise ValueError(f"need at least 3 control wells for a robust scale, found {int(is_ctrl.sum())}")
    med = np.median(x[is_ctrl], axis=0)
    mad = 1.4826 * np.median(np.abs(x[is_ctrl] - med), axis=0)
    mad = np.maximum(mad, np.percentile(mad[mad > 0], 5) if (mad > 0).any() else 1.0)
    labels = adata.obs.loc[~is_ctrl, keys].astype(str).agg("|".join, axis=1)
    frame = pd.DataFrame(x[~is_ctrl], index=labels.to_numpy(), columns=adata.var_names)
    means = frame.groupby(level=0, sort=True).mean()
    return (means - med) / mad


def ks_score(signature: pd.Series, genes: Sequence[str]) -> float:
    """CMap's Kolmogorov-Smirnov enrichment of ``genes`` in a signature ranked from most up
    to most down: positive when the genes sit at the top, negative at the bottom.

    Parameters
    ----------
    signature
        One compound's values per gene.
    genes
        The gene set (genes not in ``signature`` are ignored).

    Returns
    -------
    float
        The signed KS statistic in [-1, 1] (``a`` if ``a > b`` else ``-b``, as in CMap).

    Examples
    --------
    >>> import pandas as pd
    >>> from perturbkit.tl import ks_score
    >>> sig = pd.Series(range(100, 0, -1), index=[f"g{i}" for i in range(100)], dtype=float)
    >>> round(ks_score(sig, ["g0", "g1", "g2"]), 2), round(ks_score(sig, ["g97", "g98", "g99"]), 2)
    (0.97, -0.98)
    """
    ranked = signature.sort_values(ascending=False).index
    pos = np.flatnonzero(np.isin(ranked, list(genes))) + 1  # 1-based positions
    t, n = len(pos), len(ranked)
    if t == 0:
        return 0.0
    pos = np.sort(pos)
    j = np.arange(1, t + 1)
    a = np.max(j / t - pos / n)
    b = np.max(pos / n - (j - 1) / t)
    return float(a if a > b else -b)


def connectivity(
    signatures: pd.DataFrame,
    *,
    up: Sequence[str],
    down: Sequence[str] = (),
    method: str = "ks",
    n_top: int = 100,
    n_perm: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Score every compound signature against a query (the disease's up and down genes).

    ``"ks"`` (CMap {cite}`lamb2006cmap`): KS enrichment of the up genes minus that of the
    down genes in the compound's ranked signature, zero when both move the same way;
    scaled by the largest positive (or negative) score to [-1, 1]. ``"wtcs"`` (CMap's
    L1000 weighted connectivity score {cite}`subramanian2017l1000`): the same with each
    gene's step weighted by its absolute value, ``(ES_up - ES_down) / 2`` (not normalised
    across cell lines here). ``"xsum"``
    {cite}`cheng2014xsum`: keep only the compound's ``n_top`` most up and ``n_top`` most
    down genes, then sum their values over the query's up genes minus over its down genes.
    For both, a **negative score means the compound reverses the query** (the repurposing
    candidates); a positive one that it mimics it. P-values come from ``n_perm`` random
    query gene sets of the same sizes.

    Parameters
    ----------
    signatures
        Compounds x genes (e.g. :func:`compound_signatures`).
    up, down
        Query genes up and down in the disease state (genes absent from the signatures
        are ignored; at least 3 must remain).
    method
        ``"ks"``, ``"wtcs"`` or ``"xsum"``.
    n_top
        Genes kept per direction for XSum.
    n_perm
        Random query sets for the p-values (0: none).
    seed
        Random seed.

    Returns
    -------
    pandas.DataFrame
        One row per compound, most reversing first: ``compound``, ``score`` (float),
        ``p_reverse`` (fraction of random queries scoring as low or lower), ``rank`` (1 =
        strongest reversal, int).

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_signature_screen(seed=0)
    >>> truth = sim.uns["truth"]
    >>> res = pk.tl.connectivity(pk.tl.compound_signatures(sim), up=truth["up"], down=truth["down"])
    >>> set(res["compound"][:3]) == set(truth["reversers"])
    True
    """
    if method not in ("ks", "xsum", "wtcs"):
        raise ValueError(f"method must be 'ks', 'xsum' or 'wtcs', got {method!r}")
    if not isinstance(signatures, pd.DataFrame) or signatures.empty:
        raise ValueError("signatures must be a non-empty DataFrame (compounds x genes)")
    genes = signatures.columns
    up_in = [g for g in dict.fromkeys(up) if g in genes]
    down_in = [g for g in dict.fromkeys(down) if g in genes]
    if len(up_in) + len(down_in) < 3:
        raise ValueError(
            f"only {len(up_in) + len(down_in)} query genes are measured in the signatures; need >= 3"
        )
    if set(up_in) & set(down_in):
        raise ValueError(f"genes in both up and down: {sorted(set(up_in) & set(down_in))[:5]}")
    values = signatures.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("signatures contain NaN or infinite values")

    order_desc = np.argsort(-values, axis=1)
    sorted_abs = np.take_along_axis(np.abs(values), order_desc, axis=1)

    def weighted_es(idx: np.ndarray) -> np.ndarray:
        """GSEA-style enrichment with hits weighted by |value| (CMap 2017's WTCS parts)."""
        n = values.shape[1]
        member = np.zeros(n, dtype=bool)
        member[idx] = True
        hit_mask = member[order_desc]
        hits = np.cumsum(sorted_abs * hit_mask, axis=1)
        hits = hits / np.maximum(hits[:, -1:], 1e-12)
        misses = np.cumsum(~hit_mask, axis=1) / max(n - idx.size, 1)
        dev = hits - misses
        pick = np.argmax(np.abs(dev), axis=1)
        return dev[np.arange(dev.shape[0]), pick]

    def score_all(u: np.ndarray, d: np.ndarray) -> np.ndarray:
        if method == "wtcs":
            eu = weighted_es(u) if u.size else np.zeros(values.shape[0])
            if not d.size:
                return eu
            ed = weighted_es(d)
            return np.where(np.sign(eu) != np.sign(ed), (eu - ed) / 2, 0.0)
        if method == "xsum":
            k = min(n_top, values.shape[1] // 2)
            order = np.argsort(values, axis=1)
            keep = np.zeros_like(values, dtype=bool)
            rows = np.arange(values.shape[0])[:, None]
            keep[rows, order[:, :k]] = True
            keep[rows, order[:, -k:]] = True
            v = np.where(keep, values, 0.0)
            return v[:, u].sum(axis=1) - v[:, d].sum(axis=1)
        ranks = np.argsort(np.argsort(-values, axis=1), axis=1) + 1  # 1 = most up
        n = values.shape[1]

        def ks(idx: np.ndarray) -> np.ndarray:
            if idx.size == 0:
                return np.zeros(values.shape[0])
            pos = np.sort(ranks[:, idx], axis=1)
            t = idx.size
            j = np.arange(1, t + 1)[None, :]
            a = np.max(j / t - pos / n, axis=1)
            b = np.max(pos / n - (j - 1) / t, axis=1)
            return np.where(a > b, a, -b)

        ku, kd = ks(u), ks(d)
        raw = np.where(np.sign(ku) == np.sign(kd), 0.0, ku - kd) if d.size else ku
        return raw

    col = {g: i for i, g in enumerate(genes)}
    u_idx = np.array([col[g] for g in up_in], dtype=int)
    d_idx = np.array([col[g] for g in down_in], dtype=int)
    raw = score_all(u_idx, d_idx)
    if method == "ks":  # CMap scales positive and negative scores separately to [-1, 1]
        pmax, nmin = raw.max(initial=0.0), raw.min(initial=0.0)
        score = np.where(raw > 0, raw / pmax if pmax > 0 else 0.0, np.where(raw < 0, -raw / nmin if nmin < 0 else 0.0, 0.0))
    else:
        score = raw
    out = pd.DataFrame({"compound": signatures.index.astype(str), "score": score, "raw": raw})
    if n_perm > 0:
        rng = np.random.default_rng(seed)
        null = np.empty((n_perm, values.shape[0]))
        for i in range(n_perm):
            pick = rng.choice(values.shape[1], u_idx.size + d_idx.size, replace=False)
            null[i] = score_all(pick[: u_idx.size], pick[u_idx.size :])
        out["p_reverse"] = ((null <= raw[None, :]).sum(axis=0) + 1) / (n_perm + 1)
    else:
        out["p_reverse"] = np.nan
    out = out.sort_values(["score", "raw"], kind="mergesort").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    return out.drop(columns="raw")
