"""Perturb-Map's question: which knockout clones change the cells around them?"""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy.spatial import cKDTree
from scipy.stats import fisher_exact

from ..._validate import check_group, check_obs
from ...metrics import bh_adjust
from ...pp._spatial_neighbors import check_coordinates

__all__ = ["clone_level_test", "clone_neighbourhood"]


def clone_neighbourhood(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "NT",
    clone_key: str | None = "clone",
    cell_type_key: str = "cell_type",
    unperturbed: str = "control",
    exclude_types: tuple[str, ...] | list[str] = (),
    radius: float = 20.0,
    spatial_key: str = "spatial",
) -> pd.DataFrame:
    """Does a knockout change the composition of its clones' neighbourhood? (Perturb-Map)

    For each perturbation, the **neighbourhood** is every cell within ``radius`` of a cell
    carrying it, the perturbed cells themselves excluded: the stroma and immune cells that
    live in and around its clones. Its cell-type composition is compared with that of the
    control perturbation's neighbourhood (``control``, e.g. non-targeting guides, which went
    through the same clonal expansion): per cell type a 2 x 2 Fisher test (type vs other,
    perturbation vs control), Benjamini-Hochberg across all tests. Cells of one neighbourhood
    are not independent, so with ``clone_key`` each clone is also scored on its own and
    ``n_clones_same_sign`` counts the clones whose fraction moves in the direction of the
    pooled effect: the clone, not the cell, is the replicate.

    Parameters
    ----------
    adata
        Cells with coordinates, a perturbation label and a cell type.
    groupby
        ``obs`` column naming each cell's perturbation (unperturbed cells: anything else
        than the tested labels, e.g. ``"control"``).
    control
        The control perturbation (its clones are the reference).
    clone_key
        ``obs`` column of clone ids (``"none"`` or NaN outside clones), or ``None``.
    cell_type_key
        ``obs`` column of cell types.
    unperturbed
        Label of cells without a perturbation (never tested).
    exclude_types
        Cell types left out of the composition (e.g. the tumour cells themselves, to look
        at the microenvironment only).
    radius
        Neighbourhood radius (coordinate units).
    spatial_key
        Key of the coordinates in ``obsm``.

    Returns
    -------
    DataFrame
        One row per perturbation x cell type: ``perturbation``, ``cell_type``, ``n``
        (cells of that type in the neighbourhood), ``fraction``, ``fraction_control``,
        ``log2_ratio`` (of the fractions, pseudocount 0.5 cells), ``odds_ratio``, ``pvalue``,
        ``padj`` (BH), and with ``clone_key`` ``n_clones``, ``n_clones_same_sign``; sorted by
        ``pvalue``. ``adata`` is not modified.

    Raises
    ------
    KeyError, ValueError
        Missing columns or coordinates; ``control`` not present.

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(1200, seed=0)
    >>> res = pk.tl.clone_neighbourhood(tissue, control="NT", exclude_types=["Tumor"])
    >>> r = res.set_index(["perturbation", "cell_type"])
    >>> bool(r.loc[("JAK1", "Macrophage"), "log2_ratio"] > 0.5 and r.loc[("JAK1", "Macrophage"), "pvalue"] < 0.05)
    True
    """
    xy = check_coordinates(adata, spatial_key)
    check_obs(adata, groupby, cell_type_key)
    check_group(adata, groupby, control, role="control perturbation")
    if clone_key is not None:
        if clone_key not in adata.obs.columns:
            raise KeyError(f"adata.obs has no column {clone_key!r}; available columns: {list(adata.obs.columns)}")
    pert = adata.obs[groupby].astype(str).to_numpy()
    types = adata.obs[cell_type_key].astype(str).to_numpy()
    clones = adata.obs[clone_key].astype(str).to_numpy() if clone_key is not None else None
    tree = cKDTree(xy)
    categories = sorted(set(types))
    # perturbations with clones: every label carried by cells inside a clone, or else all but the majority
    if clones is not None:
        tested = sorted({p for p, c in zip(pert, clones, strict=True) if c not in ("none", "nan")} - {control, unperturbed})
    else:
        tested = sorted(set(pert) - {control, unperturbed})
    keep = ~np.isin(types, list(exclude_types))
    categories = [c for c in categories if c not in set(exclude_types)]

    def _hood(mask: np.ndarray) -> np.ndarray:
        near = np.zeros(len(pert), dtype=bool)
        for idx in tree.query_ball_point(xy[mask], radius):
            near[idx] = True
        return near & ~mask & keep

    def _composition(hood: np.ndarray) -> pd.Series:
        return pd.Series(types[hood]).value_counts().reindex(categories, fill_value=0)

    ref_mask = pert == control
    ref = _composition(_hood(ref_mask))
    ref_clones = sorted({c for c in clones[ref_mask]}) if clones is not None else []
    ref_frac_by_clone = {c: _composition(_hood(ref_mask & (clones == c))) for c in ref_clones}
    rows = []
    for p in tested:
        mask = pert == p
        comp = _composition(_hood(mask))
        for ct in categories:
            a, b = int(comp[ct]), int(comp.sum() - comp[ct])
            c, d = int(ref[ct]), int(ref.sum() - ref[ct])
            odds, pval = fisher_exact([[a, b], [c, d]])
            frac, frac_ref = a / max(a + b, 1), c / max(c + d, 1)
            row = {
                "perturbation": p, "cell_type": ct, "n": a, "fraction": frac, "fraction_control": frac_ref,
                "log2_ratio": np.log2((a + 0.5) / (a + b + 0.5)) - np.log2((c + 0.5) / (c + d + 0.5)),
                "odds_ratio": odds, "pvalue": pval,
            }
            if clones is not None:
                own = sorted({cl for cl in clones[mask]})
                ref_mean = np.mean([v[ct] / max(v.sum(), 1) for v in ref_frac_by_clone.values()]) if ref_frac_by_clone else frac_ref
                signs = []
                for cl in own:
                    comp_cl = _composition(_hood(mask & (clones == cl)))
                    signs.append(np.sign(comp_cl[ct] / max(comp_cl.sum(), 1) - ref_mean))
                row["n_clones"] = len(own)
                row["n_clones_same_sign"] = int(sum(s == np.sign(row["log2_ratio"]) for s in signs))
            rows.append(row)
    if not rows:
        raise ValueError(f"no perturbation other than the control {control!r} found in adata.obs[{groupby!r}]")
    out = pd.DataFrame(rows)
    out["padj"] = bh_adjust(out["pvalue"].to_numpy())
    return out.sort_values(["pvalue", "log2_ratio"], ignore_index=True)


