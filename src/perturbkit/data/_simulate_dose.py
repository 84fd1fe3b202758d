"""Seeded dose-response simulators: a plate-style table of curves, and a sci-Plex-like
single-cell experiment with cell-type-specific EC50s and a resistant subpopulation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ._load import CONTROL

__all__ = ["simulate_dose_response", "simulate_dose_table", "simulate_response_transfer"]


def simulate_dose_table(
    *,
    model: str = "LL.4",
    params: dict[str, float] | None = None,
    doses: Sequence[float] = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
    n_rep: int = 4,
    noise_sd: float = 0.3,
    n_groups: int = 1,
    ec50_fold: float = 4.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate replicate dose-response curves from a drc model with Gaussian noise.

    Parameters
    ----------
    model
        drc model name (``"LL.4"``, ``"W1.4"``, ...; see :mod:`perturbkit.dose`).
    params
        True free parameters of ``model`` (default for 4-parameter models
        ``b=2, c=0.5, d=8, e=3``, a ryegrass-like decline).
    doses
        Dose levels (0 is the untreated control).
    n_rep
        Replicates per dose.
    noise_sd
        SD of the Gaussian noise added to each observation.
    n_groups
        Curves (``"drug0"``, ...); group ``k`` has ``e`` multiplied by ``ec50_fold ** k``.
    seed
        Random seed.

    Returns
    -------
    DataFrame
        ``perturbation``, ``dose``, ``dose_unit`` ("uM"), ``replicate``, ``response``, and
        the true parameters of the row's curve, ``true_<parameter>`` for each free
        parameter of ``model`` (e.g. ``true_b``, ``true_c``, ``true_d``, ``true_e``).

    Examples
    --------
    >>> import perturbkit as pk
    >>> d = pk.data.simulate_dose_table(n_groups=2, seed=0)
    >>> d.shape, float(d.groupby("perturbation")["true_e"].first()["drug1"])
    ((56, 9), 12.0)
    """
    from ..dose import get_model

    m = get_model(model)
    defaults = {"b": 2.0, "c": 0.5, "d": 8.0, "e": 3.0, "f": 1.0}
    params = {**{p: defaults[p] for p in m.free}, **(params or {})}
    unknown = set(params) - set(m.free)
    if unknown:
        raise ValueError(f"{m.name} has no free parameter {sorted(unknown)}; free: {m.free}")
    rng = np.random.default_rng(seed)
    x = np.repeat(np.asarray(doses, float), n_rep)
    frames, truth = [], {}
    for k in range(n_groups):
        p = dict(params)
        p["e"] = params["e"] * ec50_fold**k
        theta = np.array([p[name] for name in m.free])
        y = m(x, theta) + rng.normal(0.0, noise_sd, x.size)
        name = f"drug{k}"
        truth[name] = p
        frames.append(pd.DataFrame({
            "perturbation": name, "dose": x, "dose_unit": "uM",
            "replicate": np.tile(np.arange(1, n_rep + 1), len(doses)), "response": y,
        }))
    out = pd.concat(frames, ignore_index=True)
    planted = pd.DataFrame(truth).T.rename_axis("perturbation").add_prefix("true_").astype(float)
    return out.join(planted, on="perturbation")


