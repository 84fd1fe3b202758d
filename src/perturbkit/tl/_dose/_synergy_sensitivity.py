"""How much curve-based synergy scores (Loewe, ZIP) depend on how the single drugs are fitted."""

from __future__ import annotations

import pandas as pd

from ._synergy import synergy_scores
from ._synergy_blocks import _mean_surface, check_blocks
from ._synergy_curves import _singles, fit_single_drug, flat_curve

__all__ = ["FIT_VARIANTS", "synergy_sensitivity"]


#: Alternative single-drug models for :func:`synergy_sensitivity`: name -> drc ``fixed``.
FIT_VARIANTS: dict[str, dict[str, float] | None] = {
    "LL.4 free": None,
    "LL.4, c = 0": {"c": 0.0},
    "LL.4, c = 0, d = 100": {"c": 0.0, "d": 100.0},
}


def synergy_sensitivity(
    data: pd.DataFrame,
    *,
    methods: tuple[str, ...] = ("loewe", "zip"),
    variants: dict[str, dict[str, float] | None] | None = None,
    block_key: str = "block_id",
) -> pd.DataFrame:
    """How much Loewe and ZIP block scores move when the single-drug curves are fitted
    differently (free four-parameter fit, bottom fixed at 0, bottom and top fixed at 0 and 100).

    Parameters
    ----------
    data
        Tidy combination table (two-drug blocks are scored; three-drug blocks are skipped).
    methods
        Curve-based methods to score.
    variants
        Name -> drc ``fixed`` dict for the single-drug fits (default :data:`FIT_VARIANTS`).
    block_key
        Column naming the blocks.

    Returns
    -------
    pandas.DataFrame
        One row per block and variant: ``block_id``, ``variant``, one column per method
        (block score, % inhibition points) and ``fit_ok`` (both single-drug fits
        converged under that variant; otherwise the drug is treated as flat).

    Examples
    --------
    >>> import perturbkit as pk
    >>> sens = pk.tl.synergy_sensitivity(pk.data.simulate_combination(("synergistic",), seed=0))
    >>> sens["variant"].tolist()
    ['LL.4 free', 'LL.4, c = 0', 'LL.4, c = 0, d = 100']
    """
    variants = FIT_VARIANTS if variants is None else variants
    checked = check_blocks(data, block_key=block_key)
    two = checked.groupby(block_key, sort=False)["conc_3"].transform("max") == 0 if "conc_3" in checked else None
    if two is not None:
        checked = checked[two]
    rows = []
    for name, fixed in variants.items():
        fits, ok = {}, {}
        for block, sub in checked.groupby(block_key, sort=False):
            row, col = _singles(_mean_surface(sub, ("conc_row", "conc_col")))
            pair = []
            for s in (row, col):
                # fixed={} asks for exactly the free LL.4 fit, with no fallbacks
                f = fit_single_drug(s.index.to_numpy(), s.to_numpy(), fixed=fixed if fixed is not None else {})
                if f is None:
                    f = flat_curve(s, "flat")
                pair.append(f)
            fits[block] = tuple(pair)
            ok[block] = all(p.source != "flat" for p in pair)
        scores = synergy_scores(checked, methods=methods, block_key=block_key, curve_fits=fits)
        for _, r in scores.iterrows():
            rows.append({block_key: r[block_key], "variant": name, **{m: r[m] for m in methods},
                         "fit_ok": ok[r[block_key]]})
    return pd.DataFrame(rows)
