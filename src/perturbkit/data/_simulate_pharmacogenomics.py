"""Seeded simulator of a cell-line drug screen (IC50 x genomic features) with planted
drug-gene associations, for GDSC-style ANOVA."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["published_ic50", "simulate_drug_response", "simulate_viability_plates"]


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
        ``pk.data.load("gdsc_ic50_v17_gdsctools")`` gives them; NaN where not screened);
        ``"features"``: ``TISSUE_FACTOR``, ``MSI_FACTOR`` and 0/1 ``<gene>_mut`` columns;
        ``"truth"``: the planted pairs, columns ``drug`` (int), ``feature``, ``effect``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_drug_response(seed=0)
    >>> sim["ic50"].shape, sim["features"].shape, sim["truth"]["feature"].tolist()
    ((300, 20), (300, 42), ['GENE00_mut', 'GENE01_mut', 'GENE02_mut'])
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
    truth = pd.DataFrame(pairs, columns=["drug", "feature", "effect"])
    return {"ic50": table, "features": features, "truth": truth}


def simulate_viability_plates(
    *,
    n_cell_lines: int = 40,
    n_drugs: int = 3,
    n_doses: int = 5,
    dilution: float = 4.0,
    max_dose: float = 10.0,
    n_rep: int = 2,
    hill: float = 1.0,
    noise_sd: float = 0.05,
    published_sd: float = 0.3,
    n_controls: int = 8,
    seed: int = 0,
) -> pd.DataFrame:
    """Raw GDSC-style viability plates (one plate per cell line) with planted IC50s.

    Every plate holds blank wells (``TAG`` ``"B"``, medium only), DMSO negative controls
    (``"NC-1"``), positive controls (``"PC-1"``, near-complete kill) and, per drug, a dose
    series (``"L<drug>-D<dose>-S"``) of ``n_doses`` concentrations ``dilution``-fold apart up
    to ``max_dose``. A well's viability is ``1 / (1 + (x / IC50)^hill)`` (drc's ``LL.2``);
    its intensity is ``blank + (DMSO - blank) * viability`` plus Gaussian noise of SD
    ``noise_sd`` (in units of the DMSO - blank signal). ln IC50s are drawn around the middle
    of the tested range, so some lie beyond it. A stand-in for the gdscIC50 raw plates.

    Parameters
    ----------
    n_cell_lines, n_drugs
        Cell lines (``COSMIC_ID`` 900000, ...) and drugs (``DRUG_ID`` 1000, ...).
    n_doses, dilution, max_dose
        Dose series in uM.
    n_rep
        Wells per dose.
    hill
        Hill slope (drc's ``b``) shared by all curves.
    noise_sd
        Well noise, as a fraction of the DMSO - blank signal.
    published_sd
        SD of the noise (ln units) of the "published" IC50s in ``published_ln_ic50``.
    n_controls
        Blank, DMSO and positive-control wells per plate (each).
    seed
        Random seed.

    Returns
    -------
    DataFrame
        One row per well: ``SCAN_ID`` (int), ``TAG`` (category), ``COSMIC_ID`` (int),
        ``CELL_LINE_NAME``, ``DRUG_ID`` (float, NaN for control wells), ``CONC`` (uM, NaN
        for control wells), ``INTENSITY`` (float), ``true_ln_ic50`` (the planted ln IC50 of the
        well's cell line and drug; NaN for control wells) and ``published_ln_ic50`` (the same
        with noise of SD ``published_sd``: a stand-in for a published release;
        :func:`published_ic50` turns it into the layout of
        ``pk.data.load("gdsc_ic50_v17_gdsctools", table="ic50_long")``).

    Raises
    ------
    ValueError
        A size below 1, ``dilution`` <= 1 or ``max_dose`` <= 0.

    Examples
    --------
    >>> import perturbkit as pk
    >>> plates = pk.data.simulate_viability_plates(seed=0)
    >>> plates["COSMIC_ID"].nunique(), len(plates.dropna(subset=["true_ln_ic50"]).groupby(["COSMIC_ID", "DRUG_ID"]))
    (40, 120)
    """
    if min(n_cell_lines, n_drugs, n_doses, n_rep, n_controls) < 1:
        raise ValueError("n_cell_lines, n_drugs, n_doses, n_rep and n_controls must be >= 1")
    if dilution <= 1 or max_dose <= 0:
        raise ValueError(f"dilution must be > 1 and max_dose > 0, got {dilution} and {max_dose}")
    rng = np.random.default_rng(seed)
    doses = max_dose / dilution ** np.arange(n_doses)[::-1]
    mid = np.log(doses).mean()
    half = np.log(doses[-1] / doses[0]) / 2 + 1.0
    rows, truth = [], []
    from ..dose import get_model

    def ll2(x: float, ic50: float) -> float:  # viability 1 / (1 + (x / IC50)^hill): pk.dose's LL.2
        return float(get_model("LL.2")(np.array([x]), np.array([hill, ic50]))[0])

    for i in range(n_cell_lines):
        cosmic = 900000 + i
        blank = rng.uniform(1500, 2500)
        dmso = blank + rng.uniform(2e4, 6e4)
        span = dmso - blank
        specs = [("B", 0.0, np.nan, np.nan, n_controls), ("NC-1", 1.0, np.nan, np.nan, n_controls),
                 ("PC-1", 0.03, np.nan, np.nan, n_controls)]
        for d in range(n_drugs):
            ln_ic50 = mid + rng.uniform(-half, half)
            truth.append((cosmic, 1000 + d, ln_ic50))
            specs += [(f"L{d + 1}-D{k + 1}-S", ll2(float(x), np.exp(ln_ic50)), float(1000 + d),
                       float(x), n_rep) for k, x in enumerate(doses)]
        for tag, level, drug, conc, n in specs:
            noisy = blank + span * (level + rng.normal(0.0, noise_sd, n))
            rows.extend((i, tag, cosmic, f"line{i:03d}", drug, conc, float(v)) for v in noisy)
    plates = pd.DataFrame(rows, columns=["SCAN_ID", "TAG", "COSMIC_ID", "CELL_LINE_NAME", "DRUG_ID", "CONC",
                                         "INTENSITY"])
    for col in ("TAG", "CELL_LINE_NAME"):
        plates[col] = plates[col].astype("category")
    planted = pd.DataFrame(truth, columns=["COSMIC_ID", "DRUG_ID", "true_ln_ic50"])
    planted["published_ln_ic50"] = planted["true_ln_ic50"] + rng.normal(0.0, published_sd, len(planted))
    planted["DRUG_ID"] = planted["DRUG_ID"].astype(float)  # as in the plates (NaN for controls)
    return plates.merge(planted, on=["COSMIC_ID", "DRUG_ID"], how="left")


def published_ic50(plates: pd.DataFrame) -> pd.DataFrame:
    """The "published" IC50 table of simulated plates, in the layout of the GDSC release.

    Parameters
    ----------
    plates
        Output of :func:`simulate_viability_plates` (needs ``published_ln_ic50``).

    Returns
    -------
    DataFrame
        One row per cell line and drug: ``COSMIC_ID`` (int), ``DRUG_ID`` (int), ``ln_ic50``
        (the planted value plus the published noise), as
        ``pk.data.load("gdsc_ic50_v17_gdsctools", table="ic50_long")`` lays it out.

    Raises
    ------
    KeyError
        ``plates`` has no ``published_ln_ic50`` (only simulated plates carry it).

    Examples
    --------
    >>> import perturbkit as pk
    >>> pk.data.published_ic50(pk.data.simulate_viability_plates(seed=0)).shape
    (120, 3)
    """
    if "published_ln_ic50" not in plates.columns:
        raise KeyError("plates has no column 'published_ln_ic50': only pk.data.simulate_viability_plates "
                       "output carries published stand-in values")
    wells = plates.dropna(subset=["published_ln_ic50"])
    out = wells.groupby(["COSMIC_ID", "DRUG_ID"], sort=True)["published_ln_ic50"].first().reset_index()
    out["DRUG_ID"] = out["DRUG_ID"].astype(int)
    return out.rename(columns={"published_ln_ic50": "ln_ic50"})
