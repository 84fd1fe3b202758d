"""Schema of the DoRothEA loader."""

from __future__ import annotations

import pytest

import perturbkit as pk


def test_default_levels(mirror):
    net = pk.data.load("regulons_dorothea")
    assert list(net.columns) == ["source", "target", "weight", "confidence"]
    assert len(net) == 13_223  # A-C, as stated in PROVENANCE.md
    assert set(net["confidence"]) == {"A", "B", "C"}
    assert set(net["weight"].unique()) <= {-1.0, 1.0}
    assert int((net["source"] == "IRF9").sum()) == 12


def test_all_levels(mirror):
    net = pk.data.load("regulons_dorothea", levels=("A", "B", "C", "D", "E"))
    assert len(net) == 454_504


def test_bad_levels(mirror):
    with pytest.raises(ValueError, match="levels"):
        pk.data.load("regulons_dorothea", levels=("Z",))
