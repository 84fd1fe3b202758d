from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def test_scores_against_hand_computed_values() -> None:
    rng = np.random.default_rng(0)
    obs, add = rng.normal(size=50), rng.normal(size=50)
    inter = obs - add
    t = pd.DataFrame({"pair": "A+B", "observed": obs, "additive": add,
                      "perfect": obs, "none": add, "half": add + 0.5 * inter})
    s = pk.metrics.combination_scores(t, models=["additive", "perfect", "none", "half"])
    assert s.loc["A+B", "perfect"] == 0 and s.loc["A+B", "additive"] == pytest.approx(np.mean(inter**2))
    assert s.loc["A+B", "half"] == pytest.approx(np.mean((0.5 * inter) ** 2))
    assert s.loc["A+B", "r_perfect"] == pytest.approx(1.0) and s.loc["A+B", "r_half"] == pytest.approx(1.0)
    assert s.loc["A+B", "r_none"] == 0.0  # no interaction predicted
    assert "r_additive" not in s


def test_scores_match_predict_combinations_on_planted_synergy() -> None:
    combo = pk.data.simulate_combinations(n_genes=120, interaction=0.6, seed=0)
    pairs = combo.uns["truth"]["pairs"]
    names = list(pairs.index)
    fit = pk.tl.predict_combinations(combo, train=names[::2], test=names[1::2])
    s = pk.metrics.combination_scores(fit.predictions).join(pairs)
    syn = s[s["kind"] == "synergy"]
    assert (syn["model"] <= syn["additive"] + 1e-12).mean() > 0.8
    assert syn["r_model"].mean() > 0.5
    same = fit.predictions.groupby("pair").apply(lambda g: np.allclose(g["model"], g["additive"]), include_groups=False)
    assert (s.loc[same[same].index, "r_model"] == 0).all()  # pairs left additive: no interaction, r = 0


def test_scores_bad_input() -> None:
    t = pd.DataFrame({"pair": ["A+B"], "observed": [1.0], "additive": [np.nan], "model": [1.0]})
    with pytest.raises(ValueError, match="predictions\\['additive'\\] has NaN values \\(pairs: \\['A\\+B'\\]\\)"):
        pk.metrics.combination_scores(t)
    with pytest.raises(KeyError, match="lacks columns \\['gnn'\\]"):
        pk.metrics.combination_scores(t, models=["gnn"])
