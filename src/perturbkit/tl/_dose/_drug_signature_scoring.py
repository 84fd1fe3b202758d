"""Drug-response signatures from a cell-line screen, and single cells scored against them
(the idea shared by DREEP, Beyondcell, scDrug and scDR)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from ..._validate import as_dense, check_adata, check_finite, check_obs

__all__ = ["drug_response_signatures", "score_cells", "signature_auroc"]


def _as_frame(expression: pd.DataFrame | AnnData) -> pd.DataFrame:
    if isinstance(expression, AnnData):
        return pd.DataFrame(as_dense(expression.X), index=expression.obs_names, columns=expression.var_names)
    if not isinstance(expression, pd.DataFrame):
        raise TypeError(f"expression must be a DataFrame or AnnData, got {type(expression).__name__}")
    return expression


def drug_response_signatures(
    ic50: pd.DataFrame,
    expression: pd.DataFrame | AnnData,
    *,
    drugs: list | None = None,
    n_genes: int = 10,
    min_lines: int = 20,
) -> pd.DataFrame:
    """Per drug, the genes whose cell-line expression tracks sensitivity (DREEP-style).

    For each drug, the Spearman correlation across cell lines between every gene's
    expression and the drug's *sensitivity* (minus ln IC50) ranks the genes; the
    ``n_genes`` most positive are the sensitivity signature (``weight`` +1) and the
    ``n_genes`` most negative the resistance signature (``weight`` -1). Cell lines without
    an IC50 for a drug are skipped for that drug.

    Parameters
    ----------
    ic50
        ln IC50, cell lines x drugs (NaN where not screened), e.g. ``pk.data.load(
        "gdsc_ic50_v17_gdsctools", table="ic50")`` or ``pk.data.simulate_drug_signatures``.
    expression
        Log expression of the same cell lines, cell lines x genes (DataFrame, or AnnData
        with cell lines as ``obs_names``). Rows are matched to ``ic50`` by index.
    drugs
        Drugs (columns of ``ic50``) to build signatures for; default all.
    n_genes
        Genes per direction.
    min_lines
        Fewest cell lines with both expression and IC50 for a drug.

    Returns
    -------
    pandas.DataFrame
        Tidy, decoupler-style network: ``source`` (drug, str), ``target`` (gene),
        ``weight`` (+1.0 sensitivity, -1.0 resistance gene), ``direction``
        (``"sensitive"``/``"resistant"``), ``correlation`` (Spearman r with sensitivity),
        ``n_lines`` (int). Inputs are not modified.

    References
    ----------
    Pellecchia et al. (2023) DREEP, BMC Med 21:476; Fustero-Torre et al. (2021)
    Beyondcell, Genome Med 13:187.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_drug_signatures(seed=0)
    >>> sig = pk.tl.drug_response_signatures(sim["ic50"], sim["expression"], n_genes=10)
    >>> sig.groupby("source").size().tolist()
    [20, 20, 20, 20]
    """
    if not isinstance(ic50, pd.DataFrame):
        raise TypeError(f"ic50 must be a DataFrame (cell lines x drugs), got {type(ic50).__name__}")
    expr = _as_frame(expression)
    if n_genes < 1 or 2 * n_genes > expr.shape[1]:
        raise ValueError(f"n_genes must be in [1, {expr.shape[1] // 2}] for {expr.shape[1]} genes, got {n_genes}")
    check_finite(expr.to_numpy(dtype=float), name="expression")
    vals = ic50.to_numpy(dtype=float)
    if np.isinf(vals).any():
        raise ValueError("ic50 has infinite values; use NaN for drugs not screened")
    drugs = list(ic50.columns) if drugs is None else list(drugs)
    missing = [d for d in drugs if d not in ic50.columns]
    if missing:
        raise KeyError(f"ic50 has no column {missing}; available drugs: {list(ic50.columns)[:20]}")
    shared = ic50.index.intersection(expr.index)
    if len(shared) < min_lines:
        raise ValueError(
            f"only {len(shared)} cell lines are in both ic50 and expression (need >= {min_lines}); "
            "check that both are indexed by the same cell-line ids"
        )
    ranked = expr.loc[shared].rank(axis=0).to_numpy(dtype=float)
    ranked = ranked - ranked.mean(axis=0)
    genes = np.asarray(expr.columns)
    out = []
    for drug in drugs:
        y = -ic50.loc[shared, drug].to_numpy(dtype=float)  # sensitivity: high = responds
        keep = np.isfinite(y)
        if keep.sum() < min_lines:
            raise ValueError(f"drug {drug!r} has {int(keep.sum())} cell lines with an IC50 (need >= {min_lines})")
        x = ranked[keep]
        x = x - x.mean(axis=0)
        ry = rankdata(y[keep])
        ry = ry - ry.mean()
        denom = np.sqrt((x**2).sum(axis=0) * (ry**2).sum())
        r = np.divide(x.T @ ry, denom, out=np.zeros(x.shape[1]), where=denom > 0)
        order = np.argsort(-r, kind="stable")
        for idx, weight, direction in ((order[:n_genes], 1.0, "sensitive"), (order[::-1][:n_genes], -1.0, "resistant")):
            out.append(pd.DataFrame({
                "source": str(drug), "target": genes[idx], "weight": weight, "direction": direction,
                "correlation": r[idx], "n_lines": int(keep.sum()),
            }))
    return pd.concat(out, ignore_index=True)


def _check_signatures(signatures: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(signatures, pd.DataFrame):
        raise TypeError(f"signatures must be a DataFrame with source/target/weight, got {type(signatures).__name__}")
    missing = [c for c in ("source", "target") if c not in signatures.columns]
    if missing:
        raise KeyError(f"signatures has no column {missing}; it needs 'source', 'target' (and 'weight')")
    net = signatures[["source", "target"]].copy()
    net["weight"] = signatures["weight"].to_numpy(dtype=float) if "weight" in signatures else 1.0
    check_finite(net["weight"], name="signatures['weight']")
    return net.drop_duplicates(["source", "target"]).reset_index(drop=True)


def _rank_scores(mat: pd.DataFrame, net: pd.DataFrame) -> pd.DataFrame:
    # singscore-like: mean within-cell rank quantile (0 lowest, 1 highest) of the up genes
    # minus that of the down genes; insensitive to any monotone transform of a cell's profile
    q = (rankdata(mat.to_numpy(), axis=1) - 1) / max(mat.shape[1] - 1, 1)
    ranks = pd.DataFrame(q, index=mat.index, columns=mat.columns)
    out = {}
    for source, grp in net.groupby("source", sort=True):
        up = grp.loc[grp["weight"] > 0, "target"]
        down = grp.loc[grp["weight"] < 0, "target"]
        s = ranks[up].mean(axis=1) if len(up) else 0.5
        s = s - (ranks[down].mean(axis=1) if len(down) else 0.5)
        out[source] = s
    return pd.DataFrame(out, index=mat.index)


def _score(mat: pd.DataFrame, net: pd.DataFrame, method: str, tmin: int) -> pd.DataFrame:
    net = net[net["target"].isin(mat.columns)]
    sizes = net.groupby("source").size()
    if len(sizes) == 0 or (sizes >= tmin).sum() == 0:
        raise ValueError(
            f"no signature has >= {tmin} genes among the {mat.shape[1]} genes of the data; "
            "check that gene names match (symbols vs ids) or lower tmin"
        )
    net = net[net["source"].isin(sizes.index[sizes >= tmin])]
    if method == "ulm":
        import decoupler as dc

        scores, _ = dc.mt.ulm(data=mat, net=net, tmin=tmin, verbose=False)
        return scores.loc[mat.index].astype(float)
    return _rank_scores(mat, net)


def score_cells(
    adata: AnnData,
    signatures: pd.DataFrame,
    *,
    method: Literal["ulm", "rank"] = "ulm",
    layer: str | None = None,
    center: bool = True,
    tmin: int = 3,
    key_added: str = "drug_score",
    copy: bool = False,
) -> AnnData | None:
    """Score every cell against every drug's response signature (Beyondcell/DREEP-style).

    ``method="ulm"``: decoupler's univariate linear model regresses each cell's expression
    over all genes on the signature weights (+1 sensitivity, -1 resistance gene); the
    t-value is the score. ``method="rank"``: mean within-cell rank quantile of the
    sensitivity genes minus that of the resistance genes, in [-1, 1] (singscore-like, no
    distributional assumption). Sign convention: **positive = predicted sensitive** (sensitivity genes
    high, resistance genes low). With ``center`` each gene is centred across the cells
    first, so scores rank cells *relative to this sample*, not on an absolute scale.

    Run ``sc.pp.normalize_total`` and ``sc.pp.log1p`` first (log expression), and build
    ``signatures`` with :func:`drug_response_signatures` or pass any tidy gene-set table.

    Parameters
    ----------
    adata
        Cells x genes, log expression in ``X`` or ``layers[layer]``.
    signatures
        Tidy table with ``source`` (drug), ``target`` (gene) and optional ``weight``
        (sign = direction; default +1).
    method
        ``"ulm"`` (decoupler) or ``"rank"``.
    layer
        Layer to score instead of ``X``.
    center
        Centre each gene across cells before scoring.
    tmin
        Fewest signature genes present in the data for a drug to be scored.
    key_added
        Key for the results.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``obsm[key_added]`` (DataFrame, cells x drugs, float64) and
        ``uns[key_added]["params"]`` (dict); returns the copy if ``copy=True``.

    References
    ----------
    Fustero-Torre et al. (2021) Beyondcell, Genome Med 13:187; Pellecchia et al. (2023)
    DREEP, BMC Med 21:476; Badia-i-Mompel et al. (2022) decoupleR, Bioinform Adv.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_drug_signatures(seed=0)
    >>> sig = pk.tl.drug_response_signatures(sim["ic50"], sim["expression"])
    >>> cells = sim["cells"]
    >>> pk.tl.score_cells(cells, sig)
    >>> cells.obsm["drug_score"].shape
    (600, 4)
    """
    check_adata(adata)
    if method not in ("ulm", "rank"):
        raise ValueError(f"method must be 'ulm' or 'rank', got {method!r}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    net = _check_signatures(signatures)
    x = as_dense(adata.X if layer is None else adata.layers[layer])
    check_finite(x, name="adata.X" if layer is None else f"adata.layers[{layer!r}]")
    if center:
        x = x - x.mean(axis=0)
    mat = pd.DataFrame(x, index=adata.obs_names.astype(str), columns=adata.var_names.astype(str))
    net["target"] = net["target"].astype(str)
    scores = _score(mat, net, method, tmin)
    scores.index = adata.obs_names
    adata = adata.copy() if copy else adata
    adata.obsm[key_added] = scores
    adata.uns[key_added] = {"params": {"method": method, "layer": layer, "center": center, "tmin": tmin}}
    return adata if copy else None


def signature_auroc(
    adata: AnnData,
    signatures: pd.DataFrame,
    drug: str,
    *,
    label_key: str,
    positive: object = True,
    method: Literal["ulm", "rank"] = "ulm",
    layer: str | None = None,
    center: bool = True,
    n_random: int = 20,
    seed: int = 0,
) -> pd.DataFrame:
    """How well a drug's signature score separates sensitive from resistant cells, against
    baselines: random gene sets of the same size and signs, and the single strongest gene.

    Parameters
    ----------
    adata
        Cells x genes (log expression), with the true label in ``obs[label_key]``.
    signatures
        Output of :func:`drug_response_signatures` (``correlation`` picks the single gene;
        without it the first gene of the drug is used).
    drug
        The drug (``source``) to evaluate.
    label_key, positive
        ``obs`` column and the value marking sensitive cells.
    method, layer, center
        As in :func:`score_cells`; ``method="rank", center=False`` is scDR's within-cell
        rank score (:func:`scdr_scores`).
    n_random
        Random gene sets drawn for the baseline.
    seed
        Random seed for the random sets.

    Returns
    -------
    pandas.DataFrame
        Index ``signature``, ``single_gene``, ``random_set``; columns ``auroc`` (float; mean
        over the random sets), ``auroc_sd`` (SD over random sets, 0 otherwise), ``n_genes``
        (int) and ``gene`` (the single gene, else ""). AUROC > 0.5: sensitive cells score
        higher. ``adata`` is not modified.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_drug_signatures(seed=0)
    >>> sig = pk.tl.drug_response_signatures(sim["ic50"], sim["expression"])
    >>> tab = pk.tl.signature_auroc(sim["cells"], sig, "drug0", label_key="sensitive")
    >>> list(tab.index)
    ['signature', 'single_gene', 'random_set']
    """
    check_adata(adata)
    check_obs(adata, label_key)
    if n_random < 1:
        raise ValueError(f"n_random must be >= 1, got {n_random}")
    y = (adata.obs[label_key] == positive).to_numpy()
    if y.all() or not y.any():
        raise ValueError(f"adata.obs[{label_key!r}] needs cells with and without {positive!r}")
    net = _check_signatures(signatures)
    net["target"] = net["target"].astype(str)
    if str(drug) not in set(net["source"].astype(str)):
        raise KeyError(f"drug {drug!r} not in signatures; available: {sorted(net['source'].astype(str).unique())[:20]}")
    net = net[(net["source"].astype(str) == str(drug)) & net["target"].isin(adata.var_names.astype(str))]
    if net.empty:
        raise ValueError(f"no gene of drug {drug!r}'s signature is in adata.var_names")
    view = AnnData(as_dense(adata.X if layer is None else adata.layers[layer]),
                   obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names.astype(str)))
    sig = score_cells(view, net, method=method, center=center, tmin=1, copy=True).obsm["drug_score"].iloc[:, 0]
    rows = {"signature": {"auroc": roc_auc_score(y, sig), "auroc_sd": 0.0, "n_genes": len(net), "gene": ""}}
    if "correlation" in signatures.columns:
        sub = signatures[(signatures["source"].astype(str) == str(drug))
                         & signatures["target"].astype(str).isin(view.var_names)]
        best = sub.iloc[int(np.argmax(np.abs(sub["correlation"].to_numpy(dtype=float))))]
    else:
        best = net.iloc[0]
    gene_score = np.sign(float(best["weight"])) * view[:, str(best["target"])].X.ravel()
    rows["single_gene"] = {"auroc": roc_auc_score(y, gene_score), "auroc_sd": 0.0, "n_genes": 1,
                           "gene": str(best["target"])}
    rng = np.random.default_rng(seed)
    genes = np.asarray(view.var_names)
    random_net = pd.concat([
        pd.DataFrame({"source": f"random{i}", "target": rng.choice(genes, len(net), replace=False),
                      "weight": net["weight"].to_numpy()})
        for i in range(n_random)
    ], ignore_index=True)
    rand = score_cells(view, random_net, method=method, center=center, tmin=1, copy=True).obsm["drug_score"]
    aucs = np.array([roc_auc_score(y, rand[c]) for c in rand.columns])
    rows["random_set"] = {"auroc": float(aucs.mean()), "auroc_sd": float(aucs.std(ddof=1)) if n_random > 1 else 0.0,
                          "n_genes": len(net), "gene": ""}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["auroc"] = out["auroc"].astype(float)
    out["n_genes"] = out["n_genes"].astype(int)
    return out
