"""Dose-response curves for every feature of an AnnData at once, with benchmark doses.

One curve per (perturbation, feature): the wells of a perturbation at their doses plus all
control wells at dose 0, fitted by the batched Levenberg-Marquardt of
:func:`perturbkit.dose.fit_curves`. Benchmark doses (BMD) follow the BMDExpress recipe:
the dose where the fitted curve departs from its control level by a benchmark response of
``bmr_sd`` control standard deviations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from ..._validate import as_dense, check_adata, check_group, check_probability
from ...dose import fit_curves
from ...dose._models import get_model
from ...get._dose_curves import dose_curves
from ...metrics import bh_adjust

__all__ = ["dose_potency", "dose_response", "gene_set_scores"]


def dose_response(
    adata: AnnData,
    *,
    dose_key: str = "dose",
    groupby: str = "perturbation",
    control: str = "control",
    model: str = "LL.4",
    layer: str | None = None,
    obsm_key: str | None = None,
    groups: Sequence[str] | None = None,
    bmr_sd: float = 1.0,
    level: float = 0.95,
    fdr: float = 0.05,
    max_iter: int = 200,
    retry: bool = True,
    gene_chunk: int | None = None,
) -> pd.DataFrame:
    """Fit a dose-response curve to every feature of every perturbation, all at once.

    For each perturbation, its wells (at their doses) and all control wells (dose 0) form
    one curve per feature (gene, or gene-set score with ``obsm_key``). All curves are fitted
    together by batched Levenberg-Marquardt (:func:`perturbkit.dose.fit_curves`), each with
    its own convergence flag. Then, per curve: an F test against the flat (no dose effect)
    model, the ED50, and the benchmark dose (BMD) with its one-sided lower and upper bounds
    (BMDL, BMDU) as in BMDExpress.

    Must run first: nothing, but ``obs[dose_key]`` must hold doses (0 for controls) and
    ``obs[groupby]`` the perturbation with the control label.

    Parameters
    ----------
    adata
        Wells (or pseudobulk samples) x features; log-scale expression in ``X`` or ``layer``.
    dose_key, groupby, control
        Dose column, perturbation column and its control label.
    model
        Continuous drc model for every curve (``"LL.4"`` default; ``"LL.3"``, ``"W1.4"`` ...).
    layer, obsm_key
        Fit a layer, or the columns of ``obsm[obsm_key]`` (e.g. gene-set scores), instead of X.
    groups
        Only these perturbations (default: all but the control).
    bmr_sd
        Benchmark response in control standard deviations (BMDExpress's "SD" BMR type).
    level
        One-sided confidence level of BMDL/BMDU (0.95 as in BMDExpress).
    fdr
        False-discovery rate for calling a curve responsive.
    max_iter, retry
        Passed to :func:`perturbkit.dose.fit_curves`.
    gene_chunk
        Fit this many features at a time (default: as many as keep the curve arrays, perturbations
        x observations x features, near 2**24 numbers, about 130 MB). Each curve is fitted on its
        own, so the table does not depend on it; the BH adjustment runs once over all curves at
        the end. A lazy ``layer`` (:func:`perturbkit.data.read_lazy`) is read one block of features
        at a time. Cost: linear in features x observations; memory one block.

    Returns
    -------
    DataFrame
        One row per (``group``, ``feature``): the parameters (``b``, ``c``, ``d``, ``e``)
        and ``se_*``; ``converged`` (bool), ``status`` (code, see
        :data:`perturbkit.dose.STATUS`), ``n_iter``; ``control_mean``, ``control_sd``;
        ``f_stat``, ``pvalue`` and ``padj`` (BH over all curves) of the curve against a
        flat line; ``direction`` (+1 rises, -1 falls with dose); ``effect_at_max`` (fitted
        change from control at the highest dose, in response units); ``ed50``; ``bmd``,
        ``bmdl``, ``bmdu`` (NaN when the curve never departs by the BMR), ``bmd_in_range``
        (within the tested doses); ``responsive`` (converged, ``padj`` < ``fdr``, BMD in range and
        BMDU/BMDL < 40); ``below_range`` (the fit failed because the response is already
        complete at the lowest dose: e heads below the doses, every treated well lies beyond
        the BMR on one side and a Welch test of treated vs control wells passes the FDR) with
        ``bmd_upper_bound`` (the lowest dose); ``model`` (the drc model name, the same on
        every row, so :func:`perturbkit.pl.feature_curves` can redraw the curves). Non-converged
        curves carry NaN parameters and ``responsive=False``.

    References
    ----------
    Phillips JR et al. (2019) BMDExpress 2. Bioinformatics 35:1780. Crump KS (1984)
    Fundam Appl Toxicol 4:854.

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(n_genes=30, seed=0)
    >>> pb = pk.get.pseudobulk(sim, sample_key="well", cell_type_key="cell_type")
    >>> sc.pp.normalize_total(pb, target_sum=1e4); sc.pp.log1p(pb)
    >>> res = pk.tl.dose_response(pb[pb.obs["cell_type"] == "type1"].copy())
    >>> {"bmd", "converged", "padj", "model"} <= set(res.columns)
    True
    """
    level = check_probability(level, name="level")
    fdr = check_probability(fdr, name="fdr")
    m = get_model(model)
    n_feat = adata.obsm[obsm_key].shape[1] if obsm_key is not None and obsm_key in adata.obsm else adata.n_vars
    step = _feature_step(adata, n_feat, groupby=groupby, control=control, groups=groups, gene_chunk=gene_chunk,
                         chunkable=obsm_key is None)
    parts = []
    for start in range(0, n_feat, step):
        sub = adata if step >= n_feat else adata[:, start:start + step]
        part = _fit_block(sub, m, dose_key=dose_key, groupby=groupby, control=control, layer=layer,
                          obsm_key=obsm_key, groups=groups, bmr_sd=bmr_sd, level=level, max_iter=max_iter,
                          retry=retry)
        n_block = min(step, n_feat - start)
        i = np.arange(len(part))
        # group-major over all features, as one block would order them
        part["_pos"] = (i // n_block) * n_feat + start + i % n_block
        parts.append(part)
    table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    table = table.sort_values("_pos", kind="stable").reset_index(drop=True)
    # the multiple-testing steps see every curve at once, whatever the blocks
    qval = bh_adjust(table["pvalue"].to_numpy(float))
    table["padj"] = qval
    table["responsive"] = (table["bmd_in_range"] & (qval < fdr) & table["_narrow"]).fillna(False).astype(bool)
    cand = table["_cand"].to_numpy(bool)
    p_shift = table["_p_shift"].to_numpy(float)
    q_shift = np.full(len(table), np.nan)
    q_shift[cand] = bh_adjust(p_shift[cand]) if cand.any() else q_shift[cand]
    table["below_range"] = cand & (q_shift < fdr)
    table["bmd_upper_bound"] = np.where(table["below_range"], table["_pos_min"], np.nan)
    below = table["below_range"].to_numpy(bool)
    table.loc[below, "direction"] = table["_shift_sign"].to_numpy()[below].astype(int)
    table["model"] = m.name
    return table.drop(columns=["_pos", "_narrow", "_cand", "_p_shift", "_pos_min", "_shift_sign"])


def _feature_step(adata: AnnData, n_feat: int, *, groupby: str, control: str, groups: Sequence[str] | None,
                  gene_chunk: int | None, chunkable: bool) -> int:
    """Features per block: ``gene_chunk``, or as many as keep groups x observations x features near 2**24."""
    if gene_chunk is not None:
        if int(gene_chunk) < 1:
            raise ValueError(f"gene_chunk must be >= 1, got {gene_chunk}")
        return int(gene_chunk) if chunkable else max(n_feat, 1)
    if not chunkable or groupby not in adata.obs:
        return max(n_feat, 1)  # dose_curves raises the clear error for a missing column
    labels = adata.obs[groupby].astype(str)
    sizes = labels.value_counts()
    n_ctrl = int(sizes.get(str(control), 0))
    treated = sizes.drop(str(control), errors="ignore")
    if groups is not None:
        treated = treated.reindex([str(g) for g in groups]).fillna(0)
    if treated.empty:
        return max(n_feat, 1)
    per_feature = len(treated) * (int(treated.max()) + n_ctrl)
    return int(min(max(n_feat, 1), max(1, 2**24 // max(per_feature, 1))))


def _fit_block(adata: AnnData, m: object, *, dose_key: str, groupby: str, control: str, layer: str | None,
               obsm_key: str | None, groups: Sequence[str] | None, bmr_sd: float, level: float, max_iter: int,
               retry: bool) -> pd.DataFrame:
    """The per-curve columns of :func:`dose_response` for the features of ``adata``; the BH steps
    (``padj``, ``responsive``, ``below_range``) are left to the caller, over all blocks."""
    batch = dose_curves(adata, dose_key=dose_key, groupby=groupby, control=control, layer=layer,
                        obsm_key=obsm_key, groups=groups)
    x, y, w = batch["dose"], batch["response"], batch["weights"]
    # a curve needs as many distinct doses (control 0 included) as the model has parameters;
    # fewer used to give an all-NaN row without a word
    n_levels = np.array([np.unique(xi[wi > 0]).size for xi, wi in zip(x, w, strict=True)])
    short = sorted({str(g) for g, n in zip(batch["group"], n_levels, strict=True) if n < len(m.free)})
    if short:
        raise ValueError(
            f"{m.name} estimates {len(m.free)} parameters but perturbation(s) {short[:10]} of "
            f"adata.obs[{groupby!r}] have fewer distinct doses (control 0 included) in "
            f"adata.obs[{dose_key!r}]; drop them with groups=... or use a model with fewer parameters"
        )
    res, cov = fit_curves(x, y, m, weights=w, max_iter=max_iter, retry=retry, return_cov=True)
    ctrl = batch["control_values"]
    n_groups = len(batch["groups"])
    ctrl_mean = np.tile(ctrl.mean(0), n_groups)
    ctrl_sd = np.tile(ctrl.std(0, ddof=1) if ctrl.shape[0] > 1 else np.full(ctrl.shape[1], np.nan), n_groups)
    theta = res[list(m.free)].to_numpy()
    conv = res["converged"].to_numpy()
    # F test against the flat line (the baseline model: no dose effect)
    nobs = w.sum(1)
    ybar = (w * y).sum(1) / nobs
    rss0 = (w * (y - ybar[:, None]) ** 2).sum(1)
    k = len(m.free)
    with np.errstate(all="ignore"):
        fstat = ((rss0 - res["rss"].to_numpy()) / (k - 1)) / (res["rss"].to_numpy() / (nobs - k))
        pval = stats.f.sf(fstat, k - 1, nobs - k)
    full = m.full(theta)
    y0 = m(np.zeros((len(res), 1)), theta)[:, 0]
    pos_max = np.where(w > 0, x, 0).max(1)
    pos_min = np.where((w > 0) & (x > 0), x, np.inf).min(1)
    y_top = m(pos_max[:, None], theta)[:, 0]
    yinf = m(np.full((len(res), 1), 1e300), theta)[:, 0]
    bmr = bmr_sd * ctrl_sd

    def bmd_of(t: np.ndarray) -> np.ndarray:
        start = m(np.zeros((t.shape[0], 1)), t)[:, 0]
        far = m(np.full((t.shape[0], 1), 1e300), t)[:, 0]
        with np.errstate(all="ignore"):
            frac = bmr / np.abs(far - start)
        return get_model(m).ed(t, 100.0 * frac)

    with np.errstate(all="ignore"):
        bmd = bmd_of(theta)
        grad = np.empty_like(theta)
        for j in range(k):
            step = 1e-6 * np.maximum(np.abs(theta[:, j]), 1e-3)
            up, dn = theta.copy(), theta.copy()
            up[:, j] += step
            dn[:, j] -= step
            grad[:, j] = (bmd_of(up) - bmd_of(dn)) / (2 * step)
        se_bmd = np.sqrt(np.einsum("bk,bkl,bl->b", grad, cov, grad))
        z = stats.norm.ppf(level)
        bmdl = bmd * np.exp(-z * se_bmd / bmd)
        bmdu = bmd * np.exp(z * se_bmd / bmd)
        ed50 = m.ed(theta, 50.0)
    table = pd.DataFrame({"group": batch["group"], "feature": batch["feature"]})
    table = pd.concat([table, res.reset_index(drop=True)], axis=1)
    table["control_mean"] = ctrl_mean
    table["control_sd"] = ctrl_sd
    table["f_stat"] = np.where(conv, fstat, np.nan)
    table["pvalue"] = np.where(conv, pval, np.nan)
    table["padj"] = np.nan  # over all blocks, by the caller
    table["direction"] = np.where(conv, np.sign(yinf - y0), 0).astype(int)
    table["effect_at_max"] = np.where(conv, y_top - y0, np.nan)
    table["ed50"] = np.where(conv, ed50, np.nan)
    table["bmd"] = np.where(conv, bmd, np.nan)
    table["bmdl"] = np.where(conv, bmdl, np.nan)
    table["bmdu"] = np.where(conv, bmdu, np.nan)
    table["bmd_in_range"] = conv & (bmd >= pos_min / 1.0001) & (bmd <= pos_max * 1.0001)
    with np.errstate(all="ignore"):
        table["_narrow"] = bmdu / bmdl < 40
    table["responsive"] = False  # by the caller, after BH over all blocks
    # Curves whose fit failed because the response is already complete at the lowest dose
    # (e heading below the tested range) are the most potent, not the least: test treated
    # against control wells directly and flag them, with BMD only bounded ("< lowest dose").
    treated = (x > 0) & (w > 0)
    controls = (x == 0) & (w > 0)
    with np.errstate(all="ignore"):
        n1, n0 = treated.sum(1), controls.sum(1)
        m1 = (y * treated).sum(1) / n1
        m0 = (y * controls).sum(1) / n0
        v1 = (((y - m1[:, None]) ** 2) * treated).sum(1) / (n1 - 1)
        v0 = (((y - m0[:, None]) ** 2) * controls).sum(1) / (n0 - 1)
        tstat = (m1 - m0) / np.sqrt(v1 / n1 + v0 / n0)
        dfw = (v1 / n1 + v0 / n0) ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v0 / n0) ** 2 / (n0 - 1))
        p_shift = 2 * stats.t.sf(np.abs(tstat), dfw)
        # every treated well beyond the BMR, on the same side
        low1 = np.where(treated, y, np.inf).min(1)
        high1 = np.where(treated, y, -np.inf).max(1)
        beyond = np.where(m1 < m0, high1 < m0 - bmr, low1 > m0 + bmr)
    table["below_range"] = False  # by the caller, after BH over all blocks
    table["bmd_upper_bound"] = np.nan
    table["_cand"] = ~conv & (res["e_side"].to_numpy() == -1) & beyond
    table["_p_shift"] = p_shift
    table["_pos_min"] = pos_min
    table["_shift_sign"] = np.nan_to_num(np.sign(m1 - m0))
    del full
    return table


def dose_potency(
    table: pd.DataFrame,
    *,
    gene_sets: pd.DataFrame | None = None,
    min_genes: int = 3,
    nth_gene: int = 20,
) -> pd.DataFrame:
    """Summarise a :func:`dose_response` table into potencies per perturbation (or per
    perturbation x gene set).

    Parameters
    ----------
    table
        Output of :func:`dose_response`.
    gene_sets
        Tidy gene sets (``source`` = set, ``target`` = gene, as decoupler and
        ``pk.data.load("resources_genesets_lr", table="hallmark")`` use). Then one row per
        (group, set) with the BMDExpress pathway summary.
    min_genes
        Minimum responsive genes for a set's BMD (fewer -> NaN).
    nth_gene
        The transcriptomic point of departure is the BMD of the ``nth_gene``-th most
        sensitive responsive gene (NaN if fewer respond).

    Returns
    -------
    DataFrame
        Per group: ``n_curves``, ``n_converged``, ``n_below_range``, ``n_responsive``
        (responsive curves plus those responding below the tested range, which enter the
        BMD summaries at the lowest dose, an upper bound), ``median_bmd``,
        ``bmd_p25`` (25th percentile), ``tpod`` (``nth_gene``-th lowest BMD), ``rank`` (1 =
        most potent by ``tpod``; NaN for groups with fewer than ``nth_gene`` responsive
        genes, which are too weak to rank). With ``gene_sets``: ``group``, ``gene_set``, ``n_measured``,
        ``n_responsive``, ``median_bmd``, ``median_bmdl``, ``enrichment_pvalue`` (hypergeometric
        test of responsive genes in the set against all measured genes of that group).

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(n_genes=30, seed=0)
    >>> pb = pk.get.pseudobulk(sim, sample_key="well", cell_type_key="cell_type")
    >>> sc.pp.normalize_total(pb, target_sum=1e4); sc.pp.log1p(pb)
    >>> table = pk.tl.dose_response(pb[pb.obs["cell_type"] == "type2"].copy())
    >>> pk.tl.dose_potency(table, nth_gene=1).columns[:3].tolist()
    ['n_curves', 'n_converged', 'n_below_range']
    """
    if gene_sets is None:
        rows = []
        for g, sub in table.groupby("group", sort=False):
            below = sub["below_range"] if "below_range" in sub else pd.Series(False, index=sub.index)
            # genes responding below the tested range enter with their bound (lowest dose)
            r = pd.concat([sub.loc[sub["responsive"], "bmd"], sub.loc[below, "bmd_upper_bound"]]).sort_values()
            rows.append(
                {
                    "group": g,
                    "n_curves": len(sub),
                    "n_converged": int(sub["converged"].sum()),
                    "n_below_range": int(below.sum()),
                    "n_responsive": int(r.size),
                    "median_bmd": float(r.median()) if r.size >= min_genes else np.nan,
                    "bmd_p25": float(r.quantile(0.25)) if r.size >= min_genes else np.nan,
                    "tpod": float(r.iloc[nth_gene - 1]) if r.size >= nth_gene else np.nan,
                }
            )
        out = pd.DataFrame(rows).set_index("group")
        out["rank"] = out["tpod"].rank(method="min")
        return out.sort_values(["rank", "n_responsive"], ascending=[True, False])
    missing = {"source", "target"} - set(gene_sets.columns)
    if missing:
        raise KeyError(f"gene_sets needs columns 'source' and 'target'; missing {sorted(missing)}")
    rows = []
    for g, sub in table.groupby("group", sort=False):
        sub = sub.set_index("feature")
        universe = set(sub.index)
        below = sub["below_range"].to_numpy() if "below_range" in sub else np.zeros(len(sub), bool)
        hits = set(sub.index[sub["responsive"].to_numpy() | below])
        bmd_all = sub["bmd"].where(sub["responsive"], sub.get("bmd_upper_bound", np.nan))
        for name, members in gene_sets.groupby("source"):
            genes = sorted(set(members["target"]) & universe)
            if not genes:
                continue
            inset = [gg for gg in genes if gg in hits]
            bmds = bmd_all.loc[inset]
            p = stats.hypergeom.sf(len(inset) - 1, len(universe), len(hits), len(genes)) if hits else 1.0
            rows.append(
                {
                    "group": g,
                    "gene_set": name,
                    "n_measured": len(genes),
                    "n_responsive": len(inset),
                    "median_bmd": float(bmds.median()) if len(inset) >= min_genes else np.nan,
                    "median_bmdl": float(sub.loc[inset, "bmdl"].median()) if len(inset) >= min_genes else np.nan,
                    "enrichment_pvalue": float(p),
                }
            )
    return pd.DataFrame(rows)


def gene_set_scores(
    adata: AnnData,
    gene_sets: pd.DataFrame,
    *,
    groupby: str = "perturbation",
    control: str = "control",
    layer: str | None = None,
    min_size: int = 5,
    key_added: str = "gene_set_scores",
    copy: bool = False,
) -> AnnData | None:
    """Score each observation on each gene set: the mean z-score of the set's genes, with
    genes standardised against the control observations. With a ``weight`` column (e.g.
    +1/-1 for genes going up/down with dose) the score is the weighted mean, so a signed
    signature scores positive when the cell moves the way the signature does.

    Parameters
    ----------
    adata
        Observations x genes (log-scale expression).
    gene_sets
        Tidy ``source``/``target`` table (set, gene), optionally ``weight``.
    groupby, control
        Where the control observations are (the reference of the z-scores).
    layer
        Use a layer instead of ``X``.
    min_size
        Sets with fewer measured genes are skipped.
    key_added
        ``obsm`` key to write.
    copy
        Return a modified copy instead of writing in place.

    Returns
    -------
    None or AnnData
        Writes ``obsm[key_added]``: DataFrame (observations x sets, float) and
        ``uns[key_added]["params"]`` and ``["n_genes"]`` (Series: measured genes per set).

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(n_genes=30, seed=0)
    >>> sets = pd.DataFrame({"source": "S", "target": sim.uns["truth"]["response_genes"]})
    >>> pk.tl.gene_set_scores(sim, sets, layer=None)
    >>> sim.obsm["gene_set_scores"].shape[1]
    1
    """
    check_adata(adata)
    check_group(adata, groupby, control, role="control")
    missing = {"source", "target"} - set(gene_sets.columns)
    if missing:
        raise KeyError(f"gene_sets needs columns 'source' and 'target'; missing {sorted(missing)}")
    adata = adata.copy() if copy else adata
    values = as_dense(adata.layers[layer] if layer is not None else adata.X)
    ctrl = (adata.obs[groupby].astype(str) == str(control)).to_numpy()
    # a NaN or inf in a set's gene would make its z-score NaN and drop the gene from the set
    # without a word (#12): name the genes instead
    wanted = [i for i, g in enumerate(adata.var_names) if g in set(gene_sets["target"])]
    bad = [adata.var_names[i] for i in wanted if not np.isfinite(values[:, i]).all()]
    if bad:
        where = f"layer {layer!r}" if layer is not None else "X"
        raise ValueError(f"{where} has NaN or infinite values in gene(s) {bad[:10]} of gene_sets "
                         f"({len(bad)} gene(s)); impute or remove them before scoring")
    mu = values[ctrl].mean(0)
    sd = values[ctrl].std(0, ddof=1)
    sd = np.where(sd > 0, sd, np.nan)
    z = (values - mu) / sd
    index = {g: i for i, g in enumerate(adata.var_names)}
    scores, sizes = {}, {}
    weighted = "weight" in gene_sets.columns
    for name, members in gene_sets.groupby("source"):
        keep = [(index[g], wt) for g, wt in zip(members["target"],
                members["weight"] if weighted else np.ones(len(members)), strict=True)
                if g in index and np.isfinite(sd[index[g]])]
        if len(keep) < min_size:
            continue
        cols = [c for c, _ in keep]
        wts = np.array([wt for _, wt in keep], float)
        scores[name] = (z[:, cols] * wts).sum(1) / np.abs(wts).sum()
        sizes[name] = len(cols)
    if not scores:
        raise ValueError(f"no gene set has at least {min_size} genes among adata.var_names")
    adata.obsm[key_added] = pd.DataFrame(scores, index=adata.obs_names)
    adata.uns[key_added] = {
        "params": {"groupby": groupby, "control": control, "layer": layer, "min_size": min_size},
        "n_genes": pd.Series(sizes),
    }
    return adata if copy else None
