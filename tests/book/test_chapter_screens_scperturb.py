"""The screens chapter runs end to end, in smoke mode, on a synthetic screen in scPerturb's layout.

The synthetic file stands in for Norman 2019 (CRISPRa singles and pairs with planted effects)
through a manifest copy that pins its sha256 and a mirror folder that holds it; the other
mirrored datasets (DoRothEA) are linked in from the real mirror when there is one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "data"))

from _scperturb_fake import fake_scperturb  # noqa: E402


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_chapter_runs_on_norman_layout(tmp_path: Path, private_data) -> None:
    pytest.importorskip("papermill")
    real = os.environ.get("PERTURBKIT_DATA_MIRROR")
    private_data({"norman2019": fake_scperturb(layout="norman", seed=0)})
    env = {**os.environ, "PERTURBKIT_RESULTS_DIR": str(tmp_path / "results"), "PERTURBKIT_OFFLINE": "1",
           "PERTURBKIT_STRICT": "1" if real and Path(real).is_dir() else "0"}
    nb = tmp_path / "screens.ipynb"
    subprocess.run([_tool("jupytext"), "--to", "ipynb", "-o", str(nb), str(ROOT / "book" / "screens.md")],
                   check=True, capture_output=True)
    run = subprocess.run(
        [_tool("papermill"), "-k", "perturbkit", "--cwd", str(ROOT), "-p", "smoke", "True",
         "-p", "dataset", "norman2019", "-p", "combination_dataset", "norman2019",
         str(nb), str(tmp_path / "out.ipynb")],
        env=env, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads((tmp_path / "results" / "screens.json").read_text())
    assert out["dataset"] == "norman2019" and out["combination_dataset"] == "norman2019"
    assert out["assignment_rates"] is None  # no guide UMI counts: assignment skipped
    # CRISPRa: every measured target is up in its cells (planted x6 in 80 % of cells)
    remaining = [row["remaining"] for row in out["knockdown"]]
    assert len(remaining) == 12 and min(remaining) > 2, remaining
    # Mixscape finds the planted 80 % perturbed cells
    ko = out["knockout_fraction"]
    assert all(0.6 < v < 0.95 for v in ko.values()), ko
    # calibration on the control guides stays near nominal
    fpr = {row["index"]: row for row in out["null_false_positive_rate"]}
    assert fpr["p < 0.05"]["permutation"] < 0.1, fpr
    scores = out["combination_scores"]
    assert sum(row["pairs"] for row in scores) == 6  # half of the 12 measured pairs held out
    notebook = (tmp_path / "out.ipynb").read_text()
    assert "Guide assignment skipped" in notebook
