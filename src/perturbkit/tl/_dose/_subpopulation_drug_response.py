"""scDrug-style workflow: predicted drug response per tumour subpopulation, and the smallest
set of drugs (greedy) that covers every subpopulation, next to the whole-tumour baseline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import as_dense, check_adata, check_finite, check_obs
from ._drug_signature_scoring import drug_response_signatures, score_cells

__all__ = ["SubpopulationDrugResponse", "subpopulation_drug_response"]

BULK = "bulk"


def _greedy_cover(sensitive: pd.DataFrame, weight: pd.Series, delta: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Drugs (columns) picked one by one to cover the most still-uncovered cells (rows);
    ties go to the larger mean predicted advantage, then to the drug name."""
    uncovered = set(sensitive.index)
    cover: list[str] = []
    while uncovered:
        rows = sorted(uncovered)
        gain = sensitive.loc[rows].mul(weight.loc[rows], axis=0).sum(axis=0)
        if gain.max() <= 0:
            break
        adv = -delta.loc[rows].where(sensitive.loc[rows]).mean(axis=0).fillna(0.0)
        order = sorted(gain.index, key=lambda d: (-gain[d], -adv[d], str(d)))
        best = order[0]
        cover.append(best)
        uncovered -= set(sensitive.index[sensitive[best]])
    return cover, sorted(uncovered)


@dataclass(frozen=True)
class SubpopulationDrugResponse:
    """What :func:`subpopulation_drug_response` returns (see its *Returns*)."""

    table: pd.DataFrame
    cover: list[str]
    uncovered: list[str]
    bulk_drugs: list[str]
    missed_by_bulk: list[str]
    too_small: list[str]
    calibration: pd.DataFrame
    params: dict = field(default_factory=dict)


