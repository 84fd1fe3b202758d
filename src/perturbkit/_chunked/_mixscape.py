"""Mixscape's per-gene statistics in passes over blocks of cells, and the gathering of what EM needs.

For each target, Mixscape tests every gene between the target's cells and the controls in the
perturbation signature (Welch t) and keeps those detected in enough of the target's cells.
Here: pass 1 sums the signature and the detection indicator per group; pass 2 sums squared
deviations from each group's mean (two passes, as ``numpy.var``, so no cancellation); the
Welch test follows from these moments. A last pass gathers each target's cells on its own
DE genes and the controls on the union of DE genes: all the EM classification reads.

Memory: O(groups x genes + cells x DE genes per target); time linear in cells.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse, stats

from ._blocks import iter_row_blocks, row_bounds


def _codes(labels: np.ndarray, groups: list[str]) -> np.ndarray:
    lookup = {g: i for i, g in enumerate(groups)}
    return np.array([lookup.get(v, -1) for v in labels])


def _group_sum(values: np.ndarray | sparse.csr_matrix, codes: np.ndarray, n_groups: int) -> np.ndarray:
    keep = np.flatnonzero(codes >= 0)
    ind = sparse.csr_matrix((np.ones(keep.size), (codes[keep], keep)), shape=(n_groups, codes.size))
    out = ind @ values
    return out.toarray() if sparse.issparse(out) else np.asarray(out)


def welch_tests(
    sig: object, counts: object, labels: np.ndarray, targets: list[str], control: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per target: Welch t-test p-values vs the controls per gene, and the detected fraction."""
    groups = [*targets, control]
    codes = _codes(labels, groups)
    n = np.bincount(codes[codes >= 0], minlength=len(groups)).astype(float)
    g = sig.shape[1]
    sums = np.zeros((len(groups), g))
    det = np.zeros((len(groups), g))
    bounds = row_bounds(sig)
    for (start, stop, s_b), (_, _, c_b) in zip(
        iter_row_blocks(sig, bounds=bounds), iter_row_blocks(counts, bounds=bounds), strict=True
    ):
        sums += _group_sum(s_b, codes[start:stop], len(groups))
        det += _group_sum((c_b > 0).astype(float), codes[start:stop], len(groups))
    means = sums / np.maximum(n, 1)[:, None]
    ss = np.zeros((len(groups), g))
    for start, stop, s_b in iter_row_blocks(sig, bounds=bounds):
        c = codes[start:stop]
        dev = np.where((c >= 0)[:, None], s_b - means[np.maximum(c, 0)], 0.0)
        ss += _group_sum(dev**2, c, len(groups))
    out = {}
    n0, m0, v0 = n[-1], means[-1], ss[-1] / max(n[-1] - 1, 1)
    for i, t in enumerate(targets):
        if n[i] < 3:
            continue
        v1 = ss[i] / (n[i] - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            a, b = v1 / n[i], v0 / n0
            t_stat = (means[i] - m0) / np.sqrt(a + b)
            df = (a + b) ** 2 / (a**2 / (n[i] - 1) + b**2 / (n0 - 1))
            p = 2.0 * stats.t.sf(np.abs(t_stat), df)
        out[t] = (p, det[i] / n[i])
    return out


def gather(
    sig: object, labels: np.ndarray, de: dict[str, np.ndarray], control: str
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Each target's cells on its DE genes, and the controls on the union of DE genes (its columns)."""
    union = np.unique(np.concatenate([v for v in de.values()] or [np.array([], dtype=int)])).astype(int)
    parts: dict[str, list[np.ndarray]] = {t: [] for t in de}
    ctrl_parts = []
    for start, stop, s_b in iter_row_blocks(sig, bounds=row_bounds(sig)):
        lab = labels[start:stop]
        ctrl_parts.append(s_b[lab == control][:, union])
        for t, genes in de.items():
            parts[t].append(s_b[lab == t][:, genes])
    st = {t: np.vstack(v) if v else np.empty((0, de[t].size)) for t, v in parts.items()}
    ctrl = np.vstack(ctrl_parts) if ctrl_parts else np.empty((0, union.size))
    return st, ctrl, union