def _clone_fractions(
    xy: np.ndarray, types: np.ndarray, units: np.ndarray, carriers: np.ndarray, keep: np.ndarray,
    categories: list[str], radius: float,
) -> pd.DataFrame:
    """Per unit: cell-type fractions of the cells within ``radius`` of its carrier cells."""
    tree = cKDTree(xy)
    rows = {}
    for unit in sorted(set(units[carriers])):
        mask = carriers & (units == unit)
        near = np.zeros(len(types), dtype=bool)
        for idx in tree.query_ball_point(xy[mask], radius):
            near[idx] = True
        near &= ~mask & keep
        counts = pd.Series(types[near]).value_counts().reindex(categories, fill_value=0)
        rows[unit] = counts / max(int(counts.sum()), 1)
        rows[unit]["n_cells"] = int(counts.sum())
    return pd.DataFrame(rows).T


def _perm_pvalue(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n_perms: int) -> float:
    """Two-sided permutation p-value of the difference in means, clones as the units: exact
    (every split) when there are at most ``n_perms`` splits, else ``n_perms`` random ones
    (counting the observed split, so p >= 1 / (n_perms + 1))."""
    from itertools import combinations
    from math import comb

    pooled = np.concatenate([x, y])
    obs = abs(x.mean() - y.mean())
    n, k = len(pooled), len(x)
    total = pooled.sum()
    if comb(n, k) <= n_perms:
        stats = np.array([abs(pooled[list(c)].sum() / k - (total - pooled[list(c)].sum()) / (n - k))
                          for c in combinations(range(n), k)])
        return float(np.mean(stats >= obs - 1e-12))
    stats = np.empty(n_perms)
    for i in range(n_perms):
        pick = rng.permutation(n)[:k]
        stats[i] = abs(pooled[pick].sum() / k - (total - pooled[pick].sum()) / (n - k))
    return float((1 + np.sum(stats >= obs - 1e-12)) / (n_perms + 1))


