"""Seeded simulator of a cell-line drug screen (IC50 x genomic features) with planted
drug-gene associations, for GDSC-style ANOVA."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_drug_response"]


def simulate_drug_response(
    n_cells: int = 300,
    n_drugs: int = 20,
    n_features: int = 40,
    *,
    n_tissues: int = 6,
    n_planted: int = 3,
    effect: float = -2.0,
    missing: float = 0.1,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Cell lines with tissue, MSI status and binary mutations; log IC50 per drug with a
    tissue effect, noise, and ``n_planted`` drug-mutation pairs where mutants are more
    sensitive by ``effect`` (natural-log units).

    Parameters
    ----------
    n_cells, n_drugs, n_features
        Screen size.
    n_tissues
        Tissue types (each shifts IC50 per drug).
    n_planted
        Planted associations (drug 1000 with feature ``GENE00_mut``, and so on).
    effect
        IC50 shift in mutant cell lines (negative: more sensitive).
    missing
        Fraction of missing IC50 values.
    seed
        Random seed.

    Returns
    -------
    dict
        ``"ic50"``: cell lines x drugs (integer drug ids as columns, as
        ``pk.data.load("gdsc_ic50_v17_gdsctools")`` gives them; NaN where not screened;
        ``attrs["truth"]["pairs"]`` lists the planted ``(drug, feature, effect)``);
        ``"features"``: ``TISSUE_FACTOR``, ``MSI_FACTOR`` and 0/1 ``<gene>_mut`` columns.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_drug_response(seed=0)
    >>> sim["ic50"].shape, sim["features"].shape
    ((300, 20), (300, 42))
    """
    if n_planted > min(n_drugs, n_features):
        raise ValueError("n_planted exceeds the number of drugs or features")
    rng = np.random.default_rng(seed)
    cells = pd.Index([f"cl{i:04d}" for i in range(n_cells)], name="COSMIC_ID")
    tissue = rng.choice([f"tissue_{t}" for t in range(n_tissues)], n_cells)
    msi = (rng.random(n_cells) < 0.1).astype(int)
    freq = rng.uniform(0.03, 0.25, n_features)
    mut = (rng.random((n_cells, n_features)) < freq).astype(int)
    fnames = [f"GENE{j:02d}_mut" for j in range(n_features)]
    features = pd.DataFrame(mut, index=cells, columns=fnames)
    features.insert(0, "MSI_FACTOR", msi)
    features.insert(0, "TISSUE_FACTOR", tissue)
    t_codes = pd.factorize(tissue)[0]
    drugs = [1000 + d for d in range(n_drugs)]  # integer GDSC-style drug ids, as the loader gives
    ic50 = np.empty((n_cells, n_drugs))
    pairs = []
    for d in range(n_drugs):
        tissue_shift = rng.normal(0, 0.7, n_tissues)
        ic50[:, d] = rng.normal(2.0, 0.5) + tissue_shift[t_codes] + rng.normal(0, 1.0, n_cells)
        if d < n_planted:
            ic50[:, d] += effect * mut[:, d]
            pairs.append((drugs[d], fnames[d], effect))
    ic50[rng.random(ic50.shape) < missing] = np.nan
    table = pd.DataFrame(ic50, index=cells, columns=pd.Index(drugs, name="DRUG_ID"))
    table.attrs["truth"] = {"pairs": pairs}
    return {"ic50": table, "features": features}
