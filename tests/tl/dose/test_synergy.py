"""Synergy scores against hand-computed values, planted interactions and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def _grid(matrix, rows=(0.0, 1.0, 2.0), cols=(0.0, 10.0, 20.0), block="b1"):
    out = []
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            out.append({"block_id": block, "conc_row": r, "conc_col": c, "response": matrix[i][j]})
    return pd.DataFrame(out)


SMALL = [[0, 20, 40], [10, 50, 60], [30, 70, 90]]


def test_bliss_and_hsa_hand_computed():
    data = _grid(SMALL)
    bliss = pk.tl.synergy(data, method="bliss").set_index(["conc_row", "conc_col"])
    # well (1, 10): singles 10 and 20 -> Bliss 10 + 20 - 2 = 28, observed 50
    assert bliss.loc[(1.0, 10.0), "reference"] == pytest.approx(28.0)
    assert bliss.loc[(1.0, 10.0), "synergy"] == pytest.approx(22.0)
    # well (2, 20): singles 30 and 40 -> 30 + 40 - 12 = 58, observed 90
    assert bliss.loc[(2.0, 20.0), "synergy"] == pytest.approx(32.0)
    hsa = pk.tl.synergy(data, method="hsa").set_index(["conc_row", "conc_col"])
    assert hsa.loc[(1.0, 20.0), "reference"] == pytest.approx(40.0)
    assert hsa.loc[(2.0, 10.0), "synergy"] == pytest.approx(70 - 30)
    # single-drug row/column: synergy 0
    assert (bliss.loc[bliss["n_drugs"] < 2, "synergy"] == 0).all()
    scores = pk.tl.synergy_scores(data, methods=("bliss", "hsa")).set_index("block_id")
    expected_bliss = np.mean([50 - 28, 60 - (10 + 40 - 4), 70 - (30 + 20 - 6), 90 - 58])
    assert scores.loc["b1", "bliss"] == pytest.approx(expected_bliss)
    assert scores.loc["b1", "hsa"] == pytest.approx(np.mean([50 - 20, 60 - 40, 70 - 30, 90 - 40]))
    assert scores.loc["b1", "n_combinations"] == 4


def test_replicates_are_averaged_and_fraction_scale():
    data = pd.concat([_grid(SMALL), _grid(np.array(SMALL) + 2.0)], ignore_index=True)
    tab = pk.tl.synergy(data, method="bliss").set_index(["conc_row", "conc_col"])
    assert tab.loc[(1.0, 10.0), "response"] == pytest.approx(51.0)
    frac = _grid(np.array(SMALL) / 100)
    a = pk.tl.synergy(frac, method="bliss", response_scale="fraction")
    b = pk.tl.synergy(_grid(SMALL), method="bliss")
    np.testing.assert_allclose(a["synergy"], b["synergy"])


def test_three_drug_bliss():
    rows = []
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                y = {(0, 0, 0): 0, (1, 0, 0): 10, (0, 1, 0): 20, (0, 0, 1): 50}.get((a, b, c), 80)
                rows.append({"block_id": "t", "conc_row": a, "conc_col": b, "conc_3": c, "response": y})
    tab = pk.tl.synergy(pd.DataFrame(rows), method="bliss")
    full = tab[tab.n_drugs == 3].iloc[0]
    assert full["reference"] == pytest.approx(100 * (1 - 0.9 * 0.8 * 0.5))
    assert set(tab.columns) >= {"conc_3", "n_drugs"}


def test_planted_interactions_recovered():
    for seed in range(3):
        blocks = pk.data.simulate_combination(seed=seed, n_replicates=2)
        scores = pk.tl.synergy_scores(blocks, methods=("bliss", "hsa")).set_index("block_id")
        truth = blocks.drop_duplicates("block_id").set_index("block_id").filter(like="true_").rename(columns=lambda c: c[5:])
        syn = truth.index[truth.interaction == "synergistic"][0]
        ant = truth.index[truth.interaction == "antagonistic"][0]
        ind = truth.index[truth.interaction == "independent"][0]
        assert scores.loc[syn, "bliss"] > 5 > abs(scores.loc[ind, "bliss"])
        assert scores.loc[ant, "bliss"] < -5
        assert scores.loc[syn, "bliss"] == pytest.approx(truth.loc[syn, "bliss_excess"], abs=3)


def test_input_not_modified_and_deterministic():
    data = pk.data.simulate_combination(seed=0)
    before = data.copy()
    a = pk.tl.synergy(data, method="hsa")
    pd.testing.assert_frame_equal(data, before)
    pd.testing.assert_frame_equal(a, pk.tl.synergy(data, method="hsa"))
    b = pk.data.simulate_combination(seed=0)
    pd.testing.assert_frame_equal(data, b)


def test_bad_input_errors():
    data = _grid(SMALL)
    with pytest.raises(ValueError, match="incomplete"):
        pk.tl.synergy(data.drop(index=4), method="bliss")
    with pytest.raises(ValueError, match="no zero dose"):
        pk.tl.synergy(data[data.conc_row > 0], method="bliss")
    with pytest.raises(ValueError, match="look like fractions"):
        pk.tl.synergy(_grid(np.array(SMALL) / 100), method="bliss")
    big = _grid(SMALL)
    big.loc[3, "response"] = 450
    with pytest.raises(ValueError, match=r"\[-200, 200\]"):
        pk.tl.synergy(big)
    with pytest.raises(ValueError, match="reach"):
        pk.tl.synergy(_grid(SMALL), response_scale="fraction")
    neg = _grid(SMALL)
    neg.loc[1, "conc_col"] = -1
    with pytest.raises(ValueError, match="negative doses"):
        pk.tl.synergy(neg)
    with pytest.raises(KeyError, match="response"):
        pk.tl.synergy(data.drop(columns="response"))
    with pytest.raises(ValueError, match="method must be"):
        pk.tl.synergy(data, method="chou")
    nan = _grid(SMALL)
    nan.loc[2, "response"] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        pk.tl.synergy(nan)


def test_block_p_value_synergyfinder_formula():
    data = _grid(SMALL)
    s = pk.tl.synergy_scores(data, methods=("bliss",)).iloc[0]
    wells = np.array([50 - 28, 60 - (10 + 40 - 4), 70 - (30 + 20 - 6), 90 - 58], dtype=float)
    z = abs(wells.mean()) / wells.std(ddof=1)
    assert s["bliss_pvalue"] == pytest.approx(np.exp(-0.717 * z - 0.416 * z**2))


def test_synergy_scores_curve_methods_on_three_drug_blocks_only():
    # Loewe/ZIP are undefined with three drugs: NaN scores, not a crash, and the well count
    # still comes from the grid
    sim = pk.data.simulate_combination(seed=0)
    cube = sim[sim.block_id == sim.block_id.iloc[0]].copy()
    cube = pd.concat([cube.assign(conc_3=c) for c in (0.0, 1.0, 2.0)], ignore_index=True)
    out = pk.tl.synergy_scores(cube, methods=("zip",))
    n_row, n_col = cube.conc_row.nunique() - 1, cube.conc_col.nunique() - 1
    assert out["n_combinations"].tolist() == [n_row * n_col * 2] and out["n_combinations"].dtype == np.int64
    assert np.isnan(out.loc[0, "zip"])
    both = pk.tl.synergy_scores(cube, methods=("bliss", "zip"))
    assert np.isfinite(both.loc[0, "bliss"]) and both["n_combinations"].tolist() == out["n_combinations"].tolist()


def test_duplicated_replicate_rows_raise_naming_block_and_doses():
    # #12: a well entered twice under the same replicate number used to be averaged silently
    one = _grid(SMALL).assign(replicate=1)
    two = _grid(np.array(SMALL) + 2.0).assign(replicate=2)
    ok = pd.concat([one, two], ignore_index=True)
    tab = pk.tl.synergy(ok, method="bliss").set_index(["conc_row", "conc_col"])
    assert tab.loc[(1.0, 10.0), "response"] == pytest.approx(51.0)
    bad = pd.concat([ok, one.iloc[[4]]], ignore_index=True)  # (1, 10), replicate 1 twice
    with pytest.raises(ValueError, match=r"block 'b1'.*conc_row=1, conc_col=10, replicate=1"):
        pk.tl.synergy(bad, method="bliss")
    with pytest.raises(ValueError, match="b1"):
        pk.tl.synergy_scores(bad, methods=("hsa",))
    # the same well in another block is not a duplicate
    other = one.assign(block_id="b2")
    assert len(pk.tl.synergy_scores(pd.concat([ok, other], ignore_index=True))) == 2