def clone_level_test(
    adata: AnnData,
    *,
    groupby: str = "perturbation",
    control: str = "NT",
    clone_key: str = "clone",
    cell_type_key: str = "cell_type",
    unperturbed: str = "control",
    exclude_types: tuple[str, ...] | list[str] = (),
    radius: float = 20.0,
    n_perms: int = 2000,
    spatial_key: str = "spatial",
    seed: int = 0,
) -> pd.DataFrame:
    """Perturb-Map's question with the clone as the replicate: a clone-level permutation test.

    :func:`clone_neighbourhood`'s Fisher tests count cells, but cells around one clone share
    its position, its size and its history: they are not independent, and the test is too
    confident. Here each **clone** (or any unit in ``clone_key``, e.g. tissue sections) is
    one observation: its neighbourhood composition (fractions of each cell type among the
    cells within ``radius`` of its perturbed cells), compared between the perturbation's
    clones and the control's by the difference of the mean fractions, with a two-sided
    permutation test of the clone labels (exact when the splits are few). With ``k``
    clones against ``m`` control clones the smallest possible p-value is
    ``1 / C(k + m, k)`` (two clones each: 1/6): the test says how much replication there
    is, which the cell-level p-value hides.

    Parameters
    ----------
    adata
        Cells with coordinates, a perturbation label, a cell type and a clone id.
    groupby
        ``obs`` column naming each cell's perturbation.
    control
        The control perturbation (its clones are the reference).
    clone_key
        ``obs`` column of clone (or section) ids: the units.
    cell_type_key
        ``obs`` column of cell types.
    unperturbed
        Label of cells without a perturbation (never tested).
    exclude_types
        Cell types left out of the composition (e.g. the tumour cells themselves).
    radius
        Neighbourhood radius (coordinate units).
    n_perms
        Largest number of splits enumerated exactly, and the number of random splits beyond.
    spatial_key
        Key of the coordinates in ``obsm``.
    seed
        Seeds the random splits.

    Returns
    -------
    DataFrame
        One row per perturbation x cell type: ``perturbation``, ``cell_type``, ``n_clones``,
        ``n_clones_control``, ``mean_fraction``, ``mean_fraction_control``, ``delta``
        (difference of the mean clone fractions), ``pvalue`` (permutation, clones as units),
        ``min_pvalue`` (the smallest p-value the clone numbers allow), ``padj`` (BH); sorted
        by ``pvalue``. ``adata`` is not modified.

    Raises
    ------
    KeyError, ValueError
        Missing columns or coordinates; ``control`` not present; a perturbation or the
        control with fewer than 2 clones (a one-clone comparison has no replicate).

    Examples
    --------
    >>> import perturbkit as pk
    >>> tissue = pk.data.simulate_tissue(1200, seed=0)
    >>> res = pk.tl.clone_level_test(tissue, control="NT", exclude_types=["Tumor"])
    >>> r = res.set_index(["perturbation", "cell_type"])
    >>> float(r.loc[("JAK1", "Macrophage"), "min_pvalue"])  # two clones against two: 2 / 6
    0.3333
    """
    from math import comb

    xy = check_coordinates(adata, spatial_key)
    check_obs(adata, groupby, cell_type_key, clone_key)
    check_group(adata, groupby, control, role="control perturbation")
    pert = adata.obs[groupby].astype(str).to_numpy()
    types = adata.obs[cell_type_key].astype(str).to_numpy()
    units = adata.obs[clone_key].astype(str).to_numpy()
    keep = ~np.isin(types, list(exclude_types))
    categories = [c for c in sorted(set(types)) if c not in set(exclude_types)]
    in_unit = ~np.isin(units, ["none", "nan"])
    tested = sorted(set(pert[in_unit]) - {control, unperturbed})
    if not tested:
        raise ValueError(f"no perturbation other than the control {control!r} has cells in adata.obs[{clone_key!r}]")
    rng = np.random.default_rng(seed)
    ref = _clone_fractions(xy, types, units, (pert == control) & in_unit, keep, categories, radius)
    rows = []
    for p in tested:
        own = _clone_fractions(xy, types, units, (pert == p) & in_unit, keep, categories, radius)
        for label, frame in ((p, own), (control, ref)):
            if len(frame) < 2:
                raise ValueError(f"{label!r} has {len(frame)} clone(s) in adata.obs[{clone_key!r}]: a clone-level "
                                 "test needs at least 2 per arm")
        splits = comb(len(own) + len(ref), len(own))
        # equal arms: the mirror split gives the same |difference|, so the floor doubles
        min_p = (2 if len(own) == len(ref) else 1) / splits if splits <= n_perms else 1 / (n_perms + 1)
        for ct in categories:
            x, y = own[ct].to_numpy(dtype=float), ref[ct].to_numpy(dtype=float)
            rows.append({"perturbation": p, "cell_type": ct, "n_clones": len(own), "n_clones_control": len(ref),
                         "mean_fraction": x.mean(), "mean_fraction_control": y.mean(), "delta": x.mean() - y.mean(),
                         "pvalue": _perm_pvalue(x, y, rng, n_perms), "min_pvalue": round(min_p, 4)})
    out = pd.DataFrame(rows)
    out["padj"] = bh_adjust(out["pvalue"].to_numpy())
    return out.sort_values(["pvalue", "delta"], ignore_index=True)
