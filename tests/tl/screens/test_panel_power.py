from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


@pytest.fixture(scope="module")
def screen_fx():
    a = pk.data.simulate_screen(n_cells=2000, n_genes=300, n_targets=2, moi=0.8, ko_fraction=1.0,
                                mean_library=6000, seed=2)
    pk.tl.assign_guides(a, method="mixture")
    return a


def test_panel_concentrates_reads_and_power(screen_fx) -> None:
    effects = screen_fx.uns["truth"]["effects"].loc["T0"]
    planted = list(effects.index[effects.abs() > 0.5])
    rng = np.random.default_rng(0)
    others = [g for g in screen_fx.var_names if g not in planted]
    panel = planted + list(rng.choice(others, 40 - len(planted), replace=False))
    res = pk.tl.panel_power(screen_fx, panel, group="T0", reads_per_cell=[100], n_cells=150, seed=0).set_index("readout")
    assert res.loc["panel", "panel_reads_per_cell"] > 3 * res.loc["transcriptome", "panel_reads_per_cell"]
    assert res.loc["panel", "n_true"] >= 0.8 * len(planted)
    assert res.loc["panel", "power"] > res.loc["transcriptome", "power"] + 0.2, res
    # a 40-gene panel with a dozen strong changes: library-size normalisation turns compositional,
    # unchanged panel genes shift in share (the transcriptome readout does not see that)
    assert res.loc["transcriptome", "false_positives"] <= 1 < 3 <= res.loc["panel", "false_positives"], res


def test_panel_power_seeded_and_bad_input(screen_fx) -> None:
    panel = list(screen_fx.var_names[:30])
    a = pk.tl.panel_power(screen_fx, panel, group="T0", reads_per_cell=[200], n_cells=80, seed=4)
    b = pk.tl.panel_power(screen_fx, panel, group="T0", reads_per_cell=[200], n_cells=80, seed=4)
    assert a.equals(b)
    with pytest.raises(ValueError, match="panel genes not in adata.var_names: \\['CD274'\\]"):
        pk.tl.panel_power(screen_fx, ["CD274"], group="T0")
    with pytest.raises(ValueError, match="reads_per_cell must be positive"):
        pk.tl.panel_power(screen_fx, panel, group="T0", reads_per_cell=[0])
    with pytest.raises(ValueError, match="T99"):
        pk.tl.panel_power(screen_fx, panel, group="T99")
