"""The principles chapter runs end to end on ``dataset="kang2018_full"``.

pertpy's file is not in the mirror, so the muscat cells are written in its documented layout
(counts in ``X``, ``label`` ctrl/stim, ``replicate`` patient_<donor>, ...; see
``perturbkit/data/_loaders/kang2018_full.py``) and served, sha256-pinned, as that dataset.
The chapter then takes the full-data path: loader options, subsampling, the cell-count table
of the loader, and no hidden check (those describe the muscat subset).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import perturbkit as pk

ROOT = Path(__file__).resolve().parents[2]


def _notebook(tmp_path: Path) -> Path:
    import jupytext

    nb = jupytext.read(ROOT / "book" / "principles.md")
    path = tmp_path / "principles.ipynb"
    jupytext.write(nb, path)
    return path


def test_chapter_smoke_on_the_full_data_path(mirror, tmp_path, pertpy_kang_layout, private_data, monkeypatch):
    papermill = pytest.importorskip("papermill")
    private_data({"kang2018_full": pertpy_kang_layout(pk.data.load("kang2018_ifnb_muscat"))})
    monkeypatch.setenv("PERTURBKIT_STRICT", "1")  # no simulated stand-in may slip in
    monkeypatch.setenv("PERTURBKIT_RESULTS_DIR", str(tmp_path / "results"))
    papermill.execute_notebook(
        str(_notebook(tmp_path)), str(tmp_path / "out.ipynb"), kernel_name="perturbkit", cwd=str(ROOT),
        parameters={"smoke": True, "dataset": "kang2018_full", "checkpoint_dir": str(tmp_path / "ckpt")},
        progress_bar=False,
    )
    results = json.loads((tmp_path / "results" / "principles.json").read_text())
    assert results["dataset"] == "kang2018_full"
    assert "embedding_prediction" in results


def test_chapter_names_the_cell_types_for_a_wrong_holdout(mirror, tmp_path, pertpy_kang_layout, private_data,
                                                          monkeypatch):
    papermill = pytest.importorskip("papermill")
    private_data({"kang2018_full": pertpy_kang_layout(pk.data.load("kang2018_ifnb_muscat"))})
    monkeypatch.setenv("PERTURBKIT_RESULTS_DIR", str(tmp_path / "results"))
    with pytest.raises(papermill.PapermillExecutionError, match=r"holdout='CD4\+ T cells'.*'CD4 T cells'"):
        papermill.execute_notebook(
            str(_notebook(tmp_path)), str(tmp_path / "out.ipynb"), kernel_name="perturbkit", cwd=str(ROOT),
            parameters={"smoke": True, "dataset": "kang2018_full", "holdout": "CD4+ T cells",
                        "checkpoint_dir": str(tmp_path / "ckpt")},
            progress_bar=False,
        )
