"""Plots of per-cell drug-response scores: the Beyondcell UMAP and gene attributions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from anndata import AnnData

from ._axes import new_axes
from ._distributions import boxplot
from ._docs import fill_doc

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@fill_doc
def beyondcell_umap(
    adata: AnnData,
    color: str,
    *,
    key: str = "beyondcell",
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """UMAP of the Beyondcell score matrix, coloured by one drug's scaled score or an ``obs`` column.

    A drug is drawn on the scaled BCS ([0, 1]) with a diverging map centred on the drug's
    switch point, so red cells are predicted sensitive and blue ones insensitive; an
    ``obs`` column (e.g. the therapeutic clusters) is drawn as categories.

    Parameters
    ----------
    adata
        AnnData annotated by :func:`perturbkit.tl.beyondcell_scores` and
        :func:`perturbkit.tl.beyondcell_clusters`.
    color
        A drug (column of ``obsm[key]``) or an ``obs`` column.
    key
        The ``key_added`` of the Beyondcell calls.
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(n_cells=300, seed=0)
    >>> cells = sim["cells"]
    >>> cells.X = cells.X.clip(0)
    >>> pk.tl.beyondcell_scores(cells, pk.tl.drug_response_signatures(sim["ic50"], sim["expression"]))
    >>> pk.tl.beyondcell_clusters(cells)
    >>> ax = pk.pl.beyondcell_umap(cells, "drug1")
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    umap_key = f"X_{key}_umap"
    if umap_key not in adata.obsm:
        raise KeyError(f"adata.obsm has no {umap_key!r}: run pk.tl.beyondcell_clusters(adata, key={key!r}) first")
    scaled_key = f"{key}_scaled"
    xy = np.asarray(adata.obsm[umap_key])
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 4.2))
    drugs = list(pd.DataFrame(adata.obsm[scaled_key]).columns) if scaled_key in adata.obsm else []
    if color in drugs:
        vals = pd.DataFrame(adata.obsm[scaled_key])[color].to_numpy(dtype=float)
        sp = float(adata.uns[key]["switch_point"][color])
        centre = min(max(sp, 1e-3), 1 - 1e-3)
        pts = ax.scatter(xy[:, 0], xy[:, 1], c=vals, s=6, cmap="RdBu_r",
                         norm=TwoSlopeNorm(vcenter=centre, vmin=0, vmax=1))
        ax.figure.colorbar(pts, ax=ax, label=f"scaled BCS of {color}\n(switch point {sp:.2f}; above = sensitive)")
        title = title or f"Beyondcell score: {color}"
    elif color in adata.obs.columns:
        cats = adata.obs[color].astype("category")
        for i, cat in enumerate(cats.cat.categories):
            sel = (cats == cat).to_numpy()
            ax.scatter(xy[sel, 0], xy[sel, 1], s=6, color=f"C{i % 10}", label=str(cat))
        ax.legend(title=color, fontsize=7, markerscale=2, frameon=False, loc="best")
        title = title or f"Beyondcell UMAP by {color}"
    else:
        raise KeyError(f"{color!r} is neither a drug of obsm[{scaled_key!r}] ({drugs[:10]}) nor an obs column")
    ax.set(xlabel="UMAP 1 (of the BCS matrix)", ylabel="UMAP 2 (of the BCS matrix)", title=title)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


@fill_doc
def gene_attributions(
    attributions: pd.Series,
    *,
    highlight: Sequence[str] = (),
    n_top: int = 20,
    highlight_label: str = "planted response gene",
    ax: Axes | None = None,
    title: str = "Genes the prediction rests on",
) -> Axes:
    """Bar chart of the genes with the largest attribution (e.g. integrated gradients).

    Parameters
    ----------
    attributions
        Gene -> attribution (mean |integrated gradient|), e.g. the ``attributions`` of
        :func:`perturbkit.tl.scdeal`.
    highlight
        Genes drawn in another colour (e.g. the planted response genes).
    n_top
        Genes shown.
    highlight_label
        Legend label of the highlighted genes.
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd
    >>> import perturbkit as pk
    >>> ax = pk.pl.gene_attributions(pd.Series({"g1": 0.5, "g2": 0.1}), highlight=["g1"])
    """
    import matplotlib.pyplot as plt

    if not isinstance(attributions, pd.Series):
        raise TypeError(f"attributions must be a pandas Series (gene -> value), got {type(attributions).__name__}")
    if n_top < 1:
        raise ValueError(f"n_top must be >= 1, got {n_top}")
    top = attributions.sort_values(ascending=False).head(n_top)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 0.22 * len(top) + 1.2))
    hl = set(map(str, highlight))
    colors = ["C3" if str(g) in hl else "C7" for g in top.index]
    ax.barh(range(len(top))[::-1], top.to_numpy(), color=colors)
    ax.set_yticks(range(len(top))[::-1], [str(g) for g in top.index], fontsize=7)
    if hl:
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color="C3", label=highlight_label), Patch(color="C7", label="other gene")],
                  fontsize=7, frameon=False, loc="lower right")
    ax.set(xlabel="mean |attribution| over cells", ylabel="gene", title=title)
    return ax


@fill_doc
def drug_scores_by_group(
    adata: AnnData,
    *,
    key: str,
    group_key: str,
    score_label: str = "drug-response score",
    ax: Axes | None = None,
    title: str = "Drug-response score per group",
) -> Axes:
    """Box plots of per-cell drug scores (``obsm[key]``, cells x drugs), one box per drug and group.

    Parameters
    ----------
    adata
        AnnData with a cells x drugs score table in ``obsm[key]``, e.g. from
        :func:`perturbkit.tl.scdr_scores` or :func:`perturbkit.tl.beyondcell_scores`.
    key
        The ``obsm`` key of the scores.
    group_key
        ``obs`` column of the groups (cell types, subpopulations, clusters).
    score_label
        y-axis label (what the score is, with its sign convention).
    {ax}
    {title}

    {returns_axes}

    Examples
    --------
    >>> import perturbkit as pk
    >>> sim = pk.data.simulate_tumour_subclones(n_cells=300, seed=0)
    >>> cells = sim["cells"]
    >>> pk.tl.scdr_scores(cells, pk.tl.drug_response_signatures(sim["ic50"], sim["expression"]))
    >>> ax = pk.pl.drug_scores_by_group(cells, key="scdr", group_key="subpopulation")
    """
    if key not in adata.obsm:
        raise KeyError(f"adata.obsm has no {key!r}: run the scoring call (e.g. pk.tl.scdr_scores) first")
    if group_key not in adata.obs.columns:
        raise KeyError(f"adata.obs has no column {group_key!r}")
    if adata.n_obs == 0:
        raise ValueError("adata has no cells: nothing to draw")
    scores = pd.DataFrame(adata.obsm[key])
    drugs = [str(d) for d in scores.columns]
    groups = adata.obs[group_key].astype("category")
    # one row per (cell, drug); the hue column keeps group_key's name so the legend is titled by it
    long = pd.DataFrame({"_drug": np.repeat([drugs], len(scores), axis=0).ravel(),
                         group_key: np.repeat(groups.to_numpy(), len(drugs)),
                         "_score": scores.to_numpy(dtype=float).ravel()})
    long[group_key] = pd.Categorical(long[group_key], categories=groups.cat.categories)
    n_groups = len(groups.cat.categories)
    return boxplot(long, "_score", group_key="_drug", order=drugs, hue=group_key, reference=0.0,
                   showfliers=False, xlabel="drug", ylabel=score_label, title=title,
                   ax=new_axes(ax, (1.2 + 0.6 * len(drugs) * n_groups / 2, 3.8)))