def simulate_dose_response(
    *,
    n_cell_types: int = 3,
    ec50: Sequence[float] | None = None,
    hill: float = 1.5,
    doses: Sequence[float] = (0.0, 0.01, 0.1, 1.0, 10.0, 100.0),
    n_replicates: int = 2,
    n_cells: int = 60,
    n_genes: int = 100,
    n_response_genes: int = 15,
    effect_size: float = 1.5,
    resistant_fraction: float = 0.15,
    resistant_type: int = 0,
    resistant_shift: float = 1000.0,
    library_size: float = 1500.0,
    dispersion: float = 0.2,
    drug: str = "drugA",
    drugs: Sequence[str] | None = None,
    drug_ec50_fold: float = 3.0,
    seed: int = 0,
) -> AnnData:
    """Simulate a sci-Plex-like single-cell dose series with planted EC50s per cell type.

    Each cell type ``t`` has an EC50 ``ec50[t]`` (uM). At dose ``x`` a cell of type ``t``
    (i) survives with probability ``v(x) = 1 / (1 + (x / ec50_t)^hill)`` (so the number of
    cells per well falls with dose), and (ii) responds transcriptionally with strength
    ``r(x) = 1 - v(x)``: its ``n_response_genes`` genes change by ``effect_size * r(x)`` on
    the log scale (same genes, signs random). A ``resistant_fraction`` of the cells of type
    ``resistant_type`` are resistant: their EC50 is ``resistant_shift`` times higher, so
    they neither die nor respond at the tested doses.

    Parameters
    ----------
    n_cell_types
        Cell types (``"type0"``, ...).
    ec50
        EC50 per cell type in uM (default: log-spaced 0.1, 1, 10, ...).
    hill
        Hill slope shared by all types (drc's ``b`` for viability).
    doses
        Doses in uM; dose 0 wells are labelled ``"control"``.
    n_replicates
        Wells per cell type x dose.
    n_cells
        Cells seeded per well (survivors are drawn binomially).
    n_genes, n_response_genes, effect_size
        Genes, genes that respond, and their full-response log fold change.
    resistant_fraction, resistant_type, resistant_shift
        The resistant subpopulation (fraction of the cells of one type, EC50 multiplier).
    library_size, dispersion
        Mean UMI per cell and negative-binomial dispersion.
    drug
        Name in ``obs["perturbation"]`` of treated cells.
    drugs
        Several compounds instead of ``drug`` (a plate of compounds, e.g. as a stand-in for
        an L1000 plate): compound ``k`` has the EC50s ``ec50 * drug_ec50_fold ** k`` and the
        same response genes; each gets its own treated wells, the controls are shared.
    drug_ec50_fold
        EC50 multiplier between consecutive ``drugs``.
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X``/``layers["counts"]``: UMI counts (CSR float32). ``obs``: ``perturbation``,
        ``dose`` (uM), ``dose_unit``, ``cell_type``, ``replicate``, ``well``.
        ``uns["truth"]``: ``ec50`` (dict type -> uM), ``hill``, ``response_genes``,
        ``log_fc`` (Series over genes at full response), ``resistant`` (bool array over
        cells), ``seeded`` (cells seeded per well), ``resistant_type``, ``ec50_by_drug``
        (dict compound -> dict type -> uM).

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(seed=0)
    >>> sim.uns["truth"]["ec50"]
    {'type0': 0.1, 'type1': 1.0, 'type2': 10.0}
    """
    if ec50 is None:
        ec50 = [0.1 * 10.0**k for k in range(n_cell_types)]
    ec50 = [float(v) for v in ec50]
    if len(ec50) != n_cell_types:
        raise ValueError(f"ec50 has {len(ec50)} values for {n_cell_types} cell types")
    if not 0 < n_response_genes <= n_genes:
        raise ValueError(f"n_response_genes must be between 1 and n_genes ({n_genes}), got {n_response_genes}")
    if not 0 <= resistant_type < n_cell_types:
        raise ValueError(f"resistant_type {resistant_type} is not a cell type index (0..{n_cell_types - 1})")
    names = [drug] if drugs is None else [str(d) for d in drugs]
    if not names or len(set(names)) != len(names) or CONTROL in names:
        raise ValueError(f"drugs must be distinct names other than {CONTROL!r}, got {drugs}")
    rng = np.random.default_rng(seed)
    genes = [f"g{i:03d}" for i in range(n_genes)]
    base = rng.gamma(0.6, 1.0, n_genes) + 0.02
    base /= base.sum()
    type_fx = rng.normal(0.0, 0.4, (n_cell_types, n_genes))
    resp = rng.choice(n_genes, n_response_genes, replace=False)
    lfc = np.zeros(n_genes)
    lfc[resp] = effect_size * rng.choice([-1.0, 1.0], n_response_genes)
    # controls once per dose 0, then every compound at every positive dose
    plan = [(x, k, name) for x in doses for k, name in (enumerate(names) if x > 0 else [(0, CONTROL)])]
    obs_rows, mus, resistant = [], [], []
    for t in range(n_cell_types):
        for x, k, name in plan:
            for rep in range(1, n_replicates + 1):
                res = rng.random(n_cells) < (resistant_fraction if t == resistant_type else 0.0)
                e_drug = ec50[t] * drug_ec50_fold**k
                e_cell = np.where(res, e_drug * resistant_shift, e_drug)
                v = _viability(x, e_cell, hill)
                alive = rng.random(n_cells) < v
                r = 1.0 - v[alive]
                size = library_size * rng.lognormal(0.0, 0.2, alive.sum())
                log_mu = np.log(base)[None, :] + type_fx[t][None, :] + r[:, None] * lfc[None, :]
                mu = np.exp(log_mu)
                mu /= mu.sum(1, keepdims=True)
                mus.append(mu * size[:, None])
                resistant.append(res[alive])
                well = f"type{t}_{x:g}_{rep}" if len(names) == 1 or x == 0 else f"{name}_type{t}_{x:g}_{rep}"
                obs_rows += [(name, float(x), f"type{t}", rep, well)] * int(alive.sum())
    mu = np.vstack(mus)
    counts = rng.negative_binomial(1.0 / dispersion, 1.0 / (1.0 + dispersion * mu)).astype(np.float32)
    obs = pd.DataFrame(obs_rows, columns=["perturbation", "dose", "cell_type", "replicate", "well"])
    obs.insert(2, "dose_unit", "uM")
    for col in ("perturbation", "cell_type", "well"):
        obs[col] = obs[col].astype("category")
    obs.index = [f"cell{i}" for i in range(len(obs))]
    adata = AnnData(sparse.csr_matrix(counts), obs=obs, var=pd.DataFrame(index=genes))
    adata.layers["counts"] = adata.X.copy()
    adata.uns["truth"] = {
        "ec50": {f"type{t}": ec50[t] for t in range(n_cell_types)},
        "hill": float(hill),
        "response_genes": [genes[i] for i in sorted(resp)],
        "log_fc": pd.Series(lfc, index=genes),
        "resistant": np.concatenate(resistant),
        "resistant_type": f"type{resistant_type}",
        "seeded": int(n_cells),
        "ec50_by_drug": {n: {f"type{t}": ec50[t] * drug_ec50_fold**k for t in range(n_cell_types)}
                         for k, n in enumerate(names)},
    }
    return adata


