"""drc classic datasets and sci-Plex2 viability: loaders return the documented tables."""

from __future__ import annotations

import pytest

import perturbkit as pk


def test_ryegrass(mirror):
    rye = pk.data.load("drc_classic_doseresponse", name="ryegrass")
    assert rye.shape == (24, 2) and list(rye.columns) == ["rootl", "conc"]
    assert pk.data.is_stand_in("drc_classic_doseresponse") is False
    assert sorted(rye["conc"].unique()) == [0.0, 0.94, 1.88, 3.75, 7.5, 15.0, 30.0]
    assert (rye["conc"] == 0).sum() == 6


def test_quantal_sets(mirror):
    finney = pk.data.load("drc_classic_doseresponse", name="finney71")
    assert finney.shape == (6, 3) and set(finney.columns) == {"dose", "total", "affected"}
    worms = pk.data.load("drc_classic_doseresponse", name="earthworms")
    assert worms.shape == (35, 3) and (worms["number"] <= worms["total"]).all()


def test_all_and_unknown(mirror):
    everything = pk.data.load("drc_classic_doseresponse")
    assert len(everything) == 35 and everything["S.alba"].shape == (68, 3)
    with pytest.raises(KeyError, match="available"):
        pk.data.load("drc_classic_doseresponse", name="rygrass")
