"""Isogenic-pair genetic interaction: planted synthetic-lethal genes, a calibrated null, errors."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


def _run(screen, **kw):
    return pk.tl.isogenic_interaction(
        screen, treatment_samples=[v for v in screen.var_names if "final" in v],
        control_samples=[v for v in screen.var_names if "initial" in v], **kw)


def _essential(screen):
    truth = screen.uns["truth"]
    return truth.index[truth["essential"]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_lethal_pairs_precision_recall(seed):
    screen = pk.data.simulate_isogenic_screen(seed=seed)
    truth = screen.uns["truth"]
    gi = _run(screen, essential_genes=_essential(screen))
    hits = set(gi.loc[gi["neg_padj"] < 0.1, "gene"])
    lethal = set(truth.index[truth["lethal"]])
    precision, recall = len(hits & lethal) / max(len(hits), 1), len(hits & lethal) / len(lethal)
    assert precision >= 0.9 and recall >= 0.8, (precision, recall)
    # suppressed genes (essential in the parental line only) are the positive interactions
    pos = set(gi.loc[gi["pos_padj"] < 0.1, "gene"])
    assert pos == set(truth.index[truth["suppressed"]])
    # scaled: essential genes at about -1 in both lines, no interaction
    ess = gi.set_index("gene").loc[_essential(screen)]
    assert abs(ess["lfc_reference"].median() + 1) < 0.15 and abs(ess["lfc_mutant"].median() + 1) < 0.15
    assert gi["rank"].tolist() == list(range(1, len(gi) + 1)) and (np.diff(gi["z"]) >= 0).all()


def test_null_is_calibrated():
    # no planted interaction: one-sided p-values are uniform; under the global null BH at 0.1
    # admits a false hit in at most ~10 % of screens per direction
    fractions, false_hits = [], 0
    for seed in range(3):
        screen = pk.data.simulate_isogenic_screen(n_lethal=0, n_suppressed=0, seed=seed)
        gi = _run(screen, essential_genes=_essential(screen))
        false_hits += int((gi["neg_padj"] < 0.1).sum() + (gi["pos_padj"] < 0.1).sum())
        fractions.append(float((gi["neg_pvalue"] < 0.05).mean()))
    assert 0.02 < np.mean(fractions) < 0.08, fractions
    assert false_hits <= 2, false_hits


def test_without_scaling_the_slower_line_fakes_suppression():
    screen = pk.data.simulate_isogenic_screen(seed=0)
    gi = _run(screen).set_index("gene")  # centring only: the mutant screen's smaller range remains
    ess = _essential(screen)
    assert (gi.loc[ess, "pos_padj"] < 0.1).mean() > 0.1
    assert gi.loc[ess, "diff"].median() > 0.4


def test_deterministic_and_bad_input():
    screen = pk.data.simulate_isogenic_screen(n_genes=120, n_essential=20, n_lethal=5, seed=3)
    a, b = _run(screen), _run(screen)
    assert a.equals(b)
    with pytest.raises(KeyError, match="line"):
        _run(screen, split_by="line")
    with pytest.raises(ValueError, match="'wildtype'"):
        _run(screen, reference="wildtype")
    with pytest.raises(ValueError, match="not in adata.var_names"):
        pk.tl.isogenic_interaction(screen, treatment_samples=["nope"], control_samples=["parental_initial_1"])
    with pytest.raises(ValueError, match="no treatment sample of line 'mutant'"):
        pk.tl.isogenic_interaction(screen, treatment_samples=["parental_final_1"],
                                   control_samples=["parental_initial_1", "mutant_initial_1"])
    with pytest.raises(ValueError, match="essential_genes"):
        _run(screen, essential_genes=["GENE0119"])
    with pytest.raises(ValueError, match="not depleted"):
        _run(screen, essential_genes=[f"GENE{i:04d}" for i in range(100, 120)])
    bad = screen.copy()
    bad.X = bad.X.astype(float)
    bad.X[0, 0] = -1
    with pytest.raises(ValueError, match="negative"):
        _run(bad)
