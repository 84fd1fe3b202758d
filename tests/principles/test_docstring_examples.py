"""The Examples sections of the principles modules run (on simulators) and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "perturbkit.data._simulate_perturbation",
    "perturbkit.get._pseudobulk",
    "perturbkit.get._cell_counts",
    "perturbkit.tl._edistance",
    "perturbkit.tl._pseudobulk",
    "perturbkit.tl._wilcoxon",
    "perturbkit.tl._de_calibration",
    "perturbkit.tl._tf_activity",
    "perturbkit.tl._augur",
    "perturbkit.tl._scdist",
    "perturbkit.tl._composition",
    "perturbkit.tl._response_prediction",
    "perturbkit.tl._unseen_perturbations",
    "perturbkit.tl._expression_transformer",
]
DATA_MODULES = [
    "perturbkit.data._loaders.kang2018_ifnb_muscat",
    "perturbkit.data._loaders.composition_haber2017_sccoda",
    "perturbkit.data._loaders.regulons_dorothea",
]


def _run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0, f"{result.failed} example(s) failed in {name}"


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    _run(name)


@pytest.mark.parametrize("name", DATA_MODULES)
def test_loader_examples(name, mirror):
    _run(name)
