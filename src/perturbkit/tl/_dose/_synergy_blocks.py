"""Tidy drug-combination blocks: the checks and dose-response surfaces that every synergy
reference model (:mod:`._synergy`) and the single-drug curve fits (:mod:`._synergy_curves`)
start from."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_blocks"]

_REQUIRED = ("block_id", "conc_row", "conc_col", "response")


def check_blocks(
    data: pd.DataFrame, *, response_scale: str = "percent", block_key: str = "block_id"
) -> pd.DataFrame:
    """Validate a tidy combination table and return it with responses in % inhibition.

    Raises ``KeyError`` for a missing column and ``ValueError`` for non-finite or negative
    doses, responses off the stated scale (``"percent"``: within [-200, 200] and not all
    within [-1.5, 1.5], which would be fractions; ``"fraction"``: within [-2, 2]), or a
    block whose dose grid is incomplete (every row dose must meet every column dose,
    including the zero-dose row and column that hold the single drugs), and, when a
    ``replicate`` column is present, for two rows with the same block, doses and replicate
    (averaging them silently would weight that well twice; without a ``replicate`` column,
    rows at the same doses are the replicates and are averaged).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    required = (block_key,) + _REQUIRED[1:]
    missing = [c for c in required if c not in data.columns]
    if missing:
        raise KeyError(f"combination table has no column {missing}; columns: {list(data.columns)}")
    out = data.copy()
    for col in ("conc_row", "conc_col", "response") + (("conc_3",) if "conc_3" in out else ()):
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"column {col!r} has {int((~np.isfinite(values)).sum())} missing or non-finite value(s)")
        if col != "response" and (values < 0).any():
            raise ValueError(f"column {col!r} has negative doses (min {values.min()})")
        out[col] = values
    y = out["response"].to_numpy()
    if response_scale == "fraction":
        if np.abs(y).max() > 2:
            raise ValueError(
                f"response_scale='fraction' but responses reach {np.abs(y).max():.3g}; "
                "pass response_scale='percent' for % inhibition"
            )
        out["response"] = 100.0 * y
    elif response_scale == "percent":
        if np.abs(y).max() > 200:
            raise ValueError(
                f"responses must be % inhibition within [-200, 200]; found {y.min():.3g} .. {y.max():.3g}"
            )
        if len(y) > 4 and np.abs(y).max() <= 1.5:
            raise ValueError(
                "all responses lie within [-1.5, 1.5]: they look like fractions, not percent; "
                "pass response_scale='fraction' or multiply by 100"
            )
    else:
        raise ValueError(f"response_scale must be 'percent' or 'fraction', got {response_scale!r}")
    if "replicate" in out.columns:
        _check_duplicates(out, block_key)
    for block, sub in out.groupby(block_key, sort=False):
        keys = _dose_keys(sub)
        grid = sub.groupby(list(keys)).size()
        levels = [np.unique(sub[k]) for k in keys]
        expected = int(np.prod([len(v) for v in levels]))
        if len(grid) != expected:
            present = set(grid.index)
            full = pd.MultiIndex.from_product(levels) if len(keys) > 1 else levels[0]
            absent = [t for t in full if t not in present][:3]
            raise ValueError(
                f"block {block!r}: dose grid is incomplete ({len(grid)} of {expected} dose "
                f"combinations present; missing e.g. {absent}); synergy needs a full grid"
            )
        for k, lv in zip(keys, levels, strict=True):
            if lv[0] != 0:
                raise ValueError(f"block {block!r}: no zero dose in {k!r}, so the single-drug responses are missing")
            if len(lv) < 2:
                raise ValueError(f"block {block!r}: {k!r} has only the zero dose")
    return out


def _check_duplicates(out: pd.DataFrame, block_key: str) -> None:
    doses = ["conc_row", "conc_col"] + (["conc_3"] if "conc_3" in out.columns else [])
    dup = out.duplicated([block_key, *doses, "replicate"], keep=False)
    if dup.any():
        first = out.loc[dup, [block_key, *doses, "replicate"]].drop_duplicates()
        block = first[block_key].iloc[0]
        examples = ", ".join(
            "(" + ", ".join(f"{d}={r[d]:g}" for d in doses) + f", replicate={r['replicate']})"
            for _, r in first[first[block_key] == block].head(3).iterrows()
        )
        raise ValueError(
            f"block {block!r}: {int(dup.sum())} rows share their doses and replicate with another row "
            f"({len(first)} duplicated wells, e.g. {examples}); give each measurement its own "
            "'replicate' number or drop the duplicates, since averaging them would weight those wells twice"
        )


def _dose_keys(sub: pd.DataFrame) -> tuple[str, ...]:
    if "conc_3" in sub and (sub["conc_3"] > 0).any():
        return ("conc_row", "conc_col", "conc_3")
    return ("conc_row", "conc_col")


def _mean_surface(sub: pd.DataFrame, keys: tuple[str, ...]) -> pd.Series:
    """Mean response over replicates, indexed by the dose tuple (sorted)."""
    return sub.groupby(list(keys))["response"].mean().sort_index()
