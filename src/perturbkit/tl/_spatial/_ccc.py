"""Cell-cell communication from expression: LIANA+ consensus scores and their change under a
perturbation, using a ligand-receptor resource that ships with the package (no network)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import check_adata, check_group, check_obs

__all__ = ["check_resource", "differential_lr", "lr_scores"]

_KEYS = ["source", "target", "ligand", "receptor"]


def check_resource(resource: pd.DataFrame | str, var_names: pd.Index) -> pd.DataFrame:
    """Return a ``ligand``/``receptor`` table with at least one pair measurable in ``var_names``.

    ``resource`` is a DataFrame with ``ligand`` and ``receptor`` columns (complexes written
    ``A_B``) or the name of a resource bundled with liana (read from the installed package,
    never from the network).

    Raises
    ------
    ValueError
        Missing columns, or no pair whose genes (all subunits) are all in ``var_names``.
    """
    if isinstance(resource, str):
        import liana as li

        resource = li.rs.select_resource(resource)
    if not isinstance(resource, pd.DataFrame) or not {"ligand", "receptor"} <= set(resource.columns):
        raise ValueError("resource must be a DataFrame with 'ligand' and 'receptor' columns (or a liana resource name)")
    table = resource[["ligand", "receptor"]].astype(str).drop_duplicates().reset_index(drop=True)
    genes = set(map(str, var_names))
    present = table.apply(lambda r: set(r["ligand"].split("_")) | set(r["receptor"].split("_")) <= genes, axis=1)
    if not present.any():
        raise ValueError(
            f"none of the {len(table)} ligand-receptor pairs of the resource has all its genes in "
            f"adata.var_names (e.g. {table.iloc[0]['ligand']}-{table.iloc[0]['receptor']}); check the "
            "species (human vs mouse symbols) and gene naming"
        )
    return table[present].reset_index(drop=True)


def _pair_table(adata: AnnData, cell_type_key: str, table: pd.DataFrame, expr_prop: float) -> pd.DataFrame:
    """Every (source, target, ligand, receptor): CellPhoneDB mean and the expression filter.

    A complex's mean is the minimum of its subunits' group means (as in LIANA+);
    ``lr_means = (ligand mean in source + receptor mean in target) / 2``; ``expressed``:
    every subunit detected in >= ``expr_prop`` of the cells of its group.
    """
    from ..._validate import as_dense

    genes = sorted({g for col in ("ligand", "receptor") for c in table[col] for g in c.split("_")})
    idx = [adata.var_names.get_loc(g) for g in genes]
    x = pd.DataFrame(as_dense(adata.X[:, idx]), columns=genes)
    groups = adata.obs[cell_type_key].astype(str).to_numpy()
    means = x.groupby(groups).mean()
    props = (x > 0).groupby(groups).mean()
    rows = []
    for lig, rec in table[["ligand", "receptor"]].itertuples(index=False):
        lig_mean, rec_mean = means[lig.split("_")].min(axis=1), means[rec.split("_")].min(axis=1)
        lig_ok = props[lig.split("_")].min(axis=1) >= expr_prop
        rec_ok = props[rec.split("_")].min(axis=1) >= expr_prop
        for src in means.index:
            for tgt in means.index:
                rows.append((src, tgt, lig, rec, (lig_mean[src] + rec_mean[tgt]) / 2, bool(lig_ok[src] and rec_ok[tgt])))
    return pd.DataFrame(rows, columns=[*_KEYS, "lr_means", "expressed"])


def _liana_one(adata: AnnData, cell_type_key: str, resource: pd.DataFrame, *, expr_prop: float, n_perms: int,
               seed: int, layer: str | None) -> pd.DataFrame:
    import liana as li

    # LIANA+ drops cell types with fewer than 5 cells (its min_cells) without a word, and
    # fails deep inside when none is left: say so here, naming the counts.
    sizes = adata.obs[cell_type_key].astype(str).value_counts()
    if not (sizes >= 5).any():
        raise ValueError(f"no group of adata.obs[{cell_type_key!r}] has the 5 cells LIANA+ needs "
                         f"(counts: {sizes.to_dict()}); pool groups or use more cells")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agg = li.mt.rank_aggregate(
            adata, groupby=cell_type_key, resource=resource, expr_prop=expr_prop, use_raw=False, layer=layer,
            n_perms=n_perms, seed=seed, n_jobs=1, verbose=False, inplace=False,
        )
        chat = li.mt.cellchat(
            adata, groupby=cell_type_key, resource=resource, expr_prop=expr_prop, use_raw=False, layer=layer,
            n_perms=n_perms, seed=seed, n_jobs=1, verbose=False, inplace=False,
        )
    # liana names complexes ``*_complex`` and may also carry single-subunit columns
    agg, chat = (
        t.drop(columns=["ligand", "receptor"], errors="ignore").rename(
            columns={"ligand_complex": "ligand", "receptor_complex": "receptor"})
        for t in (agg, chat)
    )
    keep = ["lr_means", "cellphone_pvals", "expr_prod", "lr_logfc", "lrscore", "magnitude_rank", "specificity_rank"]
    out = agg[_KEYS + keep].merge(chat[_KEYS + ["lr_probs", "cellchat_pvals"]], on=_KEYS, how="left")
    for col in ("source", "target"):
        out[col] = out[col].astype(str)
    return out


def lr_scores(
    adata: AnnData,
    *,
    cell_type_key: str = "cell_type",
    resource: pd.DataFrame | str = "consensus",
    split_by: str | None = None,
    expr_prop: float = 0.1,
    n_perms: int = 100,
    layer: str | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Score every ligand-receptor interaction between every pair of cell groups (LIANA+).

    Runs LIANA+'s consensus (``rank_aggregate``: CellPhoneDB, Connectome, log2FC, NATMI and
    SingleCellSignalR scores aggregated by robust rank aggregation) and CellChat's
    mass-action probability, on log-normalised expression, for each level of ``split_by``
    separately (e.g. each condition) {Dimitrov et al. 2024}.

    Must run first: normalisation and ``log1p`` of ``X`` (or pass ``layer``).

    Parameters
    ----------
    adata
        Cells x genes, log-normalised.
    cell_type_key
        ``obs`` column of the cell groups (senders and receivers).
    resource
        Ligand-receptor pairs (``ligand``, ``receptor`` columns, complexes as ``A_B``), e.g.
        ``pk.data.load("resources_genesets_lr", table="omni").query("resource == 'consensus'")``,
        or the name of a resource bundled with liana.
    split_by
        Score each level of this ``obs`` column separately (a condition, a sample).
    expr_prop
        Minimum fraction of cells of a group expressing every subunit.
    n_perms, seed
        Permutations for the CellPhoneDB and CellChat p-values, and their seed.
    layer
        Use this layer instead of ``X``.

    Returns
    -------
    DataFrame
        One row per (``split_by`` level,) source, target, ligand, receptor: ``lr_means``
        (CellPhoneDB: mean of ligand and receptor means), ``cellphone_pvals``, ``expr_prod``,
        ``lr_logfc``, ``lrscore``, ``magnitude_rank`` and ``specificity_rank`` (consensus
        ranks; smaller = stronger / more specific), ``lr_probs`` and ``cellchat_pvals``
        (CellChat). Only interactions whose subunits are all detected in >= ``expr_prop``
        of the cells of their group. ``adata`` is not modified.

    Raises
    ------
    KeyError
        ``cell_type_key`` or ``split_by`` missing from ``obs``.
    ValueError
        No pair of the resource is measured (see :func:`check_resource`).

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> pairs = tissue.uns["truth"]["lr_pairs"][["ligand", "receptor"]]
    >>> lr = pk.tl.lr_scores(tissue, cell_type_key="cell_type", resource=pairs, n_perms=10)
    >>> lr.sort_values("magnitude_rank").iloc[0][["source", "target", "ligand"]].tolist()
    ['Fibroblast', 'T cell', 'CXCL12']
    """
    check_adata(adata)
    check_obs(adata, cell_type_key)
    if split_by is not None:
        check_obs(adata, split_by)
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    table = check_resource(resource, adata.var_names)
    levels = [None] if split_by is None else list(pd.unique(adata.obs[split_by].astype(str)))
    parts = []
    for level in levels:
        sub = adata if level is None else adata[adata.obs[split_by].astype(str) == level]
        sub = AnnData(X=sub.layers[layer] if layer is not None else sub.X, obs=sub.obs[[cell_type_key]].copy(),
                      var=pd.DataFrame(index=sub.var_names))
        sub.obs[cell_type_key] = sub.obs[cell_type_key].astype(str).astype("category")
        res = _liana_one(sub, cell_type_key, table, expr_prop=expr_prop, n_perms=n_perms, seed=seed, layer=None)
        if level is not None:
            res.insert(0, split_by, level)
        parts.append(res)
    return pd.concat(parts, ignore_index=True)


