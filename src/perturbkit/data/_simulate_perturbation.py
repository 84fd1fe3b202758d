"""Seeded simulator of a stimulation experiment: cell types x donors x control/stimulated."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ._load import CONTROL

__all__ = ["simulate_perturbation", "simulate_perturbation_library"]


def simulate_perturbation(
    *,
    n_cell_types: int = 3,
    n_donors: int = 3,
    n_cells: int | Sequence[int] = 60,
    n_genes: int = 100,
    n_de: int = 10,
    effect_size: float = 1.5,
    response: Sequence[float] | None = None,
    n_shared: int = 0,
    donor_sd: float = 0.3,
    sample_sd: float = 0.0,
    paired: bool = True,
    dispersion: float = 0.2,
    library_size: float = 2000.0,
    perturbation: str = "stimulated",
    cell_types: Sequence[str] | None = None,
    seed: int = 0,
) -> AnnData:
    """Simulate UMI counts of a stimulation experiment with a planted, cell-type-specific effect.

    Counts are negative binomial with mean ``s * p_g * exp(type_g + donor_g + sample_g +
    effect_g)``: ``type_g`` gives each cell type its own profile; ``donor_g`` ~ N(0,
    ``donor_sd``) is shared by all cells of a donor; ``sample_g`` ~ N(0, ``sample_sd``) is
    specific to one donor x condition sample (the replicate noise that per-cell tests
    ignore); ``effect_g`` is the planted log fold change of stimulated over control cells.

    Parameters
    ----------
    n_cell_types, n_donors, n_cells
        Cell types (``"type0"`` ...), donors (``"d0"`` ...), cells per cell type x donor x
        condition (one number, or one per cell type).
    n_genes
        Genes (``"g000"`` ...).
    n_de
        Genes changed in each responding cell type (type-specific sets, drawn per type).
    effect_size
        Natural-log fold change of a DE gene for a fully responding type (sign random).
    response
        Per cell type multiplier of ``effect_size`` (length ``n_cell_types``). Default:
        evenly from 1 down to 0, so the last type is a planted null.
    n_shared
        Extra genes up-regulated by ``effect_size`` in every responding type (an
        interferon-like core).
    donor_sd, sample_sd
        SD of donor and of sample (donor x condition) random effects, log scale.
    paired
        ``True``: every donor has control and stimulated cells. ``False``: donors are split
        in halves, the first half control, the second stimulated (condition confounded
        with donor).
    dispersion
        Negative-binomial dispersion (variance = mu + dispersion * mu^2).
    library_size
        Mean UMI count per cell (per-cell size factors are log-normal, SD 0.2).
    perturbation
        Label of stimulated cells in ``obs["perturbation"]`` (controls are ``"control"``).
    cell_types
        Names of the cell types (default ``"type0"``, ``"type1"``, ...).
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X`` and ``layers["counts"]``: counts (CSR float32). ``obs``: ``perturbation``,
        ``condition`` (``"ctrl"``/``"stim"``), ``cell_type``, ``donor``, ``replicate``
        (= donor), ``sample`` (categoricals). ``uns["truth"]``: ``log_fc`` (DataFrame genes
        x cell types, planted natural-log fold change), ``de_genes`` (dict cell type ->
        list of genes with a planted change), ``response`` (dict cell type -> multiplier),
        ``responsive`` (list of types with multiplier > 0), ``donor_effect`` (DataFrame
        genes x donors), ``regulons`` (DataFrame ``source``/``target``/``weight``: a
        regulator ``REG_shared`` of the shared genes, one ``REG_<type>`` per responding type
        with the signs of its planted changes, and a decoy ``REG_decoy`` of unchanged genes)
        and the parameters.

    Examples
    --------
    >>> import perturbkit as pk
    >>> adata = pk.data.simulate_perturbation(seed=0)
    >>> adata.shape
    (1080, 100)
    >>> adata.uns["truth"]["responsive"]
    ['type0', 'type1']
    """
    cells = np.broadcast_to(np.asarray(n_cells, dtype=int), (n_cell_types,)) if np.ndim(n_cells) == 0 \
        else np.asarray(n_cells, dtype=int)
    if cells.shape != (n_cell_types,):
        raise ValueError(f"n_cells must be one number or one per cell type ({n_cell_types}), got {n_cells}")
    if n_cell_types < 1 or n_donors < 1 or (cells < 1).any() or n_genes < 1:
        raise ValueError("n_cell_types, n_donors, n_cells and n_genes must be >= 1")
    if not paired and n_donors < 2:
        raise ValueError("paired=False needs n_donors >= 2 (half control, half stimulated)")
    if n_de * 1 + n_shared > n_genes:
        raise ValueError(f"n_de + n_shared ({n_de + n_shared}) exceeds n_genes ({n_genes})")
    if response is None:
        response = np.linspace(1.0, 0.0, n_cell_types) if n_cell_types > 1 else np.ones(1)
    response = np.asarray(response, dtype=float)
    if response.shape != (n_cell_types,):
        raise ValueError(f"response must have length n_cell_types={n_cell_types}, got {response.shape}")

    rng = np.random.default_rng(seed)
    genes = [f"g{i:03d}" for i in range(n_genes)]
    types = [f"type{i}" for i in range(n_cell_types)] if cell_types is None else [str(c) for c in cell_types]
    if len(types) != n_cell_types or len(set(types)) != n_cell_types:
        raise ValueError(f"cell_types must be {n_cell_types} distinct names, got {cell_types}")
    donors = [f"d{i}" for i in range(n_donors)]

    base = rng.dirichlet(np.full(n_genes, 0.5))  # skewed expression levels, like real genes
    base = 0.7 * base + 0.3 / n_genes  # keep every gene detectable
    type_profile = rng.normal(0.0, 0.5, size=(n_cell_types, n_genes))
    donor_effect = rng.normal(0.0, donor_sd, size=(n_donors, n_genes))

    shared = rng.choice(n_genes, size=n_shared, replace=False) if n_shared else np.array([], int)
    pool = np.setdiff1d(np.arange(n_genes), shared)
    log_fc = np.zeros((n_genes, n_cell_types))
    de_genes: dict[str, list[str]] = {}
    for t in range(n_cell_types):
        if response[t] == 0:
            de_genes[types[t]] = []
            continue
        idx = rng.choice(pool, size=n_de, replace=False)
        log_fc[idx, t] = response[t] * effect_size * rng.choice([-1.0, 1.0], size=n_de)
        log_fc[shared, t] = response[t] * effect_size
        de_genes[types[t]] = sorted(genes[i] for i in np.union1d(idx, shared))

    adata = _sample_conditions(
        rng, base=base, type_profile=type_profile, donor_effect=donor_effect, log_fc=log_fc,
        types=types, donors=donors, genes=genes, cells=cells, library_size=library_size,
        dispersion=dispersion, perturbation=perturbation, paired=paired, sample_sd=sample_sd,
    )
    regulons = [pd.DataFrame({"source": "REG_shared", "target": [genes[i] for i in shared], "weight": 1.0})]
    for t in range(n_cell_types):
        own = [g for g in de_genes[types[t]] if g not in {genes[i] for i in shared}]
        if own:
            signs = np.sign(log_fc[[genes.index(g) for g in own], t])
            regulons.append(pd.DataFrame({"source": f"REG_{types[t]}", "target": own, "weight": signs}))
    quiet = np.flatnonzero((log_fc == 0).all(1))
    decoy = rng.choice(quiet, size=min(10, len(quiet)), replace=False) if len(quiet) else np.array([], int)
    regulons.append(pd.DataFrame({"source": "REG_decoy", "target": [genes[i] for i in decoy], "weight": 1.0}))
    adata.uns["truth"] = {
        "log_fc": pd.DataFrame(log_fc, index=genes, columns=types),
        "regulons": pd.concat(regulons, ignore_index=True),
        "de_genes": de_genes,
        "response": dict(zip(types, response.tolist(), strict=True)),
        "responsive": [t for t, r in zip(types, response, strict=True) if r > 0],
        "shared_genes": sorted(genes[i] for i in shared),
        "donor_effect": pd.DataFrame(donor_effect.T, index=genes, columns=donors),
        "params": {
            "effect_size": effect_size,
            "donor_sd": donor_sd,
            "sample_sd": sample_sd,
            "paired": paired,
            "dispersion": dispersion,
            "seed": seed,
        },
    }
    return adata


def simulate_perturbation_library(
    *,
    n_perturbations: int = 40,
    n_features: int = 6,
    n_genes: int = 80,
    n_programs: int = 4,
    n_cells: int = 30,
    n_control: int = 200,
    effect_size: float = 1.0,
    nonlinearity: float = 0.5,
    dispersion: float = 0.2,
    library_size: float = 2000.0,
    seed: int = 0,
) -> AnnData:
    """Simulate a library of perturbations described by features (e.g. compound descriptors).

    Each perturbation ``p`` has a feature vector ``f_p`` ~ N(0, I). Its effect on gene
    programmes is ``a_p = tanh(B f_p) + nonlinearity * (C f_p)^2`` (a smooth, partly
    non-linear function of the features), and its log fold change on genes is
    ``effect_size * L a_p`` with a sparse programme-to-gene loading ``L``. Perturbations with
    similar features therefore have similar responses: the premise of predicting unseen
    perturbations (PerturbNet, cycleCDR) from their descriptors.

    Parameters
    ----------
    n_perturbations, n_features
        Perturbations (``"p00"`` ...) and descriptor dimensions.
    n_genes, n_programs
        Genes and latent gene programmes.
    n_cells, n_control
        Cells per perturbation; control cells.
    effect_size, nonlinearity
        Scale of the log fold changes; weight of the quadratic term.
    dispersion, library_size
        Negative-binomial dispersion; mean UMIs per cell.
    seed
        Random seed.

    Returns
    -------
    AnnData
        Counts in ``X`` and ``layers["counts"]``; ``obs["perturbation"]`` (controls
        ``"control"``). ``uns["features"]``: DataFrame perturbations x features.
        ``uns["truth"]["log_fc"]``: DataFrame genes x perturbations (natural log).

    Examples
    --------
    >>> import perturbkit as pk
    >>> lib = pk.data.simulate_perturbation_library(n_perturbations=10, seed=0)
    >>> lib.shape, lib.uns["features"].shape
    ((500, 80), (10, 6))
    """
    if min(n_perturbations, n_features, n_genes, n_programs, n_cells, n_control) < 1:
        raise ValueError("all sizes must be >= 1")
    rng = np.random.default_rng(seed)
    genes = [f"g{i:03d}" for i in range(n_genes)]
    perts = [f"p{i:02d}" for i in range(n_perturbations)]
    feats = rng.normal(size=(n_perturbations, n_features))
    b = rng.normal(size=(n_features, n_programs)) / np.sqrt(n_features)
    c = rng.normal(size=(n_features, n_programs)) / np.sqrt(n_features)
    programs = np.tanh(feats @ b) + nonlinearity * (feats @ c) ** 2
    loading = rng.normal(size=(n_programs, n_genes)) * (rng.random((n_programs, n_genes)) < 0.25)
    log_fc = effect_size * programs @ loading
    base = rng.dirichlet(np.full(n_genes, 0.5)) * 0.7 + 0.3 / n_genes
    r = 1.0 / dispersion
    blocks, labels = [], []
    for label, lfc, n in [("control", np.zeros(n_genes), n_control)] + [
        (p, log_fc[i], n_cells) for i, p in enumerate(perts)
    ]:
        size = library_size * rng.lognormal(0.0, 0.2, size=n)
        mu = size[:, None] * (base * np.exp(lfc))[None, :]
        blocks.append(rng.poisson(rng.gamma(r, mu / r)))
        labels += [label] * n
    counts = sparse.csr_matrix(np.vstack(blocks).astype(np.float32))
    obs = pd.DataFrame(
        {"perturbation": pd.Categorical(labels, categories=[CONTROL, *perts])},
        index=[f"cell{i}" for i in range(len(labels))],
    )
    adata = AnnData(X=counts.copy(), obs=obs, var=pd.DataFrame(index=pd.Index(genes)))
    adata.layers["counts"] = counts
    adata.uns["features"] = pd.DataFrame(feats, index=perts, columns=[f"f{j}" for j in range(n_features)])
    adata.uns["truth"] = {"log_fc": pd.DataFrame(log_fc.T, index=genes, columns=perts),
                          "params": {"effect_size": effect_size, "nonlinearity": nonlinearity, "seed": seed}}
    return adata


def _sample_conditions(
    rng: np.random.Generator,
    *,
    base: np.ndarray,
    type_profile: np.ndarray,
    donor_effect: np.ndarray,
    log_fc: np.ndarray,
    types: Sequence[str],
    donors: Sequence[str],
    genes: Sequence[str],
    cells: Sequence[int],
    library_size: float,
    dispersion: float,
    perturbation: str,
    paired: bool = True,
    sample_sd: float = 0.0,
) -> AnnData:
    """Negative-binomial UMI counts for cell types x donors x control/stimulated.

    Shared by the simulators of stimulation experiments: ``log_fc`` (genes x cell types)
    multiplies the expression proportions of stimulated cells, after normalisation, so
    planted fold changes are the true ones. Unpaired designs put the first half of the
    donors in control only and the rest in stimulated only.
    """
    blocks, rows = [], []
    r = 1.0 / dispersion
    for t, cell_type in enumerate(types):
        for d, donor in enumerate(donors):
            for c, (cond, label) in enumerate((("ctrl", CONTROL), ("stim", perturbation))):
                if not paired and (d < len(donors) // 2) != (c == 0):
                    continue
                sample_effect = rng.normal(0.0, sample_sd, size=len(genes)) if sample_sd else 0.0
                logmu = np.log(base) + type_profile[t] + donor_effect[d] + sample_effect
                # normalised before the effect: stimulation adds (or removes) RNA of DE genes
                # without diluting the others, so planted fold changes are the true ones
                prop = np.exp(logmu) / np.exp(logmu).sum()
                if c == 1:
                    prop = prop * np.exp(log_fc[:, t])
                size = library_size * rng.lognormal(0.0, 0.2, size=cells[t])
                mu = size[:, None] * prop[None, :]
                blocks.append(rng.poisson(rng.gamma(r, mu / r)))
                rows.append(
                    pd.DataFrame(
                        {
                            "perturbation": label,
                            "condition": cond,
                            "cell_type": cell_type,
                            "donor": donor,
                            "replicate": donor,
                            "sample": f"{cond}_{donor}",
                        },
                        index=[f"{cell_type}_{donor}_{cond}_{i}" for i in range(cells[t])],
                    )
                )
    counts = sparse.csr_matrix(np.vstack(blocks).astype(np.float32))
    obs = pd.concat(rows)
    obs["perturbation"] = pd.Categorical(obs["perturbation"], categories=[CONTROL, perturbation])
    obs["condition"] = pd.Categorical(obs["condition"], categories=["ctrl", "stim"])
    for key in ("cell_type", "donor", "replicate", "sample"):
        obs[key] = pd.Categorical(obs[key])
    adata = AnnData(X=counts.copy(), obs=obs, var=pd.DataFrame(index=pd.Index(list(genes))))
    adata.layers["counts"] = counts
    return adata
