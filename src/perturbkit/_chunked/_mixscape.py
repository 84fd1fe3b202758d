"""Mixscape's per-gene statistics in passes over blocks of cells, and the gathering of what it ranks.

For each target, Mixscape (as Seurat's ``RunMixscape``) picks DE genes with a Wilcoxon test of
the target's cells against the controls on log-normalised expression, after a filter on the
fold change of means and on detection. Here: one pass sums ``expm1`` of the log-normalised
values and the detection indicator per group (the filter); a second pass gathers each
target's cells on its candidate genes and the controls on their union (the ranks need the
values); a last pass gathers the signature on the DE genes: all the EM classification reads.

Memory: O(groups x genes + cells x candidate genes per target); time linear in cells.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

from ._blocks import iter_row_blocks, row_bounds


def _codes(labels: np.ndarray, groups: list[str]) -> np.ndarray:
    lookup = {g: i for i, g in enumerate(groups)}
    return np.array([lookup.get(v, -1) for v in labels])


def _group_sum(values: np.ndarray | sparse.csr_matrix, codes: np.ndarray, n_groups: int) -> np.ndarray:
    keep = np.flatnonzero(codes >= 0)
    ind = sparse.csr_matrix((np.ones(keep.size), (codes[keep], keep)), shape=(n_groups, codes.size))
    out = ind @ values
    return out.toarray() if sparse.issparse(out) else np.asarray(out)


def expression_moments(
    counts: object, labels: np.ndarray, groups: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Per group (rows, in ``groups`` order): mean of ``expm1`` of the log-normalised counts and
    the share of cells with the gene detected."""
    from ._signature import lognorm_block

    codes = _codes(labels, groups)
    n = np.bincount(codes[codes >= 0], minlength=len(groups)).astype(float)
    g = counts.shape[1]
    sums = np.zeros((len(groups), g))
    det = np.zeros((len(groups), g))
    for start, stop, c_b in iter_row_blocks(counts, bounds=row_bounds(counts)):
        c = codes[start:stop]
        sums += _group_sum(np.expm1(lognorm_block(c_b)), c, len(groups))
        det += _group_sum((c_b > 0).astype(float), c, len(groups))
    n = np.maximum(n, 1)[:, None]
    return sums / n, det / n


def gather(
    sig: object, labels: np.ndarray, de: dict[str, np.ndarray], control: str,
    transform: Callable[[object], np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Each target's cells on its genes, and the controls on the union of genes (its columns).

    ``transform`` maps a block first (e.g. counts to log-normalised values)."""
    union = np.unique(np.concatenate([v for v in de.values()] or [np.array([], dtype=int)])).astype(int)
    parts: dict[str, list[np.ndarray]] = {t: [] for t in de}
    ctrl_parts = []
    for start, stop, s_b in iter_row_blocks(sig, bounds=row_bounds(sig)):
        if transform is not None:
            s_b = transform(s_b)
        elif sparse.issparse(s_b):
            s_b = s_b.toarray()
        lab = labels[start:stop]
        ctrl_parts.append(s_b[lab == control][:, union])
        for t, genes in de.items():
            parts[t].append(s_b[lab == t][:, genes])
    st = {t: np.vstack(v) if v else np.empty((0, de[t].size)) for t, v in parts.items()}
    ctrl = np.vstack(ctrl_parts) if ctrl_parts else np.empty((0, union.size))
    return st, ctrl, union