def simulate_response_transfer(
    *,
    n_lines: int = 300,
    n_cells: int = 600,
    n_genes: int = 100,
    n_marker: int = 10,
    shift: float = 1.0,
    dropout: float = 0.3,
    n_subclones: int = 0,
    seed: int = 0,
) -> tuple[AnnData, AnnData]:
    """Bulk cell lines with drug-response labels and single cells of another domain.

    Both share one biology: a latent resistance programme raises ``n_marker`` genes, and a
    sample is resistant when its programme activity is positive. The single cells differ by
    a technology shift: per-gene scale and offset (``shift``, log scale), extra noise and
    dropout (zeros with probability ``dropout``), the setting bulk-to-single-cell transfer
    methods (scDEAL) address.

    Parameters
    ----------
    n_lines, n_cells
        Bulk samples and single cells.
    n_genes, n_marker
        Genes, and genes driven by the resistance programme.
    shift
        SD of the per-gene log-scale offset and log-scale factor between the domains.
    dropout
        Fraction of single-cell values set to zero.
    n_subclones
        0 (default): the cells' programme is one continuum, as in the lines. ``k >= 2``: the
        cells fall into ``k`` planted subclones (equal shares), each with its own programme
        mean (evenly spaced from -1.5 to 1.5, within-subclone SD 0.5, so a subclone mostly
        responds as one) and its own expression offset (SD 1.5) on 20 non-marker genes, so
        the subclones are visible as clusters; the lines stay one continuum. Drawn from a
        separate stream: the default output is unchanged.
    seed
        Random seed.

    Returns
    -------
    (AnnData, AnnData)
        ``bulk`` and ``cells``: log expression in ``X``; ``obs["resistant"]`` (bool, the
        label) and ``obs["programme"]`` (float, the latent activity); with ``n_subclones``,
        ``cells.obs["subclone"]`` (str ``"c0"``, ``"c1"``, ...). ``cells.uns["truth"]``:
        ``markers`` (gene names).

    Examples
    --------
    >>> import perturbkit as pk
    >>> bulk, cells = pk.data.simulate_response_transfer(seed=0)
    >>> bulk.shape, cells.shape
    ((300, 100), (600, 100))
    """
    rng = np.random.default_rng(seed)
    genes = [f"g{i:03d}" for i in range(n_genes)]
    loadings = rng.normal(0, 0.6, (5, n_genes))  # shared nuisance programmes
    marker = rng.choice(n_genes, n_marker, replace=False)
    base = rng.normal(4, 1, n_genes)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        prog = rng.normal(0, 1, n)
        x = base + rng.normal(0, 1, (n, 5)) @ loadings + rng.normal(0, 0.5, (n, n_genes))
        x[:, marker] += 1.2 * prog[:, None]
        return x, prog

    if n_subclones == 1 or n_subclones < 0 or n_subclones > n_cells:
        raise ValueError(f"n_subclones must be 0 or between 2 and n_cells ({n_cells}), got {n_subclones}")
    if n_subclones and n_genes - n_marker < 20:
        raise ValueError(f"n_subclones needs 20 non-marker genes, got {n_genes - n_marker}")
    xb, pb = draw(n_lines)
    xc, pc = draw(n_cells)
    if n_subclones:
        # a separate stream, so the default output (no subclones) keeps its numbers
        sub_rng = np.random.default_rng([seed, 1])
        subclone = sub_rng.permutation(np.arange(n_cells) % n_subclones)
        new_pc = np.linspace(-1.5, 1.5, n_subclones)[subclone] + 0.5 * pc
        xc[:, marker] += 1.2 * (new_pc - pc)[:, None]
        pc = new_pc
        others = sub_rng.choice(np.setdiff1d(np.arange(n_genes), marker), 20, replace=False)
        xc[:, others] += sub_rng.normal(0, 3.0, (n_subclones, 20))[subclone]
    scale = np.exp(rng.normal(0, shift / 2, n_genes))
    xc = xc * scale + rng.normal(0, shift, n_genes) + rng.normal(0, 0.7, xc.shape)
    xc[rng.random(xc.shape) < dropout] = 0.0
    out = []
    for x, p in ((xb, pb), (xc, pc)):
        obs = pd.DataFrame({"resistant": p > 0, "programme": p}, index=[f"s{i}" for i in range(len(p))])
        out.append(AnnData(x.astype(np.float32), obs=obs, var=pd.DataFrame(index=genes)))
    if n_subclones:
        out[1].obs["subclone"] = [f"c{k}" for k in subclone]
    out[1].uns["truth"] = {"markers": [genes[i] for i in sorted(marker)]}
    return out[0], out[1]


def _viability(x: float, e_cell: np.ndarray, hill: float) -> np.ndarray:
    """Survival probability ``1 / (1 + (x / e)^hill)`` per cell: pk.dose's ``LL.2`` (1 at dose 0)."""
    from ..dose import get_model

    e_cell = np.asarray(e_cell, float)
    theta = np.column_stack([np.full(e_cell.shape, float(hill)), e_cell])
    return get_model("LL.2")(np.full((e_cell.size, 1), float(x)), theta)[:, 0]
