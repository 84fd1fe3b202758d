"""CellOracle-style in-silico knockouts: learn a gene regulatory network, propagate a knockout."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ..._validate import check_adata, check_counts, check_group

__all__ = ["infer_grn", "network_knockout"]


def _control_lognorm(adata: AnnData, groupby: str, control: str, layer: str | None) -> np.ndarray:
    check_group(adata, groupby, control, role="control label")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    raw = adata.layers[layer] if layer is not None else adata.X
    check_counts(raw, name=f"adata.layers[{layer!r}]" if layer else "adata.X")
    ctrl = (adata.obs[groupby].astype(str) == str(control)).to_numpy()
    x = raw[ctrl]
    x = np.asarray(x.toarray() if sparse.issparse(x) else x, dtype=float)
    return np.log1p(x / np.maximum(x.sum(1, keepdims=True), 1.0) * 1e4)


def infer_grn(
    adata: AnnData,
    *,
    regulators: Sequence[str] | None = None,
    prior: pd.DataFrame | None = None,
    groupby: str = "perturbation",
    control: str = "control",
    layer: str | None = "counts",
    alpha: float = 10.0,
) -> pd.DataFrame:
    """Learn a linear gene regulatory network from the variation among control cells.

    Every gene's log-normalised expression is regressed (ridge, penalty ``alpha``) on the
    expression of its candidate regulators, in control cells only, so the network is learnt
    from natural cell-to-cell variation and never sees a knockout. Candidate regulators of a
    gene are ``regulators`` (default: every gene) minus the gene itself; with ``prior``, only
    the regulators that the prior lists as sources of an edge to that gene (the CellOracle
    idea: a base network from motifs or curated regulons, weights from the data).

    Run first: :func:`perturbkit.tl.assign_guides` (for the control label).

    Parameters
    ----------
    adata
        Screen with raw counts and ``obs[groupby]``.
    regulators
        Genes allowed as regulators (must be in ``var_names``).
    prior
        Edges with columns ``source`` and ``target`` (e.g. DoRothEA from
        ``pk.data.load("regulons_dorothea")``); ``None`` for a data-only network.
    groupby, control, layer
        Where the control cells and counts are.
    alpha
        Ridge penalty (on standardised regulators).

    Returns
    -------
    DataFrame
        One row per edge: ``source``, ``target``, ``coef`` (change in the target's log1p
        expression per unit change in the source's, holding other regulators fixed),
        ``n_regulators`` of that target. ``adata`` is not modified.

    Raises
    ------
    ValueError
        Unknown regulators; a prior without ``source``/``target`` columns; no control cells.

    References
    ----------
    Kamimoto et al. 2023 :cite:`kamimoto2023`.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=800, n_genes=30, n_targets=2, program_noise=0.5, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> grn = pk.tl.infer_grn(adata, regulators=["T0", "T1"])
    >>> sorted(grn["source"].unique())
    ['T0', 'T1']
    """
    check_adata(adata)
    genes = np.asarray(adata.var_names)
    regs = list(genes) if regulators is None else [str(r) for r in regulators]
    unknown = [r for r in regs if r not in adata.var_names]
    if unknown:
        raise ValueError(f"regulators not in adata.var_names: {unknown[:10]}")
    if prior is not None and not {"source", "target"} <= set(prior.columns):
        raise ValueError("prior must have columns 'source' and 'target'")
    y = _control_lognorm(adata, groupby, control, layer)
    y = y - y.mean(0)
    sd = y.std(0)
    allowed = None
    if prior is not None:
        allowed = prior.groupby("target")["source"].apply(set).to_dict()
    reg_idx = {r: int(adata.var_names.get_loc(r)) for r in regs}
    ridx = np.asarray([reg_idx[r] for r in regs], dtype=int)
    z = y[:, ridx] / np.where(sd[ridx] > 0, sd[ridx], 1.0)
    gram, cross = z.T @ z, z.T @ y  # shared by every gene's regression
    col = {r: k for k, r in enumerate(regs)}
    rows = []
    for j, g in enumerate(genes):
        cands = [r for r in regs if r != g and (allowed is None or r in allowed.get(g, set()))]
        cands = [r for r in cands if sd[reg_idx[r]] > 0]
        if not cands:
            continue
        idx = [reg_idx[r] for r in cands]
        k = [col[r] for r in cands]
        beta = np.linalg.solve(gram[np.ix_(k, k)] + alpha * np.eye(len(k)), cross[k, j]) / sd[idx]
        rows.extend({"source": r, "target": g, "coef": float(b), "n_regulators": len(idx)}
                    for r, b in zip(cands, beta, strict=True))
    return pd.DataFrame(rows, columns=["source", "target", "coef", "n_regulators"])


def network_knockout(
    adata: AnnData,
    grn: pd.DataFrame,
    *,
    targets: Sequence[str],
    groupby: str = "perturbation",
    control: str = "control",
    layer: str | None = "counts",
    n_steps: int = 3,
) -> pd.DataFrame:
    """Predict each gene's shift after knocking out ``targets`` in silico, via the network.

    The knocked-out gene's expression is set to zero (a shift of minus its mean log1p
    expression in control cells) and the shift is propagated ``n_steps`` times through the
    network's linear edges: ``d(t+1) = d(0) + B' d(t)``, as CellOracle does. With
    ``n_steps=1`` only direct targets move. A target gene that is not a regulator in the
    network changes nothing but itself: the network can only pass on what it contains.

    Run first: :func:`infer_grn`.

    Parameters
    ----------
    adata
        The screen the network was learnt on (for the control means).
    grn
        Edges from :func:`infer_grn` (``source``, ``target``, ``coef``).
    targets
        Genes to knock out, one simulation each.
    groupby, control, layer
        Where the control cells and counts are.
    n_steps
        Propagation steps.

    Returns
    -------
    DataFrame
        One row per (knockout, gene): ``knockout``, ``gene``, ``predicted_shift`` (log1p
        units; the knocked-out gene's own shift included), ``in_network`` (whether the
        knocked-out gene is a source of any edge). ``adata`` is not modified.

    Raises
    ------
    ValueError
        A target not in ``var_names``; ``grn`` without the expected columns.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_screen(n_cells=800, n_genes=30, n_targets=2, program_noise=0.5, seed=0)
    >>> pk.tl.assign_guides(adata, method="mixture")
    >>> grn = pk.tl.infer_grn(adata, regulators=["T0", "T1"])
    >>> pred = pk.tl.network_knockout(adata, grn, targets=["T0"])
    >>> float(pred.set_index("gene").loc["T0", "predicted_shift"]) < 0
    True
    """
    check_adata(adata)
    if not {"source", "target", "coef"} <= set(grn.columns):
        raise ValueError("grn must have columns 'source', 'target' and 'coef' (from pk.tl.infer_grn)")
    missing = [t for t in targets if t not in adata.var_names]
    if missing:
        raise ValueError(f"knockout targets not in adata.var_names: {missing}")
    genes = list(adata.var_names)
    pos = {g: i for i, g in enumerate(genes)}
    y = _control_lognorm(adata, groupby, control, layer)
    mean = y.mean(0)
    b = np.zeros((len(genes), len(genes)))
    if len(grn):
        b[grn["source"].map(pos).to_numpy(), grn["target"].map(pos).to_numpy()] = grn["coef"].to_numpy()
    sources = set(grn["source"])
    frames = []
    for t in targets:
        d0 = np.zeros(len(genes))
        d0[pos[t]] = -mean[pos[t]]
        d = d0.copy()
        for _ in range(n_steps):
            d = d0 + b.T @ d
            d[pos[t]] = d0[pos[t]]  # the knocked-out gene stays at zero
        frames.append(pd.DataFrame({"knockout": t, "gene": genes, "predicted_shift": d,
                                    "in_network": t in sources}))
    return pd.concat(frames, ignore_index=True)
