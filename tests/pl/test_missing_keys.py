"""A pl/get reader on an AnnData without its writer's keys names the call that creates them.

The keys come from one registry (perturbkit._keys), so the reader, the writer and this test
cannot disagree on a name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import perturbkit as pk
from perturbkit import _keys


@pytest.fixture
def bare() -> AnnData:
    rng = np.random.default_rng(0)
    obs = pd.DataFrame({"perturbation": ["control", "T0"] * 10, "cell_type": ["a", "b"] * 10,
                        "dose": np.tile([0.0, 1.0], 10)}, index=[f"c{i}" for i in range(20)])
    return AnnData(rng.poisson(2, (20, 5)).astype(float), obs=obs)


READERS = [
    ("pl.guide_mixture", lambda a: pk.pl.guide_mixture(a, "T0g1"), r"pk\.tl\.assign_guides"),
    ("pl.mixscape", lambda a: pk.pl.mixscape(a, ["T0"]), r"pk\.tl\.mixscape"),
    ("pl.resistance_curves", lambda a: pk.pl.resistance_curves(a), r"pk\.tl\.resistant_subpopulation"),
    ("pl.nhood_enrichment", lambda a: pk.pl.nhood_enrichment(a), r"pk\.tl\.nhood_enrichment"),
    ("get.nhood_enrichment", lambda a: pk.get.nhood_enrichment(a), r"pk\.tl\.nhood_enrichment"),
    ("pl.flowsig", lambda a: pk.pl.flowsig(a), r"pk\.tl\.flowsig"),
    ("pl.screen_counts", lambda a: pk.pl.screen_counts(a), r"pk\.pp\.normalize_screen"),
    ("get.dose_curves", lambda a: pk.get.dose_curves(a, obsm_key="gene_set_scores"), r"pk\.tl\.gene_set_scores"),
]


@pytest.mark.parametrize(("name", "call", "producer"), READERS, ids=[r[0] for r in READERS])
def test_missing_key_names_the_writer(bare, name, call, producer):
    with pytest.raises(KeyError, match=producer):
        call(bare)


def test_obs_without_uns_still_names_the_writer(bare):
    # uns present but the obs columns dropped (e.g. after subsetting obs by hand)
    bare.uns[_keys.MIXSCAPE] = {"params": {}, "summary": None}
    with pytest.raises(KeyError, match=r"mixscape_class.*pk\.tl\.mixscape"):
        pk.pl.mixscape(bare, ["T0"])


def test_readers_find_what_writers_wrote():
    """Writer defaults and reader defaults are the registry's names (a rename changes both)."""
    sim = pk.data.simulate_screen(n_cells=300, n_genes=20, seed=0)
    pk.tl.assign_guides(sim, method="mixture")
    assert _keys.GUIDE in sim.uns and _keys.GUIDE_NAMES in sim.uns
    pk.tl.perturbation_signature(sim)
    assert _keys.PERTURBATION_SIGNATURE in sim.layers
    pk.tl.mixscape(sim)
    assert {_keys.obs_key(_keys.MIXSCAPE, f) for f in ("class", "score")} <= set(sim.obs.columns)
    res = pk.data.simulate_resistance(seed=0)
    pk.tl.resistant_subpopulation(res)
    assert {_keys.obs_key(_keys.RESISTANCE, f) for f in ("score", "prob")} <= set(res.obs.columns)