def differential_lr(
    adata: AnnData,
    *,
    cell_type_key: str = "cell_type",
    groupby: str = "perturbation",
    control: str = "control",
    perturbed: str | None = None,
    sample_key: str | None = None,
    resource: pd.DataFrame | str = "consensus",
    expr_prop: float = 0.1,
    n_perms: int = 100,
    seed: int = 0,
) -> pd.DataFrame:
    """Which interactions does a perturbation create, strengthen or remove?

    Scores interactions in control and perturbed cells separately (:func:`lr_scores`) and
    compares them. The effect is the change in the CellPhoneDB-style mean expression of
    ligand (in the sender) and receptor (in the receiver), ``delta = lr_means(perturbed) -
    lr_means(control)`` in log-normalised units, computed for every pair whether or not it
    passes the ``expr_prop`` filter, so that a pair hovering at the threshold does not jump.
    ``status`` says whether it passes the filter in the perturbed condition only
    (``"gained"``), the control only (``"lost"``) or both (``"kept"``); pairs passing in
    neither are dropped. With
    ``sample_key`` (e.g. donor) the same is done within each replicate, and
    ``n_consistent`` counts the replicates whose change has the sign of the pooled one: the
    unit of replication is the donor, not the cell.

    Must run first: normalisation and ``log1p`` of ``X``.

    Parameters
    ----------
    adata
        Cells x genes, log-normalised, both conditions.
    cell_type_key
        Cell groups (senders and receivers).
    groupby, control, perturbed
        Condition column, its control label and the perturbed level (default: the one other
        level; required when there are several).
    sample_key
        Replicate / donor column, for per-replicate changes.
    resource, expr_prop, n_perms, seed
        As in :func:`lr_scores`.

    Returns
    -------
    DataFrame
        One row per source, target, ligand, receptor seen in either condition, sorted by
        ``delta`` (descending): ``lr_means_control``, ``lr_means_perturbed``, ``delta``,
        ``magnitude_rank_control``, ``magnitude_rank_perturbed`` (LIANA+ consensus rank in
        each condition; NaN where the pair does not pass ``expr_prop``), ``status`` (``"gained"``,
        ``"lost"`` or ``"kept"``), and with ``sample_key`` ``delta_<replicate>`` per
        replicate and ``n_consistent``. ``adata`` is not modified.

    Raises
    ------
    KeyError, ValueError
        Missing columns, a control or perturbed label not present, no measurable pair.

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> import numpy as np
    >>> stim = tissue.obsm["spatial"][:, 1] > 180  # half the section "stimulated"
    >>> tissue.obs["condition"] = np.where(stim, "stimulated", "control")
    >>> tissue.X[stim, tissue.var_names.get_loc("CXCL12")] *= 4  # ligand induced (log1p above)
    >>> pairs = tissue.uns["truth"]["lr_pairs"][["ligand", "receptor"]]
    >>> d = pk.tl.differential_lr(tissue, groupby="condition", resource=pairs, n_perms=10)
    >>> d.iloc[0][["source", "ligand"]].tolist()
    ['Fibroblast', 'CXCL12']
    """
    check_adata(adata)
    check_obs(adata, cell_type_key, groupby)
    check_group(adata, groupby, control, role="control")
    levels = [lv for lv in pd.unique(adata.obs[groupby].astype(str)) if lv != str(control)]
    if perturbed is None:
        if len(levels) != 1:
            raise ValueError(f"adata.obs[{groupby!r}] has several non-control levels {levels}; pass perturbed=")
        perturbed = levels[0]
    check_group(adata, groupby, perturbed, role="perturbed")
    cond = adata.obs[groupby].astype(str)
    both = adata[cond.isin([str(control), str(perturbed)])]

    def _contrast(sub: AnnData) -> pd.DataFrame:
        cond_sub = sub.obs[groupby].astype(str)
        parts = {}
        for name, level in (("control", str(control)), ("perturbed", str(perturbed))):
            part = sub[(cond_sub == level).to_numpy()]
            parts[name] = _pair_table(part, cell_type_key, table, expr_prop).set_index(_KEYS)
        out = parts["control"].join(parts["perturbed"], lsuffix="_control", rsuffix="_perturbed", how="outer")
        for name in ("control", "perturbed"):
            out[f"expressed_{name}"] = out[f"expressed_{name}"].eq(True)
        return out

    table = check_resource(resource, adata.var_names)
    out = _contrast(both)
    ranks = lr_scores(both, cell_type_key=cell_type_key, resource=table, split_by=groupby, expr_prop=expr_prop,
                      n_perms=n_perms, seed=seed)
    for name, level in (("control", str(control)), ("perturbed", str(perturbed))):
        r = ranks[ranks[groupby] == level].set_index(_KEYS)["magnitude_rank"]
        out[f"magnitude_rank_{name}"] = r.reindex(out.index).to_numpy()
    out = out[out["expressed_control"] | out["expressed_perturbed"]].copy()
    out["status"] = np.where(~out["expressed_control"], "gained", np.where(~out["expressed_perturbed"], "lost", "kept"))
    out["delta"] = out["lr_means_perturbed"] - out["lr_means_control"]
    out = out.drop(columns=["expressed_control", "expressed_perturbed"])
    if sample_key is not None:
        check_obs(adata, sample_key)
        signs = []
        for rep in pd.unique(both.obs[sample_key].astype(str)):
            sub = both[both.obs[sample_key].astype(str) == rep]
            if sub.obs[groupby].astype(str).nunique() < 2:
                continue
            r = _contrast(sub)
            d = (r["lr_means_perturbed"] - r["lr_means_control"]).reindex(out.index)
            out[f"delta_{rep}"] = d
            signs.append(np.sign(d) == np.sign(out["delta"]))
        out["n_consistent"] = np.sum(signs, axis=0) if signs else 0
    return out.reset_index().sort_values("delta", ascending=False, ignore_index=True)
