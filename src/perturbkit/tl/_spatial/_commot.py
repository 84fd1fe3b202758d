"""COMMOT's idea built on POT: collective optimal transport of ligand to receptor in space,
and a FlowSig-style summary of which signals flow between which groups of cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse
from scipy.spatial import cKDTree

from ..._validate import as_dense, check_obs
from ...pp._spatial_neighbors import check_coordinates
from ._ccc import check_resource

__all__ = ["commot", "flow_summary", "received_signal"]


def _species_expression(adata: AnnData, names: list[str], layer: str | None) -> np.ndarray:
    """Cells x species; a complex is as abundant as its scarcest subunit."""
    x = adata.layers[layer] if layer is not None else adata.X
    cols = []
    for name in names:
        idx = [adata.var_names.get_loc(g) for g in name.split("_")]
        cols.append(as_dense(x[:, idx]).min(axis=1))
    out = np.column_stack(cols)
    if (out < 0).any():
        raise ValueError("expression must be non-negative (log-normalised counts); found negative values")
    return out


def commot(
    adata: AnnData,
    *,
    resource: pd.DataFrame,
    dis_thr: float = 60.0,
    eps: float = 0.1,
    rho: float = 10.0,
    n_iter: int = 2000,
    layer: str | None = None,
    spatial_key: str = "spatial",
    key_added: str = "commot",
    copy: bool = False,
) -> AnnData | None:
    """Who sends which signal to whom? Collective optimal transport (COMMOT, Cang et al. 2023).

    Ligand in every cell is a supply, receptor in every cell a demand. An entropic,
    *unbalanced* optimal-transport plan moves ligand to receptor at cost ``d_ij / dis_thr``
    and forbids any move longer than ``dis_thr``; all ligand-receptor pairs are solved
    **together** in one plan, so ligands that bind the same receptor compete for it and a
    cell's receptor cannot be filled twice. Unbalanced means not all ligand must find a
    receptor and not all receptor must be filled: a KL penalty of weight ``rho`` keeps the
    plan's marginals near the expression. The plan entry ``P[i, j]`` of a pair is the
    amount of signal sent by cell i and received by cell j: a direction, which a
    co-expression score does not have. Solved with POT's
    :func:`ot.unbalanced.sinkhorn_unbalanced` (the ``commot`` package solves the same
    problem with inequality constraints).

    Must run first: normalisation and ``log1p`` of ``X`` (non-negative expression).

    Parameters
    ----------
    adata
        Cells with coordinates (µm) and log-normalised expression.
    resource
        Ligand-receptor table (``ligand``, ``receptor``; complexes as ``A_B``). Keep it
        short: the plan has (cells x ligands) x (cells x receptors) entries.
    dis_thr
        Longest distance a signal may travel (coordinate units).
    eps, rho
        Entropic regularisation and marginal-relaxation weight (COMMOT's defaults).
    n_iter
        Maximum Sinkhorn iterations.
    layer
        Layer to use instead of ``X``.
    spatial_key
        Key of the coordinates in ``obsm``.
    key_added
        Prefix of the keys written.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``obsp[f"{key_added}-{ligand}-{receptor}"]`` (CSR, cells x cells: signal sent
        by row cell to column cell) per pair; ``obsm[f"{key_added}_sent"]`` and
        ``obsm[f"{key_added}_received"]`` (DataFrames, cells x ``"LIGAND-RECEPTOR"``) and
        ``uns[key_added]``: ``pairs`` (ligand, receptor, ``total`` flow, ``ligand_used``:
        share of the ligand supply transported) and ``params``.

    Raises
    ------
    KeyError, ValueError
        Missing or non-finite coordinates, no measurable pair, negative expression, or a
        problem too large for a dense plan.

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> pairs = tissue.uns["truth"]["lr_pairs"][["ligand", "receptor"]]
    >>> pk.tl.commot(tissue, resource=pairs, dis_thr=50)
    >>> flows = pk.tl.flow_summary(tissue, cell_type_key="cell_type")
    >>> flows.query("pair == 'CXCL12-CXCR4'").iloc[0][["source", "target"]].tolist()
    ['Fibroblast', 'T cell']
    """
    import ot

    xy = check_coordinates(adata, spatial_key)
    table = check_resource(resource, adata.var_names)
    if dis_thr <= 0:
        raise ValueError(f"dis_thr must be positive, got {dis_thr}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    ligands = sorted(set(table["ligand"]))
    receptors = sorted(set(table["receptor"]))
    n = adata.n_obs
    if n * len(ligands) * n * len(receptors) > 6e7:
        raise ValueError(
            f"{n} cells x {len(ligands)} ligands x {len(receptors)} receptors is too large for a dense "
            "plan; use fewer pairs or cells (or the sparse `commot` package)"
        )
    lig = _species_expression(adata, ligands, layer)
    rec = _species_expression(adata, receptors, layer)

    # cost: distance / dis_thr within range, forbidden (huge) beyond it and between non-partners
    tree = cKDTree(xy)
    near = tree.sparse_distance_matrix(tree, dis_thr, output_type="coo_matrix")
    block = np.full((n, n), np.inf)
    block[near.row, near.col] = near.data / dis_thr
    np.fill_diagonal(block, 0.0)  # autocrine signalling is allowed, at no distance
    big = np.full((n * len(ligands), n * len(receptors)), np.inf)
    allowed = set(map(tuple, table[["ligand", "receptor"]].to_numpy()))
    for a, lname in enumerate(ligands):
        for b, rname in enumerate(receptors):
            if (lname, rname) in allowed:
                big[a * n : (a + 1) * n, b * n : (b + 1) * n] = block
    supply, demand = lig.T.ravel(), rec.T.ravel()
    # only cells that have something to send or receive, and a partner within reach of it
    rows, cols = supply > 0, demand > 0
    for _ in range(3):
        reach = np.isfinite(big[np.ix_(rows, cols)])
        rows[np.flatnonzero(rows)[~reach.any(axis=1)]] = False
        cols[np.flatnonzero(cols)[~reach.any(axis=0)]] = False
    plan = np.zeros_like(big)
    if rows.any() and cols.any():
        sub = big[np.ix_(rows, cols)]
        cost = np.where(np.isfinite(sub), sub, 1e3)  # exp(-1e3 / eps) underflows to an exact 0
        solved = ot.unbalanced.sinkhorn_unbalanced(supply[rows], demand[cols], cost, reg=eps, reg_m=rho,
                                                   numItermax=n_iter)
        plan[np.ix_(rows, cols)] = np.where(np.isfinite(sub), solved, 0.0)

    adata = adata.copy() if copy else adata
    sent, received, summary = {}, {}, []
    for lname, rname in table[["ligand", "receptor"]].itertuples(index=False):
        a, b = ligands.index(lname), receptors.index(rname)
        p = sparse.csr_matrix(plan[a * n : (a + 1) * n, b * n : (b + 1) * n])
        p.eliminate_zeros()
        name = f"{lname}-{rname}"
        adata.obsp[f"{key_added}-{name}"] = p
        sent[name] = np.asarray(p.sum(axis=1)).ravel()
        received[name] = np.asarray(p.sum(axis=0)).ravel()
        summary.append({"pair": name, "ligand": lname, "receptor": rname, "total": float(p.sum()),
                     "ligand_used": float(p.sum() / max(lig[:, a].sum(), 1e-12))})
    adata.obsm[f"{key_added}_sent"] = pd.DataFrame(sent, index=adata.obs_names)
    adata.obsm[f"{key_added}_received"] = pd.DataFrame(received, index=adata.obs_names)
    adata.uns[key_added] = {
        "pairs": pd.DataFrame(summary).set_index("pair"),
        "params": {"dis_thr": dis_thr, "eps": eps, "rho": rho, "n_iter": n_iter, "spatial_key": spatial_key,
                   "layer": layer},
    }
    return adata if copy else None


def flow_summary(adata: AnnData, *, cell_type_key: str = "cell_type", key: str = "commot") -> pd.DataFrame:
    """Which signal flows from which group of cells to which (a FlowSig-style summary).

    Sums each pair's transport plan (from :func:`commot`) over sender and receiver groups.
    ``share`` divides a flow by the pair's total, so the largest ``share`` names the main
    route of that signal; ``reverse`` is the flow of the same signal in the opposite
    direction (receiver group to sender group), so ``flow / reverse`` measures directionality.

    Parameters
    ----------
    adata
        After :func:`commot`.
    cell_type_key
        ``obs`` column of the groups (cell types, niches, clones).
    key
        The ``key_added`` :func:`commot` used.

    Returns
    -------
    DataFrame
        ``pair``, ``source``, ``target``, ``flow``, ``share``, ``reverse``; sorted by pair
        and decreasing flow.

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> pk.tl.commot(tissue, resource=tissue.uns["truth"]["lr_pairs"], dis_thr=50)
    >>> pk.tl.flow_summary(tissue, cell_type_key="niche").columns.tolist()
    ['pair', 'source', 'target', 'flow', 'share', 'reverse']
    """
    check_obs(adata, cell_type_key)
    if adata.n_obs == 0:
        raise ValueError("adata has no cells: flow_summary needs the cells pk.tl.commot ran on")
    if key not in adata.uns or "pairs" not in adata.uns[key]:
        raise KeyError(f"adata.uns has no {key!r} transport result: run pk.tl.commot(adata, ...) first")
    labels = adata.obs[cell_type_key].astype(str).to_numpy()
    groups = sorted(set(labels))
    onehot = sparse.csr_matrix((np.ones(len(labels)), (np.arange(len(labels)), [groups.index(g) for g in labels])),
                               shape=(len(labels), len(groups)))
    parts = []
    for pair in adata.uns[key]["pairs"].index:
        plan = adata.obsp[f"{key}-{pair}"]
        m = np.asarray((onehot.T @ plan @ onehot).todense())
        total = m.sum()
        idx_s, idx_t = np.meshgrid(range(len(groups)), range(len(groups)), indexing="ij")
        parts.append(pd.DataFrame({
            "pair": pair,
            "source": np.array(groups)[idx_s.ravel()],
            "target": np.array(groups)[idx_t.ravel()],
            "flow": m.ravel(),
            "share": m.ravel() / total if total > 0 else np.nan,
            "reverse": m.T.ravel(),
        }))
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["pair", "flow"], ascending=[True, False], ignore_index=True)


def received_signal(
    adata: AnnData,
    pair: str,
    *,
    cell_type_key: str | None = None,
    sender: str | None = None,
    key: str = "commot",
) -> pd.Series:
    """Signal each cell receives through one pair, optionally only from one sender group.

    Column sums of the transport plan written by :func:`commot`. Restricting the senders
    (``cell_type_key`` and ``sender``, e.g. ``"cell_type"`` and ``"Fibroblast"``) separates the
    signal of the cells that make the ligand from the trickle that background expression
    elsewhere sends.

    Parameters
    ----------
    adata
        After :func:`commot`.
    pair
        ``"LIGAND-RECEPTOR"`` as in ``uns[key]["pairs"]``.
    cell_type_key, sender
        ``obs`` column and the group whose cells count as senders (both or neither).
    key
        The ``key_added`` :func:`commot` used.

    Returns
    -------
    Series
        Received signal per cell (index ``obs_names``), in expression units.

    Examples
    --------
    >>> import perturbkit as pk, scanpy as sc
    >>> tissue = pk.data.simulate_tissue(600, seed=0)
    >>> sc.pp.normalize_total(tissue); sc.pp.log1p(tissue)
    >>> pk.tl.commot(tissue, resource=tissue.uns["truth"]["lr_pairs"], dis_thr=50)
    >>> rec = pk.tl.received_signal(tissue, "CXCL12-CXCR4", cell_type_key="cell_type", sender="Fibroblast")
    >>> rec.groupby(tissue.obs["cell_type"], observed=True).sum().idxmax()
    'T cell'
    """
    name = f"{key}-{pair}"
    if name not in adata.obsp:
        known = list(adata.uns.get(key, {}).get("pairs", pd.DataFrame()).index)
        raise KeyError(f"adata.obsp has no {name!r}: run pk.tl.commot first; pairs transported: {known}")
    plan = sparse.csr_matrix(adata.obsp[name])
    if (cell_type_key is None) != (sender is None):
        raise ValueError("pass both cell_type_key and sender, or neither")
    if cell_type_key is not None:
        check_obs(adata, cell_type_key)
        mask = (adata.obs[cell_type_key].astype(str) == str(sender)).to_numpy()
        if not mask.any():
            raise ValueError(f"sender {sender!r} not found in adata.obs[{cell_type_key!r}]")
        plan = plan[mask]
    return pd.Series(np.asarray(plan.sum(axis=0)).ravel(), index=adata.obs_names, name=f"{pair} received")
