"""Seeded simulator of a single-cell dose series in which a resistant subpopulation needs a
much higher dose to respond, and carries its own marker genes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

__all__ = ["simulate_resistance"]


def simulate_resistance(
    n_cells_per_dose: int = 150,
    *,
    doses: tuple[float, ...] = (0.0, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
    n_genes: int = 100,
    n_response: int = 15,
    n_markers: int = 8,
    resistant_fraction: float = 0.2,
    ec50_sensitive: float = 0.1,
    ec50_resistant: float = 5.0,
    hill: float = 1.5,
    response_lfc: float = 2.0,
    marker_lfc: float = 1.5,
    selection: bool = True,
    seed: int = 0,
) -> AnnData:
    """Single cells (counts) across a dose series: sensitive cells respond with EC50
    ``ec50_sensitive``, resistant ones with ``ec50_resistant``.

    The response is a program of ``n_response`` genes whose log expression rises by up to
    ``response_lfc`` following a Hill curve of the cell's EC50. Resistant cells also
    express ``n_markers`` marker genes ``marker_lfc`` higher at every dose (their
    identity, independent of the drug). With ``selection``, sensitive cells die at high
    doses, so the resistant share of the surviving cells grows with dose.

    Parameters
    ----------
    n_cells_per_dose
        Cells sampled per dose (before selection).
    doses
        Doses (uM); 0 is the vehicle control.
    n_genes, n_response, n_markers
        Genes in total, in the response program, and resistance markers.
    resistant_fraction
        Resistant share of the untreated population.
    ec50_sensitive, ec50_resistant, hill
        Dose-response of the two subpopulations.
    response_lfc, marker_lfc
        Effect sizes (natural log).
    selection
        Let sensitive cells die with dose (survival ``1 - 0.7 * response``).
    seed
        Random seed.

    Returns
    -------
    AnnData
        ``X`` and ``layers["counts"]`` (int64 counts); ``obs``: ``perturbation``
        (``"drug"``/``"control"``), ``dose``, ``dose_unit``, ``resistant`` (bool, truth);
        ``uns["truth"]``: ``markers`` and ``response_genes`` (lists), ``ec50_sensitive``,
        ``ec50_resistant``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_resistance(seed=0)
    >>> sim.n_vars, len(sim.uns["truth"]["markers"])
    (100, 8)
    """
    if n_response + n_markers > n_genes:
        raise ValueError("n_response + n_markers exceeds n_genes")
    if not 0 < resistant_fraction < 1:
        raise ValueError(f"resistant_fraction must be in (0, 1), got {resistant_fraction}")
    rng = np.random.default_rng(seed)
    genes = [f"G{i:03d}" for i in range(n_genes)]
    response_idx = np.arange(n_response)
    marker_idx = np.arange(n_response, n_response + n_markers)
    base = rng.normal(1.0, 1.0, n_genes)  # log mean counts
    rows, obs = [], []
    from ..dose import get_model

    hill_curve = get_model("Hill")
    for dose in doses:
        resistant = rng.random(n_cells_per_dose) < resistant_fraction
        ec = np.where(resistant, ec50_resistant, ec50_sensitive)
        # Hill curve rising from 0 to 1, evaluated by pk.dose (0 at dose 0)
        frac = hill_curve(np.full((n_cells_per_dose, 1), float(dose)),
                          np.column_stack([np.full(n_cells_per_dose, float(hill)), np.zeros(n_cells_per_dose),
                                           np.ones(n_cells_per_dose), ec]))[:, 0]
        keep = np.ones(n_cells_per_dose, dtype=bool)
        if selection:
            keep = rng.random(n_cells_per_dose) < 1 - 0.7 * frac
        for i in np.flatnonzero(keep):
            log_mu = base.copy()
            log_mu[response_idx] += response_lfc * frac[i]
            if resistant[i]:
                log_mu[marker_idx] += marker_lfc
            size = rng.lognormal(0, 0.2)
            rows.append(rng.poisson(size * np.exp(log_mu)))
            obs.append({"perturbation": "drug" if dose > 0 else "control", "dose": float(dose),
                        "dose_unit": "uM", "resistant": bool(resistant[i])})
    x = np.vstack(rows).astype(np.int64)
    frame = pd.DataFrame(obs, index=[f"cell{i:05d}" for i in range(len(obs))])
    adata = AnnData(X=x, obs=frame, var=pd.DataFrame(index=genes))
    adata.layers["counts"] = x.copy()
    adata.uns["truth"] = {
        "markers": [genes[i] for i in marker_idx], "response_genes": [genes[i] for i in response_idx],
        "ec50_sensitive": ec50_sensitive, "ec50_resistant": ec50_resistant,
    }
    return adata
