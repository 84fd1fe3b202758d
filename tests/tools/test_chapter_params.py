"""Chapter parameters: read from each chapter's parameters cell, -p text typed to match."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import jupytext
import pytest
from papermill.translators import PythonTranslator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import chapter_params as cp  # noqa: E402  (a script beside run_chapter.py, not a package)
from chapters import CHAPTERS  # noqa: E402


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_parameter_cell_parses_and_papermill_sees_every_name(
    chapter: str, caplog: pytest.LogCaptureFixture
) -> None:
    params = cp.declared(chapter)
    assert {"seed", "smoke"} <= set(params)
    assert params["seed"].type == "int" and params["seed"].default == 0
    assert params["smoke"].type == "bool" and params["smoke"].default is False
    assert all(p.help for p in params.values()), "every parameter has a help comment"
    nb = jupytext.read(ROOT / "book" / f"{chapter}.md")
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    with caplog.at_level(logging.WARNING, logger="papermill"):
        seen = [p.name for p in PythonTranslator.inspect(cell)]
    assert "Unable to parse" not in caplog.text
    assert seen == list(params)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(cp.ParameterError, match=r"principles has no parameter 'sede' \(did you mean seed\?\); "
                       r"known parameters: seed, smoke, dataset"):
        cp.parse("principles", {"sede": "1"})


def test_text_is_typed_like_the_declaration() -> None:
    got = cp.parse("principles", {"smoke": "false", "n_perms": "1e3", "holdout": "B cells", "cycle_weight": "2"})
    assert got == {"smoke": False, "n_perms": 1000, "holdout": "B cells", "cycle_weight": 2.0}
    assert type(got["n_perms"]) is int and type(got["cycle_weight"]) is float
    assert cp.parse("principles", {"smoke": "True", "loco": "0"}) == {"smoke": True, "loco": False}


def test_lists_and_tuples() -> None:
    # one model name is a one-element tuple, not its letters
    assert cp.parse("dose_response", {"candidate_models": "LL.4"}) == {"candidate_models": ("LL.4",)}
    assert cp.parse("dose_response", {"candidate_models": "LL.4, W1.4"}) == {"candidate_models": ("LL.4", "W1.4")}
    assert cp.parse("screens", {"moi_grid": "0.1,1"}) == {"moi_grid": [0.1, 1.0]}
    assert cp.parse("screens", {"moi_grid": "[0.5, 2]"}) == {"moi_grid": [0.5, 2.0]}
    assert cp.parse("screens", {"rra_targets": "STAT1"}) == {"rra_targets": ["STAT1"]}
    with pytest.raises(cp.ParameterError, match=r"moi_grid\[1\] is a float, got 'x'"):
        cp.parse("screens", {"moi_grid": "0.1,x"})


def test_dicts_merge_over_their_default_with_typed_checked_keys() -> None:
    default = cp.declared("screens")["budgets"].default
    assert default["gnn_epochs"] == 400 and cp.declared("screens")["budgets"].help.startswith("per-method budgets")
    # YAML or a Python literal; only the given keys change; text is typed like the key's default
    got = cp.parse("screens", {"budgets": "{gnn_epochs: 1e2, rra_null: '50'}"})["budgets"]
    assert got == {**default, "gnn_epochs": 100, "rra_null": 50}
    assert type(got["gnn_epochs"]) is int
    assert cp.parse("screens", {"simulations": '{"moi_cells": 500}'})["simulations"]["moi_cells"] == 500
    assert cp.parse("screens", {"budgets": {"gnn_layers": 3}})["budgets"]["gnn_layers"] == 3
    with pytest.raises(cp.ParameterError, match=r"budgets has no key 'gnn_epoch' \(did you mean gnn_epochs\?\); "
                       r"known keys: design_permutations, rra_null"):
        cp.parse("screens", {"budgets": "{gnn_epoch: 100}"})
    with pytest.raises(cp.ParameterError, match=r"budgets\['gnn_hidden'\] is an int, got '2.5'"):
        cp.parse("screens", {"budgets": "{gnn_hidden: 2.5}"})
    with pytest.raises(cp.ParameterError, match="scperturb is a dict: pass a mapping"):
        cp.parse("screens", {"scperturb": "25"})


def test_screens_groups_its_settings_into_at_most_twelve_parameters() -> None:
    # issue #15: a reader sees the knobs they would turn; per-method budgets sit in dicts
    params = cp.declared("screens")
    assert len(params) <= 12, list(params)
    assert {p.name for p in params.values() if p.type == "dict"} == {"scperturb", "budgets", "simulations"}


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [("smoke", "flase", "smoke is a bool: pass true or false"),
     ("n_perms", "2.5", "n_perms is an int, got '2.5' \\(not a whole number\\)"),
     ("n_perms", "many", "n_perms is an int, got 'many'"),
     ("cycle_weight", "inf", "cycle_weight must be a finite number"),
     ("seed", "None", "seed \\(int\\) cannot be None")],
)
def test_bad_values_fail_with_one_line(name: str, text: str, match: str) -> None:
    with pytest.raises(cp.ParameterError, match=match):
        cp.parse("principles", {name: text})


def test_typed_values_from_python_are_checked() -> None:
    assert cp.parse("principles", {"seed": 2, "smoke": True, "n_perms": 1e3}) == {"seed": 2, "smoke": True,
                                                                                   "n_perms": 1000}
    with pytest.raises(cp.ParameterError, match="holdout is a str, got 3"):
        cp.parse("principles", {"holdout": 3})


def test_a_parameter_cell_that_is_not_declarations_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "bad.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n---\n"
        "```{code-cell} ipython3\n:tags: [parameters]\nseed = 0\n```\n"
    )
    with pytest.raises(cp.ParameterError, match="line 1: write each parameter as `name: type = value"):
        cp.declared("bad", tmp_path)
