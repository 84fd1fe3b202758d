"""The clone simulator: arms, rings and the planted T-cell shift."""

from __future__ import annotations

import numpy as np
import pytest

import perturbkit as pk


def test_clones_layout_and_planted_shift():
    ad = pk.data.simulate_clones(30, effect=1.0, concentration=50.0, seed=0)
    assert ad.obs["clone"].nunique() == 60
    assert set(ad.obs.loc[ad.obs["cell_type"] == "Tumor", "perturbation"]) == {"KO", "NT"}
    ring = ad.obs[ad.obs["cell_type"] != "Tumor"]
    frac = ring.assign(arm=ring["clone"].astype(str).str[:2]).groupby("arm")["cell_type"].apply(lambda c: (c == "T cell").mean())
    truth = ad.uns["truth"]["t_cell_fraction"]
    assert abs(frac["KO"] - truth["KO"]) < 0.05 and abs(frac["NT"] - truth["NT"]) < 0.05
    assert truth["KO"] > truth["NT"]
    # same seed, same tissue; another seed, another tissue (a simulator ignoring its seed fails here)
    a, b, c = (pk.data.simulate_clones(3, seed=s) for s in (1, 1, 2))
    assert np.array_equal(a.obsm["spatial"], b.obsm["spatial"]) and a.obs.equals(b.obs)
    assert not np.array_equal(a.obsm["spatial"], c.obsm["spatial"])
    with pytest.raises(ValueError, match="concentration"):
        pk.data.simulate_clones(3, concentration=0)
