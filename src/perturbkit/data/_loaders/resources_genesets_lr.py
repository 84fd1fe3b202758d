"""Ligand-receptor resources (LIANA omni, CellChatDB, CellPhoneDB v4) and MSigDB Hallmark."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: Table name -> file in the dataset.
TABLES = {
    "omni": "liana_1.10.0_omni_resource.csv",
    "cellchatdb_human": "commot_0.0.3_CellChatDB.ligrec.human.csv",
    "cellchatdb_mouse": "commot_0.0.3_CellChatDB.ligrec.mouse.csv",
    "cellphonedb_human": "commot_0.0.3_CellPhoneDBv4.0.human.csv",
    "cellphonedb_mouse": "commot_0.0.3_CellPhoneDBv4.0.mouse.csv",
    "hallmark": "h.all.v6.0.symbols.gmt",
}


def load(paths: dict[str, Path], *, table: str | None = None) -> dict[str, pd.DataFrame] | pd.DataFrame:
    """Read the bundled resources into tidy tables.

    Parameters
    ----------
    paths
        File name -> verified local path.
    table
        One of :data:`TABLES` to get a single DataFrame; ``None`` returns all of them.

    Returns
    -------
    dict of DataFrame, or DataFrame
        ``omni``: LIANA's resource with columns ``ligand``, ``receptor`` (gene symbols,
        complexes joined by ``"_"``), ``ligand_uniprot``, ``receptor_uniprot``, ``resource``
        (17 resources; ``"consensus"`` is LIANA's default, ``"mouseconsensus"`` its mouse
        version). ``cellchatdb_*``/``cellphonedb_*`` (COMMOT's tables): ``ligand``,
        ``receptor`` (subunits joined by ``"_"``), ``pathway``, ``annotation`` (e.g.
        ``"Secreted Signaling"``). ``hallmark``: tidy ``source`` (gene set), ``target``
        (gene symbol), ``weight`` (1.0), the decoupler network layout.

    Raises
    ------
    KeyError
        Unknown ``table`` (the message lists the known ones).

    Examples
    --------
    >>> import perturbkit as pk
    >>> omni = pk.data.load("resources_genesets_lr", table="omni")
    >>> int((omni["resource"] == "consensus").sum())
    4620
    """
    if table is not None and table not in TABLES:
        raise KeyError(f"unknown table {table!r}; available: {list(TABLES)}")
    wanted = [table] if table is not None else list(TABLES)
    out = {name: _READERS[name](paths[TABLES[name]]) for name in wanted}
    return out[table] if table is not None else out


def _omni(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, index_col=0)
    return pd.DataFrame(
        {
            "ligand": raw["source_genesymbol"].astype(str).to_numpy(),
            "receptor": raw["target_genesymbol"].astype(str).to_numpy(),
            "ligand_uniprot": raw["source"].astype(str).to_numpy(),
            "receptor_uniprot": raw["target"].astype(str).to_numpy(),
            "resource": raw["resource"].astype(str).to_numpy(),
        }
    )


def _commot(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, index_col=0)
    raw.columns = ["ligand", "receptor", "pathway", "annotation"]
    return raw.reset_index(drop=True)


def _gmt(path: Path) -> pd.DataFrame:
    rows = []
    for line in Path(path).read_text().splitlines():
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 3:
            continue
        rows.extend((fields[0], gene) for gene in fields[2:] if gene)
    net = pd.DataFrame(rows, columns=["source", "target"])
    net["weight"] = 1.0
    return net


_READERS = {
    "omni": _omni,
    "cellchatdb_human": _commot,
    "cellchatdb_mouse": _commot,
    "cellphonedb_human": _commot,
    "cellphonedb_mouse": _commot,
    "hallmark": _gmt,
}
