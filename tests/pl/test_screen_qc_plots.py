"""pk.pl.guide_umis / cells_per_target / knockdown / guide_ko_fractions: the bars and histograms
carry the input's numbers, labels are set, bad input is refused with a message naming it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import perturbkit as pk  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_guide_umis_histograms_count_every_cell():
    sim = pk.data.simulate_screen(n_cells=300, n_genes=20, seed=0)
    pk.tl.assign_guides(sim, method="max")
    ax = pk.pl.guide_umis(sim, bins=20)
    heights = np.array([p.get_height() for p in ax.patches])
    expected, _ = np.histogram(np.log10(sim.obs["guide_umis_top"].to_numpy() + 1), bins=20)
    assert heights.tolist() == expected.tolist()
    assert "log10" in ax.get_xlabel() and ax.get_ylabel() == "cells" and ax.get_title()
    frac = pk.pl.guide_umis(sim, value="fraction", bins=10)
    left = min(p.get_x() for p in frac.patches)
    assert left == pytest.approx(sim.obs["guide_fraction_top"].min())
    with pytest.raises(ValueError, match="'share'"):
        pk.pl.guide_umis(sim, value="share")
    del sim.obs["guide_fraction_top"]
    with pytest.raises(KeyError, match=r"guide_fraction_top.*pk\.tl\.assign_guides"):
        pk.pl.guide_umis(sim, value="fraction")


def test_cells_per_target_heights_and_control_in_grey():
    counts = pd.Series({"control": 120, "STAT1": 80, "JAK2": 60})
    ax = pk.pl.cells_per_target(counts)
    assert [p.get_height() for p in ax.patches] == [120, 80, 60]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["control", "STAT1", "JAK2"]
    grey, blue = ax.patches[0].get_facecolor(), ax.patches[1].get_facecolor()
    assert grey != blue and ax.patches[2].get_facecolor() == blue
    assert "non-targeting" in ax.get_xlabel() and ax.get_ylabel().startswith("cells")
    with pytest.raises(ValueError, match="JAK2"):
        pk.pl.cells_per_target(pd.Series({"control": 120, "JAK2": -1}))
    with pytest.raises(ValueError, match="empty"):
        pk.pl.cells_per_target(pd.Series(dtype=float))


def test_knockdown_bars_annotations_and_axis():
    kd = pd.DataFrame({"target": ["JAK2", "CMTM6", "CD86"], "remaining": [0.2, 0.8, 1.4], "n_cells": [500, 400, 90]})
    ax = pk.pl.knockdown(kd)
    assert [p.get_width() for p in ax.patches] == pytest.approx([0.2, 0.8, 1.4])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["JAK2", "CMTM6", "CD86"] and ax.yaxis_inverted()
    assert [a.get_text() for a in ax.texts] == ["0.20 (n=500)", "0.80 (n=400)", "1.40 (n=90)"]
    assert ax.get_xlim()[1] == pytest.approx(1.15 * 1.4)  # an activation above 1 stays on the axis
    assert "ratio of means" in ax.get_xlabel()
    with pytest.raises(KeyError, match=r"\['n_cells'\].*pk\.tl\.knockdown"):
        pk.pl.knockdown(kd.drop(columns="n_cells"))
    with pytest.raises(ValueError, match="CD86"):
        pk.pl.knockdown(kd.assign(remaining=[0.2, 0.8, np.nan]))


def test_guide_ko_fractions_colour_by_target():
    t = pd.DataFrame({"ko_fraction": [0.7, 0.3, 0.8], "cells": [50, 40, 30]},
                     index=pd.MultiIndex.from_tuples([("IRF1", "IRF1g1"), ("IRF1", "IRF1g2"), ("JAK2", "JAK2g1")]))
    ax = pk.pl.guide_ko_fractions(t)
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.7, 0.3, 0.8])
    assert [x.get_text() for x in ax.get_xticklabels()] == ["IRF1g1", "IRF1g2", "JAK2g1"]
    c = [p.get_facecolor() for p in ax.patches]
    assert c[0] == c[1] != c[2] and ax.get_ylim() == (0, 1)
    with pytest.raises(ValueError, match="JAK2"):
        pk.pl.guide_ko_fractions(t.assign(ko_fraction=[0.7, 0.3, 80.0]))
    with pytest.raises(ValueError, match=r"\(target, guide\)"):
        pk.pl.guide_ko_fractions(t.reset_index(drop=True))
    with pytest.raises(KeyError, match="ko_fraction"):
        pk.pl.guide_ko_fractions(t.drop(columns="ko_fraction"))
