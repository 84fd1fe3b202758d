"""Figures of the small tables a chapter assembles from several ``pk.tl`` results: bars,
curves and a signed heatmap (a scatter is :func:`perturbkit.pl.compare_values`), each with its axis labels and title required, so no
chapter figure goes out unlabelled and no chapter draws with raw matplotlib."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ._axes import new_axes as _axes
from ._docs import fill_doc

__all__ = ["table_bars", "table_heatmap", "table_lines"]


def _numeric(table: pd.DataFrame, what: str) -> pd.DataFrame:
    """``table`` as floats, or a TypeError naming the columns that are not numbers."""
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError(f"{what} must be a non-empty DataFrame")
    bad = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])
           or pd.api.types.is_bool_dtype(table[c])]
    if bad:
        raise TypeError(f"{what}: columns {bad} are not numeric")
    return table.astype(float)


def draw_bars(
    ax: Axes,
    values: pd.DataFrame,
    *,
    errors: pd.DataFrame | None = None,
    colors: Sequence[str] | None = None,
    row_colors: Sequence[str] | None = None,
    horizontal: bool = False,
    what: str = "table",
    warn_nan: bool = True,
) -> None:
    """Bars of a wide table on ``ax``: rows along the category axis, columns side by side
    (one legend entry each), or one colour per row (``row_colors``, one column only). A NaN
    value draws no bar, and says so in a warning naming the row and column, since a missing
    bar reads like a zero (``warn_nan=False``: the caller has said it already)."""
    values = _numeric(values, what)
    if colors is not None and len(colors) != values.shape[1]:
        raise ValueError(f"{len(colors)} colours for {values.shape[1]} columns {list(values.columns)}")
    if row_colors is not None and (values.shape[1] != 1 or len(row_colors) != len(values)):
        raise ValueError(f"row_colors needs one column and one colour per row; got {len(row_colors)} colours "
                         f"for {values.shape[0]} rows and {values.shape[1]} columns")
    missing = values.isna().stack()
    missing = missing[missing]
    if warn_nan and not missing.empty:
        cells = [f"{c} / {r}" for r, c in missing.index]
        warnings.warn(f"{what}: no bar drawn for NaN values of {cells[:8]}"
                      f"{' ...' if len(cells) > 8 else ''} (column / row)", UserWarning, stacklevel=3)
    width = 0.8 / values.shape[1]
    pos = np.arange(len(values))
    for i, col in enumerate(values.columns):
        offset = pos + (i - (values.shape[1] - 1) / 2) * width
        err = errors[col].to_numpy(float) if errors is not None and col in errors else None
        color = list(row_colors) if row_colors is not None else colors[i] if colors is not None else None
        if horizontal:
            ax.barh(offset, values[col], width, xerr=err, capsize=2, color=color, label=str(col))
        else:
            ax.bar(offset, values[col], width, yerr=err, capsize=2, color=color, label=str(col))
    names = [str(r) for r in values.index]
    if horizontal:
        ax.set_yticks(pos, names)
        ax.invert_yaxis()  # first row at the top, as the table reads
        ax.axvline(0, color="black", lw=0.6)
    else:
        ax.set_xticks(pos, names)
        ax.axhline(0, color="black", lw=0.6)


def _reference(ax: Axes, value: float | None, label: str | None, *, vertical: bool) -> None:
    """A dashed reference line (a nominal error rate, a baseline's score)."""
    if value is None:
        return
    line = ax.axvline if vertical else ax.axhline
    line(value, color="0.3", ls="--", lw=1, label=label)


@fill_doc
def table_bars(
    table: pd.DataFrame,
    *,
    value_label: str,
    title: str,
    group_label: str | None = None,
    errors: pd.DataFrame | pd.Series | None = None,
    colors: Sequence[str] | None = None,
    row_colors: Sequence[str] | None = None,
    reference: float | None = None,
    reference_label: str | None = None,
    limits: tuple[float, float] | None = None,
    horizontal: bool = False,
    rotation: float = 0,
    legend_title: str | None = None,
    legend_loc: str = "best",
    ax: Axes | None = None,
) -> Axes:
    """Grouped bars of a wide table: one group of bars per row, one bar (and legend entry)
    per column, e.g. a false-positive rate per target (rows) for a model and its baseline
    (columns), with optional error bars. A long table (one row per group, a value and an
    error column) is drawn as ``t.set_index(group)[[value]]`` with ``errors=t.set_index(group)[error]``;
    sort it first to order the bars (horizontal: first row at the top).

    Parameters
    ----------
    table
        Numeric values, rows = groups along the axis, columns = bars within a group. NaN
        draws no bar and raises a warning naming it.
    value_label
        Label of the value axis, with units.
    {title}
    group_label
        Label of the category axis (default the index name, else none).
    errors
        Error-bar half-widths (e.g. a standard deviation), matched to the rows by label: a
        table whose columns are (some of) ``table``'s, or, for a one-column ``table``, a
        Series. Columns without errors, and NaN errors, draw no error bar.
    colors
        One colour per column (default matplotlib's cycle).
    row_colors
        For a one-column table: one colour per row (say what they mean in the title).
    reference, reference_label
        A dashed line at this value (e.g. the nominal 0.05), with its legend label.
    limits
        Limits of the value axis.
    horizontal
        Horizontal bars, first row at the top.
    rotation
        Rotation of the category labels, in degrees.
    legend_title
        Title of the legend (default the columns' name).
    legend_loc
        Where the legend goes: matplotlib's ``loc``, or ``"outside"`` (right of the axes, for
        long labels); inside, the value axis gets 20 % headroom for it unless ``limits`` are given.
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> fpr = pd.DataFrame({"model": [0.05, 0.04], "naive": [0.05, 0.3]}, index=["T1", "KIN1"])
    >>> ax = pk.pl.table_bars(fpr, value_label="share of null peaks with p < 0.05",
    ...                       title="False positives", reference=0.05)
    >>> [round(float(p.get_height()), 2) for p in ax.patches]
    [0.05, 0.04, 0.05, 0.3]
    >>> aug = pd.DataFrame({"cell_type": ["B", "T"], "auc": [0.9, 0.6], "auc_sd": [0.02, 0.05]}).set_index("cell_type")
    >>> ax = pk.pl.table_bars(aug[["auc"]], errors=aug["auc_sd"], horizontal=True, reference=0.5,
    ...                       value_label="cross-validated AUC", title="Augur per cell type")
    >>> [t.get_text() for t in ax.get_yticklabels()], [float(p.get_width()) for p in ax.patches]
    (['B', 'T'], [0.9, 0.6])
    """
    values = _numeric(table, "table_bars")
    errs = _errors(errors, values, "table_bars")
    n_rows, n_cols = values.shape
    size = (6.5, max(2.5, 1.2 + 0.2 * n_rows * n_cols)) if horizontal else (max(6.5, 1.5 + 0.3 * n_rows * n_cols), 3.6)
    ax = _axes(ax, size)
    draw_bars(ax, values, errors=errs if errors is not None else None, colors=colors, row_colors=row_colors,
              horizontal=horizontal, what="table_bars")
    _reference(ax, reference, reference_label, vertical=horizontal)
    group_label = group_label if group_label is not None else (table.index.name or "")
    if horizontal:
        ax.set(xlabel=value_label, ylabel=group_label, title=title)
        if limits is not None:
            ax.set_xlim(*limits)
    else:
        ax.set(xlabel=group_label, ylabel=value_label, title=title)
        if limits is not None:
            ax.set_ylim(*limits)
    if rotation:
        ticks = ax.get_yticklabels() if horizontal else ax.get_xticklabels()
        for tick in ticks:
            tick.set(rotation=rotation, ha="right" if 0 < rotation < 90 and not horizontal else tick.get_ha())
    if n_cols > 1 or reference_label is not None:  # one column: its name is the value axis's label
        outside = legend_loc == "outside"
        if limits is None and not outside:
            ax.margins(**{"x" if horizontal else "y": 0.2})  # headroom: the legend sits above the bars
        ax.legend(title=legend_title if legend_title is not None else table.columns.name, frameon=False, fontsize=8,
                  ncol=1 if horizontal or outside else min(n_cols + (reference_label is not None), 4),
                  loc="center left" if outside else legend_loc, bbox_to_anchor=(1.01, 0.5) if outside else None)
    return ax


def _errors(errors: pd.DataFrame | pd.Series | None, values: pd.DataFrame, what: str) -> pd.DataFrame:
    """``errors`` as a table of half-widths on ``values``' index, rows matched by label (no
    columns when ``None``); NaN stays, drawn as no error bar (e.g. the SD of one replicate)."""
    if errors is None:
        return values.iloc[:, :0]
    if isinstance(errors, pd.Series):
        if values.shape[1] != 1:
            raise ValueError(f"{what}: a Series of errors needs a one-column table; the table has columns "
                             f"{list(values.columns)}: pass a table of errors with those columns")
        errors = errors.to_frame(values.columns[0])
    errors = _numeric(errors, f"{what} errors")
    unknown = [c for c in errors.columns if c not in values.columns]
    if unknown:
        raise KeyError(f"error columns {unknown} not in the table (columns: {list(values.columns)})")
    missing = [r for r in values.index if r not in errors.index]
    if missing or not errors.index.is_unique or len(errors) != len(values):
        raise ValueError(f"{what}: the errors' index {list(errors.index)} does not match the table's "
                         f"{list(values.index)} (no error for {missing})")
    if (errors < 0).any().any():
        raise ValueError(f"{what}: error-bar half-widths must be >= 0")
    return errors.reindex(values.index)


@fill_doc
def table_lines(
    table: pd.DataFrame,
    *,
    value_label: str,
    title: str,
    x_label: str | None = None,
    dashed: Sequence[str] = (),
    colors: Sequence[str] | None = None,
    errors: pd.DataFrame | pd.Series | None = None,
    log_x: bool = False,
    index_ticks: bool = False,
    reference: float | None = None,
    reference_label: str | None = None,
    limits: tuple[float, float] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Curves of a wide table against its numeric index: one line (and legend entry) per
    column, e.g. power against sequencing depth per readout, or a score against the number
    of cells it was computed from, with error bars (how much of a score is sample size).

    Parameters
    ----------
    table
        Numeric index (the x values, e.g. MOI or cells) and numeric columns.
    value_label
        Label of the y axis, with units.
    {title}
    x_label
        Label of the x axis (default the index name).
    dashed
        Columns drawn dashed and without markers: expectations (a Poisson curve) rather than
        measurements.
    colors
        One colour per column.
    errors
        Error-bar half-widths (e.g. a standard deviation): a table with the same index whose
        columns are (some of) ``table``'s, or, for a one-column ``table``, a Series on its index.
        Columns without errors are drawn without bars.
    log_x
        Log-scaled x axis (the index must be positive).
    index_ticks
        Ticks at the index values, labelled with them (e.g. the sizes on a log axis).
    reference, reference_label
        A dashed horizontal line at this value (e.g. a baseline rule's precision), with its label.
    limits
        Limits of the y axis.
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> power = pd.DataFrame({"panel": [0.8, 0.9], "transcriptome": [0.4, 0.7]},
    ...                      index=pd.Index([100, 500], name="UMIs per cell"))
    >>> ax = pk.pl.table_lines(power, value_label="share of changes found", title="Power")
    >>> [[float(v) for v in line.get_ydata()] for line in ax.get_lines()]
    [[0.8, 0.9], [0.4, 0.7]]
    >>> auc = pd.DataFrame({"n": [10, 100], "auc": [0.6, 0.8], "auc_sd": [0.05, 0.01]}).set_index("n")
    >>> ax = pk.pl.table_lines(auc[["auc"]], errors=auc["auc_sd"], log_x=True, index_ticks=True, reference=0.5,
    ...                        value_label="AUC", title="AUC against cells per condition")
    >>> [t.get_text() for t in ax.get_xticklabels()], [float(v) for v in ax.containers[0].lines[0].get_ydata()]
    (['10', '100'], [0.6, 0.8])
    """
    values = _numeric(table, "table_lines")
    if not pd.api.types.is_numeric_dtype(values.index):
        raise TypeError(f"table_lines: the index holds the x values and must be numeric, not {values.index.dtype}")
    unknown = [c for c in dashed if c not in values.columns]
    if unknown:
        raise KeyError(f"dashed columns {unknown} not in the table (columns: {list(values.columns)})")
    if colors is not None and len(colors) != values.shape[1]:
        raise ValueError(f"{len(colors)} colours for {values.shape[1]} columns {list(values.columns)}")
    if log_x and (values.index <= 0).any():
        raise ValueError(f"log_x=True needs a positive index ({values.index.name or 'x'}); got {list(values.index)}")
    errs = _errors(errors, values, "table_lines")
    ax = _axes(ax, (6.5, 3.8))
    for i, col in enumerate(values.columns):
        color = colors[i] if colors is not None else None
        if col in errs:
            ax.errorbar(values.index, values[col], yerr=errs[col], fmt="o-", capsize=3, color=color, label=str(col))
        else:
            ax.plot(values.index, values[col], "--" if col in dashed else "o-", color=color, label=str(col))
    _reference(ax, reference, reference_label, vertical=False)
    if log_x:
        ax.set_xscale("log")
    if index_ticks:
        from matplotlib.ticker import NullFormatter

        ax.xaxis.set_minor_formatter(NullFormatter())  # the index values themselves are the ticks
        ax.set_xticks(values.index, [f"{v:g}" for v in values.index])
    if limits is not None:
        ax.set_ylim(*limits)
    ax.set(xlabel=x_label if x_label is not None else (values.index.name or ""), ylabel=value_label, title=title)
    # columns in table order (matplotlib lists error-bar containers after plain lines), then the reference
    handles, labels = ax.get_legend_handles_labels()
    rank = {str(c): i for i, c in enumerate(values.columns)}
    order = sorted(range(len(labels)), key=lambda k: rank.get(labels[k], len(rank)))
    ax.legend([handles[k] for k in order], [labels[k] for k in order], frameon=False, fontsize=8)
    return ax


@fill_doc
def table_heatmap(
    matrix: pd.DataFrame,
    *,
    colorbar_label: str,
    title: str,
    x_label: str | None = None,
    y_label: str | None = None,
    limit: float | None = None,
    rotation: float = 90,
    ax: Axes | None = None,
) -> Axes:
    """A signed matrix (effects of targets on genes, motifs or topics) on a symmetric
    red-blue scale centred at zero, with a colour bar; grey where a value is missing.

    Parameters
    ----------
    matrix
        Numeric values, rows and columns labelled.
    colorbar_label
        What a colour means, with units.
    {title}
    x_label, y_label
        Axis labels (default the columns' and the index's names).
    limit
        The scale runs from ``-limit`` to ``+limit`` (default the largest absolute value).
    rotation
        Rotation of the column labels, in degrees.
    {ax}

    {returns_axes}

    Examples
    --------
    >>> import pandas as pd, perturbkit as pk
    >>> m = pd.DataFrame([[-2.0, 0.1], [0.0, 1.0]], index=["TF1", "TF2"], columns=["m1", "m2"])
    >>> ax = pk.pl.table_heatmap(m, colorbar_label="deviation z", title="Motif deviations")
    >>> ax.images[0].get_clim()
    (-2.0, 2.0)
    """
    import matplotlib.pyplot as plt

    values = _numeric(matrix, "table_heatmap")
    finite = np.abs(values.to_numpy())[np.isfinite(values.to_numpy())]
    if limit is None:
        limit = float(finite.max()) if finite.size else 1.0
    if not limit > 0:
        limit = 1.0  # an all-zero matrix: any symmetric scale shows it white
    ax = _axes(ax, (1.5 + 0.35 * values.shape[1], 1 + 0.3 * values.shape[0]))
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#d9d9d9")  # grey: no value
    im = ax.imshow(np.ma.masked_invalid(values.to_numpy()), cmap=cmap, vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(values.shape[1]), [str(c) for c in values.columns], rotation=rotation,
                  ha="right" if 0 < rotation < 90 else "center")
    ax.set_yticks(range(values.shape[0]), [str(r) for r in values.index])
    ax.set(xlabel=x_label if x_label is not None else (values.columns.name or ""),
           ylabel=y_label if y_label is not None else (values.index.name or ""), title=title)
    ax.figure.colorbar(im, ax=ax, label=colorbar_label)
    return ax

