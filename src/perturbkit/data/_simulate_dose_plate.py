"""A dose plate of bulk signatures (wells x genes): compounds x doses with planted Hill curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from ._load import CONTROL

__all__ = ["simulate_dose_plate"]


def simulate_dose_plate(
    *,
    n_compounds: int = 20,
    doses: Sequence[float] = (0.04, 0.12, 0.37, 1.11, 3.33, 10.0),
    n_genes: int = 100,
    n_programs: int = 4,
    n_controls: int = 12,
    effect: float = 1.5,
    noise: float = 0.3,
    seed: int = 0,
) -> AnnData:
    """Simulate an L1000-like plate: one well per compound and dose, plus vehicle wells.

    Compound ``k`` moves expression along its own direction ``v_k`` (a random mix of
    ``n_programs`` shared gene programmes, unit length times ``sqrt(n_genes) / 4``), with a
    Hill curve in dose: ``signature_k(d) = effect * d^h / (d^h + EC50_k^h) * v_k``, EC50
    log-uniform between the second and fifth dose, Hill slope ``h`` in 0.8-2. Each well adds
    Gaussian noise of sd ``noise`` to a per-gene baseline (log2 units).

    Parameters
    ----------
    n_compounds, doses
        Compounds (``"c00"`` ...) and the doses of every compound (uM, positive).
    n_genes, n_programs
        Genes and shared gene programmes.
    n_controls
        Vehicle wells (``perturbation == "control"``, dose 0).
    effect, noise
        Maximal effect scale and well noise sd.
    seed
        Random seed.

    Returns
    -------
    AnnData
        Wells x genes; ``obs``: ``perturbation``, ``dose`` (float, 0 for vehicle);
        ``uns["truth"]``: ``{"signature": DataFrame}`` with the noise-free signature of each
        treated well (index = obs_names of treated wells, columns = genes), and
        ``{"ec50": Series}`` by compound.

    Examples
    --------
    >>> import perturbkit as pk
    >>> plate = pk.data.simulate_dose_plate(n_compounds=5, seed=0)
    >>> plate.shape, plate.uns["truth"]["signature"].shape
    ((42, 100), (30, 100))
    """
    doses = np.asarray(doses, dtype=float)
    if min(n_compounds, n_genes, n_programs, n_controls, len(doses)) < 1:
        raise ValueError("all sizes must be >= 1")
    if (doses <= 0).any():
        raise ValueError(f"doses must be positive (vehicle wells are added separately), got {doses.tolist()}")
    rng = np.random.default_rng(seed)
    genes = [f"g{i:03d}" for i in range(n_genes)]
    programs = rng.normal(size=(n_programs, n_genes)) * (rng.random((n_programs, n_genes)) < 0.3)
    mix = rng.normal(size=(n_compounds, n_programs))
    v = mix @ programs
    v = v / np.linalg.norm(v, axis=1, keepdims=True) * np.sqrt(n_genes) / 4
    lo, hi = np.log(doses[min(1, len(doses) - 1)]), np.log(doses[max(len(doses) - 2, 0)])
    ec50 = np.exp(rng.uniform(min(lo, hi), max(lo, hi), n_compounds))
    slope = rng.uniform(0.8, 2.0, n_compounds)
    base = rng.normal(8.0, 1.0, n_genes)
    comps = [f"c{k:02d}" for k in range(n_compounds)]
    pert, dose, sig = [], [], []
    from ..dose import get_model

    hill_curve = get_model("Hill")  # rising from 0 to 1, evaluated by pk.dose
    for k in range(n_compounds):
        for d in doses:
            h = float(hill_curve(np.array([float(d)]), np.array([slope[k], 0.0, 1.0, ec50[k]]))[0])
            pert.append(comps[k])
            dose.append(d)
            sig.append(effect * h * v[k])
    sig = np.asarray(sig)
    x = np.vstack([base + rng.normal(0, noise, (n_controls, n_genes)),
                   base + sig + rng.normal(0, noise, sig.shape)]).astype(np.float32)
    obs = pd.DataFrame({
        "perturbation": [CONTROL] * n_controls + pert,
        "dose": np.r_[np.zeros(n_controls), dose],
    }, index=[f"w{i:03d}" for i in range(len(x))])
    adata = AnnData(X=x, obs=obs, var=pd.DataFrame(index=genes))
    adata.uns["truth"] = {"signature": pd.DataFrame(sig, index=obs.index[n_controls:], columns=genes),
                          "ec50": pd.Series(ec50, index=comps)}
    return adata
