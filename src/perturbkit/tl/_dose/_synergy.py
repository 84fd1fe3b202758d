"""Drug-combination synergy scores as SynergyFinder defines them: HSA, Bliss, Loewe, ZIP.

Every score is observed minus expected response, in percentage points of inhibition:
positive = the combination does more than the reference model expects (synergy),
negative = less (antagonism).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._synergy_blocks import _dose_keys, _mean_surface, check_blocks
from ._synergy_curves import reference_surface, single_drug_curves

__all__ = ["METHODS", "synergy", "synergy_scores"]

#: Reference models implemented here.
METHODS = ("hsa", "bliss", "loewe", "zip")
def _single(surface: pd.Series, keys: tuple[str, ...], i: int) -> pd.Series:
    """Response to drug ``i`` alone, indexed by its dose (dose 0 included)."""
    idx = surface.index.to_frame(index=False)
    alone = np.ones(len(idx), dtype=bool)
    for j, k in enumerate(keys):
        if j != i:
            alone &= idx[k].to_numpy() == 0
    return pd.Series(surface.to_numpy()[alone], index=idx.loc[alone, keys[i]].to_numpy())


def _reference_hsa_bliss(surface: pd.Series, keys: tuple[str, ...], method: str) -> np.ndarray:
    doses = surface.index.to_frame(index=False)[list(keys)].to_numpy()
    singles = np.column_stack(
        [_single(surface, keys, i).reindex(doses[:, i]).to_numpy() for i in range(len(keys))]
    )
    singles = np.where(doses > 0, singles, 0.0 if method == "bliss" else -np.inf)
    if method == "hsa":
        ref = singles.max(axis=1)
    else:  # Bliss independence: the drugs act as independent probabilistic events
        ref = 100.0 * (1.0 - np.prod(1.0 - singles / 100.0, axis=1))
    return ref


def synergy(
    data: pd.DataFrame,
    *,
    method: str = "bliss",
    response_scale: str = "percent",
    block_key: str = "block_id",
    curve_fits: dict | None = None,
) -> pd.DataFrame:
    """Synergy matrix of every block: observed minus expected response at each dose pair.

    Follows SynergyFinder {cite}`ianevski2022synergyfinder`: replicates are averaged per
    dose combination; the expected (reference) response uses the single-drug responses
    of the zero-dose row and column. ``"hsa"``: the better single drug {cite}`berenbaum1989synergy`;
    ``"bliss"``: :math:`y_1 + y_2 - y_1 y_2/100`, independent action {cite}`bliss1939toxicity`
    (with three drugs, :math:`100[1 - \\prod(1 - y_i/100)]`). ``"loewe"`` and ``"zip"``
    need single-drug curves, fitted as four-parameter log-logistics with
    :func:`perturbkit.dose.fit_curve` (two-drug blocks only): Loewe's reference is the
    response of a drug combined with itself (dose additivity) {cite}`loewe1953problem`;
    ZIP compares the smoothed combination (each row and column refitted with the partner's
    effect as its bottom) with Bliss on the fitted single drugs {cite}`yadav2015zip`.

    Parameters
    ----------
    data
        Tidy table as from ``pk.data.load("drugcomb_synergyfinder")``: ``block_id``,
        ``conc_row``, ``conc_col`` (optionally ``conc_3``), ``response`` in % inhibition.
    method
        One of :data:`METHODS`.
    response_scale
        ``"percent"`` (% inhibition) or ``"fraction"`` (0-1, converted to percent).
    block_key
        Column naming the blocks.
    curve_fits
        For ``"loewe"``/``"zip"``: optional ``{block_id: (fit_row, fit_col)}`` of
        :class:`perturbkit.dose.DoseResponseFit` to use instead of fitting.

    Returns
    -------
    pandas.DataFrame
        One row per block and dose combination: ``block_id``, ``conc_row``, ``conc_col``
        (and ``conc_3`` when the block has a third drug), ``n_drugs`` (drugs present, int),
        ``response`` (mean observed % inhibition), ``fitted`` (the response the score uses:
        observed, or ZIP's smoothed surface), ``reference`` (expected), ``synergy``
        (fitted - expected; 0 on the single-drug row and column), ``method``; for
        ``"loewe"``/``"zip"`` also ``curves``, how the row and column drug's curves were had
        (e.g. ``"LL.4; flat (LL.4 failed)"``: a single drug without a converged log-logistic
        fit is treated as inactive at its mean response, with a warning naming the block).

    Raises
    ------
    ValueError
        Unknown method, incomplete dose grid, responses off the stated scale, negative doses.

    Examples
    --------
    >>> import perturbkit as pk
    >>> blocks = pk.data.simulate_combination(seed=0)
    >>> table = pk.tl.synergy(blocks, method="bliss")
    >>> (table.groupby("block_id", sort=False)["synergy"].mean() > 3).tolist()
    [True, False, False]
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    checked = check_blocks(data, response_scale=response_scale, block_key=block_key)
    frames, flat_blocks = [], []
    for block, sub in checked.groupby(block_key, sort=False):
        keys = _dose_keys(sub)
        surface = _mean_surface(sub, keys)
        observed = surface.to_numpy()
        if method in ("hsa", "bliss"):
            ref, fitted = _reference_hsa_bliss(surface, keys, method), observed
        else:
            if len(keys) != 2:
                raise ValueError(f"block {block!r}: {method} is implemented for two-drug blocks only")
            fits = None if curve_fits is None else curve_fits.get(block)
            if fits is None:
                fits = single_drug_curves(surface)
                flat = [side for side, f in zip(("row", "column"), fits, strict=True) if f.source.startswith("flat")]
                if flat:
                    flat_blocks.append(f"{block} ({' and '.join(flat)})")
            ref, fitted = reference_surface(surface, method, fits=fits)
        frame = surface.index.to_frame(index=False)
        frame.insert(0, "block_id", block)
        n_drugs = (frame[list(keys)].to_numpy() > 0).sum(axis=1)
        frame["n_drugs"] = n_drugs.astype(np.int64)
        frame["response"] = observed
        frame["fitted"] = np.where(n_drugs >= 2, fitted, observed)
        frame["reference"] = np.where(n_drugs >= 2, ref, observed)
        frame["synergy"] = frame["fitted"] - frame["reference"]
        frame["method"] = method
        if method in ("loewe", "zip"):
            frame["curves"] = f"{fits[0].source or 'given'}; {fits[1].source or 'given'}"
        frames.append(frame)
    if flat_blocks:
        # an inactive or noisy single drug has no log-logistic fit; its flat stand-in is a modelling
        # choice the reader should know about, not a fitted curve
        warnings.warn(f"{method}: no LL.4 fit for the single drug(s) of {len(flat_blocks)} block(s), treated as "
                      f"inactive (flat at the mean response): {flat_blocks[:10]}", UserWarning, stacklevel=2)
    out = pd.concat(frames, ignore_index=True)
    if block_key != "block_id":
        out = out.rename(columns={"block_id": block_key})
    return out


def synergy_scores(
    data: pd.DataFrame,
    *,
    methods: Sequence[str] = ("hsa", "bliss"),
    response_scale: str = "percent",
    block_key: str = "block_id",
    curve_fits: dict | None = None,
) -> pd.DataFrame:
    """Summary synergy score per block and method: the mean synergy over the wells where
    every drug of the block is present, as SynergyFinder summarises a block.

    Parameters
    ----------
    data
        Tidy combination table (see :func:`synergy`).
    methods
        Reference models to score (from :data:`METHODS`).
    response_scale
        ``"percent"`` or ``"fraction"``.
    block_key
        Column naming the blocks.
    curve_fits
        Passed to :func:`synergy` (Loewe/ZIP).

    Returns
    -------
    pandas.DataFrame
        One row per block: ``block_id``, the block's descriptive columns when present
        (``set``, ``drug_row``, ``drug_col``, ``drug_3``, ``cell_line``), ``n_combinations``
        (int) and one float column per method (percentage points; > 0 synergy, < 0
        antagonism), ``<method>_max`` (the most synergistic well) and ``<method>_pvalue``
        (SynergyFinder's approximate p-value against zero synergy for a block without
        replicates: ``z = |mean| / sd`` of the well scores, ``p = exp(-0.717 z - 0.416 z^2)``).
        Loewe and ZIP are NaN for three-drug blocks.

    Examples
    --------
    >>> import perturbkit as pk
    >>> scores = pk.tl.synergy_scores(pk.data.simulate_combination(seed=0))
    >>> (scores["bliss"] > 5).tolist()
    [True, False, False]
    """
    keep = [c for c in ("set", "drug_row", "drug_col", "drug_3", "cell_line") if c in data.columns]
    meta = data.groupby(block_key, sort=False)[keep].first() if keep else None
    checked = check_blocks(data, response_scale=response_scale, block_key=block_key)
    order = pd.unique(data[block_key])
    # wells with every drug of the block present, counted from the grid itself so that a
    # block no requested method can score (Loewe/ZIP on three drugs) still has its count
    n_comb = pd.Series(
        {b: len(sub.loc[(sub[list(k)] > 0).all(axis=1), list(k)].drop_duplicates())
         for b, sub in checked.groupby(block_key, sort=False) for k in [_dose_keys(sub)]},
        dtype=np.int64,
    ).reindex(order)
    parts = []
    for m in methods:
        if m in ("loewe", "zip") and "conc_3" in data.columns:
            three = data.groupby(block_key, sort=False)["conc_3"].transform("max") > 0
            two = data[~three]
        else:
            two = data
        if two.empty:  # every block has three drugs: Loewe/ZIP are not defined for them
            parts.append(pd.DataFrame(np.nan, index=pd.Index(order, name=block_key), columns=[m, f"{m}_max", f"{m}_pvalue"]))
            continue
        tab = synergy(two, method=m, response_scale=response_scale, block_key=block_key, curve_fits=curve_fits)
        full = tab.groupby(block_key, sort=False)["n_drugs"].transform("max")
        combo = tab[tab["n_drugs"] == full]
        agg = combo.groupby(block_key, sort=False)["synergy"].agg(["mean", "max", "std", "size"])
        # SynergyFinder's p-value for a block without replicates: z = |mean| / sd over the
        # combination wells, p = exp(-0.717 z - 0.416 z^2)
        z = agg["mean"].abs() / agg["std"].where(agg["std"] > 0)
        agg["p"] = np.exp(-0.717 * z - 0.416 * z**2)
        agg = agg.drop(columns="std")
        parts.append(agg.drop(columns="size").rename(columns={"mean": m, "max": f"{m}_max", "p": f"{m}_pvalue"}))
    parts = [p.reindex(order) for p in parts]
    out = pd.concat(parts, axis=1)
    out.index.name = block_key
    out.insert(0, "n_combinations", n_comb.to_numpy())
    if meta is not None:
        out = meta.join(out, how="right")
    return out.reset_index()
