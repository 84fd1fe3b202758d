"""Seeded stand-ins for prior-knowledge resources (gene sets, ligand-receptor pairs) and a
stimulated-PBMC-like experiment whose cell-cell communication change is planted."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ._simulate_perturbation import _sample_conditions

__all__ = ["simulate_gene_sets", "simulate_communication", "simulate_lr_resource"]


def simulate_gene_sets(
    adata: AnnData,
    *,
    truth_key: str = "response_genes",
    n_sets: int = 10,
    set_size: int = 15,
    planted_name: str = "SIM_PLANTED_RESPONSE",
    signed: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """Gene sets for a simulated object: its planted response genes plus random sets.

    A stand-in for a curated collection (e.g. MSigDB Hallmark) when the collection cannot
    be had: one set, ``planted_name``, holds the genes listed in
    ``adata.uns["truth"][truth_key]`` (the genes the simulator changed); ``n_sets`` more
    sets of ``set_size`` genes are drawn at random from ``adata.var_names`` and carry no
    planted signal.

    Must run first: a simulator that stores its truth in ``uns["truth"]`` (e.g.
    :func:`simulate_dose_response`).

    Parameters
    ----------
    adata
        A simulated object with ``uns["truth"][truth_key]`` (a list of gene names).
    truth_key
        Key of the planted genes in ``uns["truth"]``.
    n_sets
        Random (null) sets.
    set_size
        Genes per random set (at most ``adata.n_vars``).
    planted_name
        Name of the planted set.
    signed
        Split the planted genes by the sign of ``uns["truth"]["log_fc"]`` (a Series over
        genes) into ``<planted_name>_UP`` and ``<planted_name>_DOWN``, so that a set score
        (a mean over the set) does not cancel out.
    seed
        Random seed.

    Returns
    -------
    DataFrame
        Tidy network like the ``hallmark`` table of ``resources_genesets_lr``: ``source``
        (set name, str), ``target`` (gene, str), ``weight`` (1.0), ``planted`` (bool: the set
        holds planted genes; the null sets ``SIM_RANDOM_01``, ... are ``False``).

    Raises
    ------
    KeyError
        ``adata.uns`` has no ``"truth"``, no ``truth_key`` in it, or no ``"log_fc"`` with
        ``signed=True``.
    ValueError
        Planted genes missing from ``adata.var_names``, or ``n_sets``/``set_size`` out of range.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(seed=0)
    >>> sets = pk.data.simulate_gene_sets(sim, seed=0)
    >>> int(sets.groupby("source").size()["SIM_PLANTED_RESPONSE"])
    15
    """
    truth = adata.uns.get("truth")
    if not isinstance(truth, dict):
        raise KeyError("adata.uns has no 'truth': simulate_gene_sets needs an object from a pk.data simulator")
    if truth_key not in truth:
        raise KeyError(f"adata.uns['truth'] has no {truth_key!r}; available: {sorted(truth)}")
    planted = [str(g) for g in truth[truth_key]]
    missing = sorted(set(planted) - set(adata.var_names))
    if missing:
        raise ValueError(f"planted genes not in adata.var_names: {missing[:5]}")
    if n_sets < 0:
        raise ValueError(f"n_sets must be >= 0, got {n_sets}")
    if not 1 <= set_size <= adata.n_vars:
        raise ValueError(f"set_size must be between 1 and adata.n_vars ({adata.n_vars}), got {set_size}")
    rng = np.random.default_rng(seed)
    genes = np.asarray(adata.var_names, dtype=str)
    random_names = [f"SIM_RANDOM_{k + 1:02d}" for k in range(n_sets)]
    if signed:
        if "log_fc" not in truth:
            raise KeyError("signed=True needs adata.uns['truth']['log_fc'] (a Series over genes)")
        lfc = pd.Series(truth["log_fc"]).reindex(planted)
        groups = {f"{planted_name}_UP": [g for g in planted if lfc[g] > 0],
                  f"{planted_name}_DOWN": [g for g in planted if lfc[g] < 0]}
    else:
        groups = {planted_name: planted}
    rows = [(name, g) for name, members in groups.items() for g in members]
    for name in random_names:
        rows += [(name, str(g)) for g in rng.choice(genes, set_size, replace=False)]
    net = pd.DataFrame(rows, columns=["source", "target"])
    net["weight"] = 1.0
    net["planted"] = net["source"].isin([n for n, m in groups.items() if m])
    return net


def simulate_communication(
    *,
    n_cell_types: int = 4,
    n_donors: int = 2,
    n_cells: int = 50,
    n_genes: int = 60,
    n_pairs: int = 6,
    n_induced: int = 2,
    sender: int = 0,
    effect_size: float = 2.0,
    dispersion: float = 0.2,
    library_size: float = 2000.0,
    perturbation: str = "stimulated",
    cell_types: Sequence[str] | None = None,
    seed: int = 0,
) -> AnnData:
    """Simulate a control/stimulated experiment with planted ligand-receptor signalling.

    ``n_pairs`` ligand genes (``"LIG1"`` ...) are expressed by the ``sender`` cell type only;
    their receptors (``"REC1"`` ...) by every cell type. Under stimulation the first
    ``n_induced`` ligands rise by ``effect_size`` (natural log) in the sender, in every
    donor; nothing else changes except ``n_genes`` background genes (``"g000"`` ...) with
    cell-type profiles. Counts are negative binomial, as in :func:`simulate_perturbation`.
    It stands in for an interferon-stimulated PBMC experiment (Kang 2018) when that cannot
    be had; :func:`simulate_lr_resource` gives the matching resource.

    Parameters
    ----------
    n_cell_types, n_donors, n_cells
        Cell types, donors (``"d0"`` ...), cells per cell type x donor x condition.
    n_genes
        Background genes.
    n_pairs, n_induced
        Ligand-receptor pairs, and how many of their ligands stimulation induces.
    sender
        Index of the cell type that expresses the ligands.
    effect_size
        Natural-log fold change of an induced ligand in the sender.
    dispersion, library_size
        Negative-binomial dispersion and mean UMI per cell.
    perturbation
        Label of stimulated cells in ``obs["perturbation"]`` (controls are ``"control"``).
    cell_types
        Names of the cell types (default ``"type0"`` ...).
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X``/``layers["counts"]``: counts (CSR float32), ``n_genes + 2 * n_pairs`` genes.
        ``obs``: ``perturbation``, ``condition``, ``cell_type``, ``donor``, ``replicate``,
        ``sample`` (categoricals). ``uns["truth"]``: ``lr_pairs`` (DataFrame ``ligand``,
        ``receptor``, ``induced`` bool), ``induced_ligands`` (list), ``sender`` (name),
        ``log_fc`` (DataFrame genes x cell types, planted natural-log fold change).

    Raises
    ------
    ValueError
        Sizes below 1, ``n_induced`` above ``n_pairs``, ``sender`` not a type index, or
        ``cell_types`` not ``n_cell_types`` distinct names.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_communication(seed=0)
    >>> sim.shape, sim.uns["truth"]["induced_ligands"]
    ((800, 72), ['LIG1', 'LIG2'])
    """
    if min(n_cell_types, n_donors, n_cells, n_genes, n_pairs) < 1:
        raise ValueError("n_cell_types, n_donors, n_cells, n_genes and n_pairs must be >= 1")
    if not 0 <= n_induced <= n_pairs:
        raise ValueError(f"n_induced must be between 0 and n_pairs ({n_pairs}), got {n_induced}")
    if not 0 <= sender < n_cell_types:
        raise ValueError(f"sender {sender} is not a cell type index (0..{n_cell_types - 1})")
    types = [f"type{i}" for i in range(n_cell_types)] if cell_types is None else [str(c) for c in cell_types]
    if len(types) != n_cell_types or len(set(types)) != n_cell_types:
        raise ValueError(f"cell_types must be {n_cell_types} distinct names, got {cell_types}")
    rng = np.random.default_rng(seed)
    ligands = [f"LIG{k + 1}" for k in range(n_pairs)]
    receptors = [f"REC{k + 1}" for k in range(n_pairs)]
    genes = [f"g{i:03d}" for i in range(n_genes)] + ligands + receptors
    n_all = len(genes)
    lig = np.arange(n_genes, n_genes + n_pairs)
    rec = lig + n_pairs
    base = 0.7 * rng.dirichlet(np.full(n_all, 0.5)) + 0.3 / n_all
    base[lig] = 0.02  # enough UMI to be detected in most sender cells
    base[rec] = 0.01
    profile = rng.normal(0.0, 0.5, (n_cell_types, n_all))
    profile[:, lig] = -8.0  # silent outside the sender (about 1 % of cells detect it)
    profile[sender, lig] = rng.normal(0.0, 0.2, n_pairs)
    profile[:, rec] = rng.normal(0.0, 0.2, (n_cell_types, n_pairs))
    log_fc = np.zeros((n_all, n_cell_types))
    log_fc[lig[:n_induced], sender] = effect_size
    donors = [f"d{i}" for i in range(n_donors)]
    donor_fx = rng.normal(0.0, 0.2, (n_donors, n_all))
    adata = _sample_conditions(
        rng, base=base, type_profile=profile, donor_effect=donor_fx, log_fc=log_fc, types=types,
        donors=donors, genes=genes, cells=[n_cells] * n_cell_types, library_size=library_size,
        dispersion=dispersion, perturbation=perturbation,
    )
    adata.uns["truth"] = {
        "lr_pairs": pd.DataFrame({"ligand": ligands, "receptor": receptors,
                                  "induced": np.arange(n_pairs) < n_induced}),
        "induced_ligands": ligands[:n_induced],
        "sender": types[sender],
        "log_fc": pd.DataFrame(log_fc, index=genes, columns=types),
    }
    return adata


def simulate_lr_resource(
    adata: AnnData,
    *,
    n_decoys: int = 20,
    resource: str = "consensus",
    seed: int = 0,
) -> pd.DataFrame:
    """A ligand-receptor table for a simulated object: its planted pairs plus decoy pairs.

    A stand-in for LIANA's OmniPath resource when it cannot be had. Holds every pair of
    ``adata.uns["truth"]["lr_pairs"]`` and ``n_decoys`` pairs of background genes drawn at
    random (no planted signal), all labelled ``resource``.

    Must run first: :func:`simulate_communication` (or another simulator storing
    ``uns["truth"]["lr_pairs"]``, e.g. :func:`simulate_tissue`).

    Parameters
    ----------
    adata
        A simulated object with ``uns["truth"]["lr_pairs"]`` (``ligand``, ``receptor``).
    n_decoys
        Random pairs of genes that are not planted ligands or receptors.
    resource
        Value of the ``resource`` column (``"consensus"`` is LIANA's default).
    seed
        Random seed.

    Returns
    -------
    DataFrame
        The columns of the ``omni`` table of ``resources_genesets_lr``: ``ligand``,
        ``receptor``, ``ligand_uniprot``, ``receptor_uniprot`` (placeholder ids), ``resource``,
        ``planted`` (bool: a planted pair, not a decoy).

    Raises
    ------
    KeyError
        ``adata.uns`` has no ``truth["lr_pairs"]``.
    ValueError
        ``n_decoys`` negative or more than the background genes allow.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_communication(seed=0)
    >>> table = pk.data.simulate_lr_resource(sim, seed=0)
    >>> table.shape, int(table["planted"].sum())
    ((26, 6), 6)
    """
    truth = adata.uns.get("truth")
    if not isinstance(truth, dict) or "lr_pairs" not in truth:
        raise KeyError("adata.uns['truth'] has no 'lr_pairs': simulate_lr_resource needs a pk.data simulator's object")
    planted = truth["lr_pairs"][["ligand", "receptor"]].astype(str).reset_index(drop=True)
    used = set(planted["ligand"]) | set(planted["receptor"])
    background = np.asarray([g for g in adata.var_names if g not in used], dtype=str)
    if n_decoys < 0 or 2 * n_decoys > len(background):
        raise ValueError(f"n_decoys must be between 0 and {len(background) // 2} (background genes / 2), got {n_decoys}")
    rng = np.random.default_rng(seed)
    drawn = rng.choice(background, 2 * n_decoys, replace=False)
    decoys = pd.DataFrame({"ligand": drawn[:n_decoys], "receptor": drawn[n_decoys:]})
    table = pd.concat([planted, decoys], ignore_index=True)
    table["ligand_uniprot"] = [f"SIM_L{i}" for i in range(len(table))]
    table["receptor_uniprot"] = [f"SIM_R{i}" for i in range(len(table))]
    table["resource"] = resource
    table["planted"] = np.arange(len(table)) < len(planted)
    return table
