"""The drc package's classic dose-response datasets (ryegrass, S.alba, earthworms, finney71, ...).

Each ``.rda`` file holds one R data frame; it comes back as a pandas DataFrame with drc's
column names (e.g. ryegrass: ``rootl`` root length in cm, ``conc`` ferulic acid in mM;
finney71: ``dose``, ``total``, ``affected``; earthworms: ``dose``, ``number``, ``total``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def names(paths: dict[str, Path]) -> list[str]:
    """Dataset names available (file names without ``.rda``)."""
    return sorted(p[: -len(".rda")] for p in paths if p.endswith(".rda"))


def load(paths: dict[str, Path], *, name: str | None = None) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Read one drc dataset (or all of them).

    Parameters
    ----------
    paths
        File name -> verified local path.
    name
        drc's dataset name, e.g. ``"ryegrass"``; ``None`` returns a dict of all 35.

    Returns
    -------
    DataFrame or dict of DataFrame
        drc's columns; factors become pandas categoricals, integer columns stay integers,
        the R row names are dropped.

    Raises
    ------
    KeyError
        Unknown ``name`` (the message lists the available ones).

    Examples
    --------
    >>> import perturbkit as pk
    >>> rye = pk.data.load("drc_classic_doseresponse", name="ryegrass")
    >>> rye.shape, list(rye.columns)
    ((24, 2), ['rootl', 'conc'])
    """
    available = names(paths)
    if name is None:
        return {n: _read(paths[f"{n}.rda"], n) for n in available}
    if name not in available:
        raise KeyError(f"drc has no dataset {name!r}; available: {available}")
    return _read(paths[f"{name}.rda"], name)


def _read(path: Path, name: str) -> pd.DataFrame:
    import pyreadr

    frames = pyreadr.read_r(str(path))
    table = frames.get(name, next(iter(frames.values())))
    return table.reset_index(drop=True)
