"""Single-cell dose response: viability from cell numbers, and cells that do not respond."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ..._validate import check_adata, check_group, check_obs

__all__ = ["cell_viability", "resistant_cells"]


def cell_viability(
    adata: AnnData,
    *,
    dose_key: str = "dose",
    cell_type_key: str = "cell_type",
    well_key: str = "well",
    groupby: str = "perturbation",
    control: str = "control",
) -> pd.DataFrame:
    """Relative viability per well from the number of cells recovered (sci-Plex style).

    Dead cells leave no nuclei to sequence, so the cells recovered per well, relative to the
    mean of the control wells of the same cell type, estimate viability. Wells in which no
    cell was recovered are absent from a cell x gene matrix and are not imputed here.

    Parameters
    ----------
    adata
        Cells with a dose, a cell type, a well and a perturbation column.
    dose_key, cell_type_key, well_key, groupby
        Column names.
    control
        Control label in ``obs[groupby]``.

    Returns
    -------
    DataFrame
        One row per well: ``cell_type_key``, ``well``, ``dose``, ``n_cells`` (int), ``viability``
        (``n_cells`` / mean control ``n_cells`` of that group, float).

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(seed=0)
    >>> v = pk.tl.cell_viability(sim)
    >>> float(v[v["dose"] == 0]["viability"].mean())
    1.0
    """
    check_adata(adata)
    check_obs(adata, dose_key, cell_type_key, well_key, groupby)
    check_group(adata, groupby, control, role="control")
    obs = adata.obs.assign(_ctrl=(adata.obs[groupby].astype(str) == str(control)).to_numpy())
    wells = (
        obs.groupby([cell_type_key, well_key], observed=True)
        .agg(dose=(dose_key, "first"), ctrl=("_ctrl", "all"), n_cells=(dose_key, "size"))
        .reset_index()
    )
    base = wells[wells["ctrl"]].groupby(cell_type_key, observed=True)["n_cells"].mean()
    missing = sorted(set(wells[cell_type_key]) - set(base.index))
    if missing:
        raise ValueError(f"no control wells for {cell_type_key} {missing}")
    wells["viability"] = wells["n_cells"] / wells[cell_type_key].map(base).astype(float)
    return wells.drop(columns="ctrl").rename(columns={well_key: "well"})


def resistant_cells(
    adata: AnnData,
    *,
    score_key: str,
    ec50: dict,
    dose_key: str = "dose",
    cell_type_key: str = "cell_type",
    groupby: str = "perturbation",
    control: str = "control",
    min_fold: float = 10.0,
    z_cut: float = 2.0,
    key_added: str = "resistant",
    copy: bool = False,
) -> AnnData | None:
    """Flag treated cells that still look untreated at doses far above their type's EC50.

    For every cell of group ``g`` treated at a dose of at least ``min_fold * ec50[g]``
    (where a sensitive cell should have responded fully), the response score (e.g. a signed
    dose-response signature from :func:`gene_set_scores`) is compared with that group's
    control cells: a z-score below ``z_cut`` means the cell did not move, i.e. it behaves as
    resistant.

    Must run first: a per-cell response score in ``obs[score_key]`` (positive = responding).

    Parameters
    ----------
    adata
        Cells.
    score_key
        ``obs`` column with the response score.
    ec50
        Mapping group -> EC50 (same unit as the dose).
    dose_key, cell_type_key, groupby, control
        Column names and the control label.
    min_fold
        Evaluate cells at doses of at least ``min_fold`` x their group's EC50.
    z_cut
        Cells whose score is less than ``z_cut`` control SDs above the control mean are
        called resistant.
    key_added
        ``obs`` column to write.
    copy
        Return a modified copy instead of writing in place.

    Returns
    -------
    None or AnnData
        Writes ``obs[key_added]`` (bool; False for cells not evaluated), ``obs[key_added +
        "_z"]`` (float; NaN for cells not evaluated), ``obs[key_added + "_evaluated"]`` (bool)
        and ``uns[key_added]["params"]``.

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(seed=0)
    >>> t = sim.uns["truth"]
    >>> sig = pd.DataFrame({"source": "sig", "target": t["log_fc"].index, "weight": t["log_fc"].to_numpy()})
    >>> pk.tl.gene_set_scores(sim, sig[sig["weight"] != 0])
    >>> sim.obs["score"] = sim.obsm["gene_set_scores"]["sig"]
    >>> pk.tl.resistant_cells(sim, score_key="score", ec50=t["ec50"])
    >>> int(sim.obs["resistant"].sum()) > 0
    True
    """
    check_adata(adata)
    check_obs(adata, score_key, dose_key, cell_type_key, groupby)
    adata = adata.copy() if copy else adata
    obs = adata.obs
    groups = obs[cell_type_key].astype(str)
    unknown = sorted(set(groups) - set(map(str, ec50)))
    if unknown:
        raise ValueError(f"ec50 has no value for {cell_type_key} {unknown}")
    ctrl = (obs[groupby].astype(str) == str(control)).to_numpy()
    score = obs[score_key].to_numpy(float)
    dose = obs[dose_key].to_numpy(float)
    z = np.full(adata.n_obs, np.nan)
    evaluated = np.zeros(adata.n_obs, bool)
    for g in pd.unique(groups):
        in_g = (groups == g).to_numpy()
        ref = score[in_g & ctrl]
        if ref.size < 3:
            raise ValueError(f"{cell_type_key} {g!r} has {ref.size} control cells; need at least 3")
        sel = in_g & ~ctrl & (dose >= min_fold * float(ec50[g]))
        z[sel] = (score[sel] - ref.mean()) / ref.std(ddof=1)
        evaluated |= sel
    obs[key_added] = evaluated & (z < z_cut)
    obs[f"{key_added}_z"] = z
    obs[f"{key_added}_evaluated"] = evaluated
    adata.uns[key_added] = {"params": {"score_key": score_key, "min_fold": min_fold, "z_cut": z_cut,
                                       "cell_type_key": cell_type_key, "ec50": {str(k): float(v) for k, v in ec50.items()}}}
    return adata if copy else None
