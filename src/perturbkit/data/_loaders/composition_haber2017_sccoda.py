"""Haber et al. 2017 small-intestine epithelial cell-type counts (as packaged by scCODA)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .._load import CONTROL

#: Prefix of the ``Mouse`` column -> ``perturbation`` label.
CONDITIONS = {
    "Control": CONTROL,
    "H.poly.Day3": "H.poly.Day3",
    "H.poly.Day10": "H.poly.Day10",
    "Salm": "Salmonella",
}


def load(paths: dict[str, Path], *, wide: bool = False) -> pd.DataFrame:
    """Read the 10 mice x 8 cell types count table.

    Parameters
    ----------
    paths
        File name -> verified local path, from :func:`perturbkit.data.fetch`.
    wide
        ``False`` (default): tidy, one row per mouse and cell type, columns ``sample``,
        ``perturbation`` (``"control"``, ``"H.poly.Day3"``, ``"H.poly.Day10"``,
        ``"Salmonella"``), ``replicate`` (1-4), ``cell_type``, ``n_cells`` (int).
        ``True``: one row per mouse (index ``sample``), a ``perturbation`` column and one
        integer column per cell type.

    Examples
    --------
    >>> import perturbkit as pk
    >>> haber = pk.data.load("composition_haber2017_sccoda", wide=True)
    >>> haber.shape
    (10, 10)
    >>> haber["perturbation"].value_counts()["control"]
    np.int64(4)
    """
    raw = pd.read_csv(paths["haber_counts.csv"])
    prefix = raw["Mouse"].str.rsplit("_", n=1).str[0]
    unknown = sorted(set(prefix) - set(CONDITIONS))
    if unknown:
        raise ValueError(f"unexpected conditions in haber_counts.csv: {unknown}")
    cell_types = [c for c in raw.columns if c != "Mouse"]
    out = raw.rename(columns={"Mouse": "sample"}).set_index("sample")
    out[cell_types] = out[cell_types].astype(int)
    out.insert(0, "perturbation", prefix.map(CONDITIONS).to_numpy())
    out.insert(1, "replicate", raw["Mouse"].str.rsplit("_", n=1).str[1].astype(int).to_numpy())
    if wide:
        return out
    tidy = out.reset_index().melt(
        id_vars=["sample", "perturbation", "replicate"], var_name="cell_type", value_name="n_cells"
    )
    return tidy
