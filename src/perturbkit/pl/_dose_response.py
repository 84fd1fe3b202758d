"""Plots of dose-response fits: data, fitted curves and confidence bands on a log dose axis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from anndata import AnnData

from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["dose_curves", "feature_curves"]


@fill_doc
def dose_curves(
    fits: Any,
    *,
    ax: Any = None,
    dose_unit: str = "uM",
    response_label: str = "response",
    title: str | None = None,
    band: bool = True,
    mark_ed: float | None = 50,
    level: float = 0.95,
    reference: float | None = None,
) -> Any:
    """Plot one or several fitted curves with their data on a log dose axis.

    Dose 0 (the control) cannot sit on a log axis; it is drawn one decade below the
    lowest positive dose, on a tick labelled ``0``.

    Parameters
    ----------
    fits
        A :class:`perturbkit.dose.DoseResponseFit` or a dict label -> fit (e.g. one
        :func:`perturbkit.dose.fit_best` per drug). Fits that did not converge are drawn as data
        only, labelled "not converged".
    {ax}
    dose_unit, response_label, title
        Axis labels and title.
    band
        Draw the pointwise delta-method confidence band of the fitted mean.
    mark_ed
        Mark ED(p) with its interval on each curve (``None`` for no mark).
    level
        Confidence level of band and interval.
    reference
        Response level drawn as a dashed grey line (e.g. 0.5 for an absolute IC50), or ``None``.

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> d = pk.data.simulate_dose_table(seed=0)
    >>> ax = pk.pl.dose_curves(pk.dose.fit_curve(d["dose"], d["response"]))
    """
    import matplotlib.pyplot as plt

    if not isinstance(fits, Mapping):
        fits = {fits.model.name: fits}
    if ax is None:
        _, ax = plt.subplots()
    pos = np.concatenate([f.dose[f.dose > 0] for f in fits.values() if f is not None])
    lo, hi = pos.min(), pos.max()
    zero_at = lo / 10.0
    grid = np.logspace(np.log10(lo) - 0.5, np.log10(hi) + 0.3, 200)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, fit) in enumerate(fits.items()):
        if fit is None:
            continue
        col = colors[i % len(colors)]
        shown = np.where(fit.dose > 0, fit.dose, zero_at)
        name = f"{label} ({fit.model.name})" if fit.converged else f"{label} (not converged)"
        ax.scatter(shown, fit.response, s=14, color=col, alpha=0.7, label=name)
        if not fit.converged:
            continue
        ax.plot(grid, fit.predict(grid), color=col, lw=1.8)
        if band:
            q = fit._quantile(level)
            se = np.array([fit._delta(lambda t, g=g, m=fit.model: float(m(np.array([g]), t)[0]))[1] for g in grid[::5]])
            mean = fit.predict(grid[::5])
            ax.fill_between(grid[::5], mean - q * se, mean + q * se, color=col, alpha=0.15, lw=0)
        if mark_ed is not None:
            ed = fit.ed(mark_ed, level=level, interval="log-delta").iloc[0]
            if np.isfinite(ed["estimate"]):
                yv = float(fit.predict([ed["estimate"]])[0])
                ax.errorbar([ed["estimate"]], [yv], xerr=[[ed["estimate"] - ed["lower"]], [ed["upper"] - ed["estimate"]]],
                            fmt="D", color=col, ms=5, capsize=3, mec="black", mew=0.5)
    ax.set_xscale("log")
    ticks = [t for t in ax.get_xticks() if lo / 1.5 <= t <= hi * 3]
    ax.set_xticks([zero_at, *ticks])
    ax.set_xticklabels(["0"] + [f"{t:g}" for t in ticks])
    ax.axvline(np.sqrt(zero_at * lo), color="grey", lw=0.6, ls=":")
    ax.set_xlim(zero_at / 2, grid.max())
    if reference is not None:
        ax.axhline(reference, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(f"dose ({dose_unit}, log scale; control at 0)")
    ax.set_ylabel(response_label)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, frameon=False)
    return ax


@fill_doc
def feature_curves(
    adata: AnnData,
    table: pd.DataFrame,
    *,
    group: str,
    features: str | Sequence[str],
    dose_key: str = "dose",
    groupby: str = "perturbation",
    control: str = "control",
    layer: str | None = None,
    obsm_key: str | None = None,
    ax: Any = None,
    dose_unit: str = "uM",
    response_label: str = "expression (log2)",
    title: str | None = None,
    mark_bmd: bool = True,
) -> Any:
    """Plot the wells and fitted curves of a few features of one perturbation, as fitted by
    :func:`perturbkit.tl.dose_response` (which must run first; pass its table).

    Each feature is shown relative to its control mean, so several fit on one axis; the
    BMD is marked with its BMDL-BMDU bar where it exists. Curves that did not converge are
    drawn as points only and labelled so.

    Parameters
    ----------
    adata
        The AnnData that was fitted.
    table
        Output of :func:`perturbkit.tl.dose_response`.
    group
        Perturbation to show.
    features
        Feature name(s).
    dose_key, groupby, control, layer, obsm_key
        As passed to :func:`perturbkit.tl.dose_response`.
    {ax}
    dose_unit, response_label, title
        Labels.
    mark_bmd
        Mark each BMD with its BMDL-BMDU bar.

    {returns_axes}

    Examples
    --------
    >>> import scanpy as sc, perturbkit as pk
    >>> sim = pk.data.simulate_dose_response(n_genes=30, seed=0)
    >>> pb = pk.get.pseudobulk(sim, sample_key="well", cell_type_key="cell_type")
    >>> sc.pp.normalize_total(pb, target_sum=1e4); sc.pp.log1p(pb)
    >>> sub = pb[pb.obs["cell_type"] == "type2"].copy()
    >>> ax = pk.pl.feature_curves(sub, pk.tl.dose_response(sub), group="drugA", features=["g000"])
    """
    import matplotlib.pyplot as plt

    from .._validate import as_dense, check_group
    from ..dose import get_model

    if ax is None:
        _, ax = plt.subplots()
    features = [features] if isinstance(features, str) else list(features)
    rows = table[(table["group"] == group) & table["feature"].isin(features)].set_index("feature")
    missing = [f for f in features if f not in rows.index]
    if missing:
        raise KeyError(f"table has no curve for group {group!r} and features {missing}; run pk.tl.dose_response first")
    check_group(adata, groupby, control, role="control")
    check_group(adata, groupby, group, role="group")
    labels = adata.obs[groupby].astype(str).to_numpy()
    keep = (labels == str(group)) | (labels == str(control))
    dose = adata.obs[dose_key].to_numpy(float)[keep]
    if obsm_key is not None:
        block = adata.obsm[obsm_key]
        values = block.loc[adata.obs_names[keep], features].to_numpy(float)
    else:
        mat = as_dense(adata.layers[layer] if layer is not None else adata.X)
        values = mat[np.ix_(keep, [adata.var_names.get_loc(f) for f in features])]
    pos = dose[dose > 0]
    lo, hi = pos.min(), pos.max()
    zero_at = lo / 10.0
    grid = np.logspace(np.log10(lo) - 0.3, np.log10(hi) + 0.2, 200)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if "model" not in table.columns:
        raise KeyError("table has no 'model' column; pass the table pk.tl.dose_response returns")
    model = get_model(str(table["model"].iloc[0]))
    for i, f in enumerate(features):
        col = colors[i % len(colors)]
        row = rows.loc[f]
        base = float(row["control_mean"])
        shown = np.where(dose > 0, dose, zero_at)
        label = f if row["converged"] else f"{f} (not converged)"
        ax.scatter(shown, values[:, i] - base, s=12, color=col, alpha=0.7, label=label)
        if not row["converged"]:
            continue
        theta = row[list(model.free)].to_numpy(float)
        ax.plot(grid, model(grid, theta) - base, color=col, lw=1.6)
        if mark_bmd and np.isfinite(row["bmd"]):
            yv = float(model(np.array([row["bmd"]]), theta)[0]) - base
            ax.errorbar([row["bmd"]], [yv], xerr=[[row["bmd"] - row["bmdl"]], [row["bmdu"] - row["bmd"]]],
                        fmt="s", color=col, ms=5, capsize=3, mec="black", mew=0.5)
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xscale("log")
    ticks = [t for t in ax.get_xticks() if lo / 1.5 <= t <= hi * 3]
    ax.set_xticks([zero_at, *ticks])
    ax.set_xticklabels(["0"] + [f"{t:g}" for t in ticks])
    ax.set_xlim(zero_at / 2, grid.max())
    ax.set_xlabel(f"dose ({dose_unit}, log scale; control at 0)")
    ax.set_ylabel(f"{response_label}, relative to control")
    ax.set_title(title or f"{group}: fitted dose-response (squares: BMD, BMDL-BMDU)")
    ax.legend(fontsize=8, frameon=False)
    return ax


@fill_doc
def potency_ranking(
    potency: pd.DataFrame,
    *,
    n_top: int = 20,
    highlight: Sequence[str] = (),
    highlight_label: str = "highlighted",
    dose_unit: str = "uM",
    ax: Axes | None = None,
    title: str = "Most potent compounds (transcriptional point of departure)",
) -> Axes:
    """Horizontal bars of the compounds' tPOD (log scale), most potent on top, each labelled
    with its number of responsive genes: the twin of :func:`perturbkit.tl.dose_potency`.

    Parameters
    ----------
    potency
        ``pk.tl.dose_potency(curves)`` (index: compound; ``tpod``, ``n_responsive``).
    n_top
        Compounds shown (those with a tPOD, in the table's order: most potent first).
    highlight, highlight_label
        Compounds drawn in red, and what they are (for the title).
    dose_unit
        Unit of the doses, for the axis label.
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> pot = pd.DataFrame({"tpod": [0.1, 1.0, None], "n_responsive": [40, 25, 3]}, index=["a", "b", "c"])
    >>> ax = pk.pl.potency_ranking(pot, highlight=["a"])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['b', 'a']
    """
    import matplotlib.pyplot as plt

    for col in ("tpod", "n_responsive"):
        if col not in potency.columns:
            raise KeyError(f"potency has no column {col!r}; pass pk.tl.dose_potency(curves)")
    if n_top < 1:
        raise ValueError(f"n_top must be >= 1, got {n_top}")
    ranked = potency.dropna(subset=["tpod"]).head(n_top).iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.22 * max(len(ranked), 5) + 1.0))
    marked = set(highlight)
    colours = ["#d62728" if str(g) in marked else "#7f7f7f" for g in ranked.index]
    ax.barh([str(g) for g in ranked.index], ranked["tpod"], color=colours)
    for i, (t, n) in enumerate(zip(ranked["tpod"], ranked["n_responsive"], strict=True)):
        ax.text(t, i, f"  {int(n)} genes", va="center", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel(f"transcriptional point of departure ({dose_unit}, log scale)")
    ax.set_ylabel("compound")
    ax.set_title(title + (f" (red: {highlight_label})" if marked else ""))
    return ax