def subpopulation_drug_response(
    adata: AnnData,
    ic50: pd.DataFrame,
    expression: pd.DataFrame,
    *,
    cluster_key: str,
    signatures: pd.DataFrame | None = None,
    n_genes: int = 10,
    method: Literal["ulm", "rank"] = "ulm",
    layer: str | None = None,
    margin: float = 0.5,
    min_cells: int = 10,
    tmin: int = 3,
) -> SubpopulationDrugResponse:
    """Predicted drug response of each tumour subpopulation and a drug set covering all of
    them (scDrug-style), with the whole tumour as one bulk sample as the baseline.

    The workflow composes three steps. (1) Signatures: for every drug of a cell-line screen,
    the genes whose expression tracks sensitivity (:func:`drug_response_signatures`,
    unless ``signatures`` is given). (2) Profiles: each cluster's mean log expression, and
    the mean of all cells (the bulk baseline), minus the panel's mean expression; scored
    with :func:`score_cells` (``center=False``; positive = leans to the sensitivity
    genes). (3) Calibration, CaDRReS-style: the cell lines are scored the same way and each
    drug's ln IC50 is regressed on the score across lines, which turns a profile's score
    into a predicted ln IC50. A profile is called *sensitive* when its prediction lies more
    than ``margin`` below the drug's median ln IC50 in the panel. The cover is then built
    greedily: repeatedly take the drug that is predicted effective on the most
    still-uncovered cells, until every cluster is covered or no drug covers the rest.

    Run clustering first (e.g. ``sc.tl.leiden``); ``adata`` must be log expression on the
    scale of ``expression`` (same gene names).

    Parameters
    ----------
    adata
        Tumour cells x genes, log expression in ``X`` or ``layers[layer]``.
    ic50
        ln IC50 of the screen, cell lines x drugs (NaN where not screened).
    expression
        Log expression of the same cell lines, cell lines x genes.
    cluster_key
        ``obs`` column with the subpopulation (cluster) of every cell.
    signatures
        Tidy ``source``/``target``/``weight`` table to use instead of building one; its
        sources must be columns of ``ic50``.
    n_genes
        Genes per direction when building signatures.
    method
        Scoring method of :func:`score_cells` (``"ulm"`` or ``"rank"``).
    layer
        Layer of ``adata`` to use instead of ``X``.
    margin
        ln IC50 units below the panel median needed for a *sensitive* call (0.5 is about a
        1.6-fold lower IC50).
    min_cells
        Clusters with fewer cells are left out of the table and the cover
        (listed in ``too_small``).
    tmin
        Fewest signature genes present in the data for a drug to be scored.

    Returns
    -------
    SubpopulationDrugResponse
        Frozen dataclass. ``table``: one row per (profile, drug), clusters first, then the bulk profile: ``level``
        (``"cluster"``/``"bulk"``), ``cluster`` (str; ``"bulk"`` for the whole tumour),
        ``n_cells`` (int), ``fraction`` (float, share of the tumour's cells), ``drug``
        (str), ``score`` (float; > 0 leans sensitive), ``predicted_ln_ic50`` (float),
        ``delta`` (float; prediction minus panel median, < 0 more sensitive than the
        typical line), ``sensitive`` (bool) and ``in_cover`` (bool, the drug is in the
        cluster-level cover). ``cover`` (list of drugs, in greedy order),
        ``uncovered`` (clusters no drug covers), ``bulk_drugs`` (drugs the bulk call finds
        effective), ``missed_by_bulk`` (clusters sensitive to none of ``bulk_drugs``),
        ``calibration`` (DataFrame indexed by drug: ``slope``, ``intercept``, ``pearson``
        across lines, ``median_ln_ic50``, ``n_lines``), ``too_small`` (clusters below
        ``min_cells``) and ``params`` (dict). Inputs are not
        modified.

    References
    ----------
    Hsieh et al. (2023) scDrug: from single-cell RNA-seq to drug response prediction,
    Comput Struct Biotechnol J 21:150-157; Suphavilai et al. (2021) CaDRReS-Sc, Genome Med
    13:189.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(seed=0)
    >>> res = pk.tl.subpopulation_drug_response(sim["cells"], sim["ic50"], sim["expression"],
    ...                                         cluster_key="subpopulation")
    >>> res.cover, res.bulk_drugs, res.missed_by_bulk
    (['drug0', 'drug1'], ['drug0', 'drug2'], ['B'])
    """
    check_adata(adata)
    check_obs(adata, cluster_key)
    if not isinstance(ic50, pd.DataFrame) or not isinstance(expression, pd.DataFrame):
        raise TypeError("ic50 and expression must be DataFrames (cell lines x drugs, cell lines x genes)")
    if method not in ("ulm", "rank"):
        raise ValueError(f"method must be 'ulm' or 'rank', got {method!r}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    if margin < 0 or min_cells < 1:
        raise ValueError(f"margin must be >= 0 and min_cells >= 1, got {margin} and {min_cells}")
    x = check_finite(as_dense(adata.X if layer is None else adata.layers[layer]),
                     name="adata.X" if layer is None else f"adata.layers[{layer!r}]")
    check_finite(expression.to_numpy(dtype=float), name="expression")
    genes = pd.Index(adata.var_names.astype(str)).intersection(pd.Index(expression.columns.astype(str)), sort=False)
    if len(genes) == 0:
        raise ValueError(
            "adata.var_names and expression.columns have no gene in common; "
            "use the same gene identifiers (symbols vs ids) in the tumour and the screen"
        )
    panel = expression.set_axis(expression.columns.astype(str), axis=1)[genes]
    signatures_given = signatures is not None
    if signatures is None:
        signatures = drug_response_signatures(ic50, panel, n_genes=n_genes)
    unknown = sorted(set(signatures["source"].astype(str)) - set(ic50.columns.astype(str)))
    if unknown:
        raise KeyError(f"signatures name drugs that are not columns of ic50: {unknown[:10]}")

    clusters = adata.obs[cluster_key].astype(str).to_numpy()
    col = pd.Index(adata.var_names.astype(str)).get_indexer(genes)
    x = x[:, col]
    names, sizes = np.unique(clusters, return_counts=True)
    keep = [(c, int(n)) for c, n in zip(names, sizes, strict=True) if n >= min_cells]
    too_small = sorted(c for c, n in zip(names, sizes, strict=True) if n < min_cells)
    if not keep:
        raise ValueError(f"no cluster in adata.obs[{cluster_key!r}] has >= {min_cells} cells")
    if BULK in {c for c, _ in keep}:
        raise ValueError(f"adata.obs[{cluster_key!r}] has a cluster named {BULK!r}, reserved for the bulk profile")
    profiles = np.vstack([x[clusters == c].mean(axis=0) for c, _ in keep] + [x.mean(axis=0)])
    reference = panel.mean(axis=0).to_numpy()
    prof_names = [f"cluster:{c}" for c, _ in keep] + [f"cluster:{BULK}"]
    stacked = pd.DataFrame(np.vstack([panel.to_numpy(dtype=float), profiles]) - reference,
                           index=[f"line:{i}" for i in panel.index] + prof_names, columns=genes)
    scored = score_cells(AnnData(stacked.to_numpy(), obs=pd.DataFrame(index=stacked.index),
                                 var=pd.DataFrame(index=genes)),
                         signatures, method=method, center=False, tmin=tmin, copy=True).obsm["drug_score"]
    line_scores = scored.iloc[: len(panel)].set_axis(panel.index)
    prof_scores = scored.iloc[len(panel):]

    calib, rows = {}, []
    ic50_str = ic50.set_axis(ic50.columns.astype(str), axis=1)
    for drug in scored.columns:
        y = ic50_str.reindex(panel.index)[str(drug)].to_numpy(dtype=float)
        s = line_scores[drug].to_numpy(dtype=float)
        ok = np.isfinite(y) & np.isfinite(s)
        if ok.sum() < 3 or np.ptp(s[ok]) == 0:
            raise ValueError(f"drug {drug!r}: fewer than 3 scored cell lines with an IC50 to calibrate on")
        slope, intercept = np.polyfit(s[ok], y[ok], 1)
        calib[drug] = {"slope": float(slope), "intercept": float(intercept),
                       "pearson": float(np.corrcoef(s[ok], y[ok])[0, 1]),
                       "median_ln_ic50": float(np.median(y[ok])), "n_lines": int(ok.sum())}
    n_total = len(clusters)
    for (c, n), pname in zip([*keep, (BULK, n_total)], prof_names, strict=True):
        for drug in scored.columns:
            score = float(prof_scores.loc[pname, drug])
            pred = calib[drug]["intercept"] + calib[drug]["slope"] * score
            delta = pred - calib[drug]["median_ln_ic50"]
            rows.append({"level": "bulk" if pname == prof_names[-1] else "cluster",
                         "cluster": c, "n_cells": n, "fraction": n / n_total, "drug": str(drug), "score": score,
                         "predicted_ln_ic50": pred, "delta": delta, "sensitive": bool(delta < -margin)})
    table = pd.DataFrame(rows)
    clus = table[table["level"] == "cluster"]
    sens = clus.pivot(index="cluster", columns="drug", values="sensitive").astype(bool)
    delta = clus.pivot(index="cluster", columns="drug", values="delta")
    weight = clus.drop_duplicates("cluster").set_index("cluster")["n_cells"]
    cover, uncovered = _greedy_cover(sens, weight, delta)
    bulk_drugs = sorted(table.loc[(table["level"] == "bulk") & table["sensitive"], "drug"])
    missed = sorted(sens.index[~sens[bulk_drugs].any(axis=1)]) if bulk_drugs else sorted(sens.index)
    table["in_cover"] = table["drug"].isin(cover)
    return SubpopulationDrugResponse(
        table=table, cover=list(cover), uncovered=list(uncovered), bulk_drugs=list(bulk_drugs),
        missed_by_bulk=list(missed), too_small=list(too_small),
        calibration=pd.DataFrame(calib).T.rename_axis("drug"),
        params={"cluster_key": cluster_key, "n_genes": n_genes, "method": method, "layer": layer,
                "margin": margin, "min_cells": min_cells, "tmin": tmin, "signatures_given": signatures_given},
    )
