"""Gene-independent, position-dependent bias in CRISPR screens, corrected the CRISPRcleanR way:
segment guide fold changes along the genome, then centre segments that span several genes."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["crisprcleanr", "segment_values"]


def _noise_sd(x: np.ndarray) -> float:
    """Robust noise level from neighbour differences (insensitive to level shifts)."""
    d = np.diff(x)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2)) or float(np.std(x)) or 1.0


def _best_split(x: np.ndarray, sd: float, min_size: int, max_arc: int) -> tuple[float, int, int]:
    """Best (t, i, j): the segment is split into [0, i), [i, j), [j, L) (j = L: binary split).

    Circular binary segmentation compares an inner arc with the rest; arcs are limited to
    ``max_arc`` values (plus all splits that reach an end), which keeps the search linear.
    """
    n = len(x)
    cs = np.r_[0.0, np.cumsum(x)]
    tot = cs[-1]
    best = (0.0, 0, n)
    k = np.arange(min_size, n - min_size + 1)
    if k.size:
        t = np.abs(cs[k] / k - (tot - cs[k]) / (n - k)) / (sd * np.sqrt(1 / k + 1 / (n - k)))
        i = int(np.argmax(t))
        best = (float(t[i]), int(k[i]), n)
    for length in range(min_size, min(max_arc, n - 2 * min_size) + 1):
        starts = np.arange(min_size, n - length - min_size + 1)
        if starts.size == 0:
            break
        inner = (cs[starts + length] - cs[starts]) / length
        outer = (tot - cs[starts + length] + cs[starts]) / (n - length)
        t = np.abs(inner - outer) / (sd * np.sqrt(1 / length + 1 / (n - length)))
        i = int(np.argmax(t))
        if t[i] > best[0]:
            best = (float(t[i]), int(starts[i]), int(starts[i] + length))
    return best


def segment_values(
    values: np.ndarray,
    *,
    min_size: int = 10,
    max_arc: int = 600,
    threshold: float = 5.0,
    clip: float = 2.0,
) -> np.ndarray:
    """Piecewise-constant segmentation of an ordered series (circular binary segmentation).

    Values are first clipped to median +- ``clip`` noise SDs, so that single strongly
    depleted genes (true essentials) do not create segments of their own; a split is kept
    when its t statistic exceeds ``threshold``.

    Parameters
    ----------
    values
        Values in genome order.
    min_size
        Smallest segment, in values.
    max_arc
        Longest inner arc searched by the circular step.
    threshold
        t statistic a split must exceed.
    clip
        Winsorising bound, in robust noise SDs.

    Returns
    -------
    numpy.ndarray
        Integer segment id per value (0, 1, ... along the order).

    Examples
    --------
    >>> import numpy as np
    >>> from perturbkit.tl import segment_values
    >>> x = np.r_[np.zeros(200), np.full(60, -1.0), np.zeros(200)] + np.random.default_rng(0).normal(0, 0.3, 460)
    >>> np.bincount(segment_values(x)).tolist()
    [200, 60, 200]
    """
    x = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("values to segment contain NaN or infinite entries")
    sd = _noise_sd(x)
    med = float(np.median(x))
    xc = np.clip(x, med - clip * sd, med + clip * sd)
    cuts: list[int] = []
    stack = [(0, len(xc))]
    while stack:
        a, b = stack.pop()
        if b - a < 2 * min_size:
            continue
        t, i, j = _best_split(xc[a:b], sd, min_size, max_arc)
        if t <= threshold:
            continue
        new = [a + i] + ([a + j] if j < b - a else [])
        cuts.extend(new)
        bounds = [a, *new, b]
        stack.extend(zip(bounds[:-1], bounds[1:], strict=True))
    seg = np.zeros(len(x), dtype=np.int64)
    if cuts:
        seg[np.sort(cuts)] = 1
    return np.cumsum(seg)


def crisprcleanr(
    sgrnas: pd.DataFrame,
    *,
    position: str | None = None,
    chrom: str | None = None,
    value: str = "lfc",
    min_genes: int = 3,
    min_size: int = 10,
    threshold: float = 5.0,
) -> pd.DataFrame:
    """Correct guide fold changes for gene-independent, position-dependent effects.

    Cutting DNA in an amplified region causes many double-strand breaks and kills cells
    whatever gene is targeted, so every guide in the region drops out together. Following
    CRISPRcleanR {cite}`iorio2018crisprcleanr`, guides are ordered along the genome, their
    fold changes segmented (:func:`segment_values`), and every segment whose guides target
    at least ``min_genes`` different genes is shifted so that its median equals the
    genome-wide median. A run of guides against one gene cannot form a corrected segment,
    so single essential genes keep their dropout; no copy-number data are needed.

    Parameters
    ----------
    sgrnas
        Guide table (e.g. :func:`perturbkit.tl.sgrna_lfc`) with ``gene`` and ``value``.
    position
        Column with the genomic position (default: the index, which must be numeric,
        as the MinLibCas9 guide ids of the HT-29 screen are).
    chrom
        Column with the chromosome, to segment each chromosome separately (optional).
    value
        Column to correct.
    min_genes
        Genes a segment must span to be corrected.
    min_size, threshold
        Segmentation settings (:func:`segment_values`).

    Returns
    -------
    pandas.DataFrame
        The guide table in genome order with ``position`` (float), ``segment`` (int),
        ``segment_median``, ``segment_genes`` (int), ``corrected`` (bool) and
        ``<value>_corrected`` (float) added.

    Examples
    --------
    >>> import numpy as np, pandas as pd, perturbkit as pk
    >>> rng = np.random.default_rng(0)
    >>> lfc = rng.normal(0, 0.3, 600); lfc[300:360] -= 1.0     # an "amplified" block
    >>> tab = pd.DataFrame({"gene": np.repeat([f"g{i}" for i in range(300)], 2), "lfc": lfc},
    ...                    index=np.arange(600) * 1000)
    >>> out = pk.tl.crisprcleanr(tab)
    >>> bool(abs(out["lfc_corrected"].iloc[300:360].mean()) < 0.2)
    True
    """
    if value not in sgrnas.columns or "gene" not in sgrnas.columns:
        raise KeyError(f"guide table needs 'gene' and {value!r}; columns: {list(sgrnas.columns)}")
    tab = sgrnas.copy()
    if position is None:
        pos = pd.to_numeric(pd.Series(tab.index, index=tab.index), errors="coerce")
        if pos.isna().any():
            bad = tab.index[pos.isna().to_numpy()][0]
            raise ValueError(f"index is not numeric (e.g. {bad!r}); pass position='<column>'")
    else:
        if position not in tab.columns:
            raise KeyError(f"guide table has no position column {position!r}")
        pos = pd.to_numeric(tab[position], errors="coerce")
        if pos.isna().any():
            raise ValueError(f"column {position!r} has non-numeric or missing positions")
    tab["position"] = pos.to_numpy(dtype=float)
    keys = ([chrom] if chrom else []) + ["position"]
    tab = tab.sort_values(keys, kind="mergesort")
    groups = [tab] if chrom is None else [g for _, g in tab.groupby(chrom, sort=False)]
    seg_all, offset = [], 0
    for g in groups:
        s = segment_values(g[value].to_numpy(), min_size=min_size, threshold=threshold) + offset
        offset = int(s.max()) + 1
        seg_all.append(pd.Series(s, index=g.index))
    tab["segment"] = pd.concat(seg_all).loc[tab.index].to_numpy()
    grouped = tab.groupby("segment")
    tab["segment_median"] = grouped[value].transform("median")
    tab["segment_genes"] = grouped["gene"].transform("nunique").astype(np.int64)
    tab["corrected"] = tab["segment_genes"] >= min_genes
    centre = float(tab[value].median())
    shift = np.where(tab["corrected"], tab["segment_median"] - centre, 0.0)
    tab[f"{value}_corrected"] = tab[value] - shift
    return tab
