"""pk.book: what every chapter calls."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import perturbkit as pk


def test_record_merges_and_serialises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERTURBKIT_RESULTS_DIR", str(tmp_path))
    pk.book.record("unit_demo", ed50=np.float64(3.058), table=pd.DataFrame({"gene": ["ISG15"], "lfc": [6.1]}))
    path = pk.book.record("unit_demo", missing=float("nan"), counts=np.array([1, 2]))
    data = json.loads(path.read_text())
    assert data["ed50"] == 3.058
    assert data["table"] == [{"index": 0, "gene": "ISG15", "lfc": 6.1}]
    assert data["missing"] is None  # NaN is not valid JSON: stored as null
    assert data["counts"] == [1, 2]
    assert "runtime_s" in data["_meta"]


def test_provenance_returns_pinned_files() -> None:
    files = pk.book.provenance("kang2018_ifnb_muscat")
    assert files.loc["example_sce.rda", "sha256"] == "f66811fa513a01a91dae01bad308e96ed5238277246b911d8e1cd5f4425c3ed9"
    assert files.loc["example_sce.rda", "url"].startswith("https://")
    with pytest.raises(KeyError, match="unknown dataset"):
        pk.book.provenance("kang2019")


def test_banner_outside_a_notebook_prints(capsys: pytest.CaptureFixture[str]) -> None:
    pk.book.banner("runs on simulated data", title="Simulated stand-in")
    assert capsys.readouterr().out.strip() == "Simulated stand-in: runs on simulated data"


def test_setup_seeds_numpy_deterministically() -> None:
    pk.book.setup(seed=3)
    a = np.random.rand(3)  # noqa: NPY002 - checks the legacy global generator
    pk.book.setup(seed=3)
    assert np.array_equal(a, np.random.rand(3))  # noqa: NPY002


def test_setup_limits_blas_and_torch_threads() -> None:
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    before = torch.get_num_threads()
    with threadpool_limits(2):  # whatever setup does to BLAS is undone on leaving
        try:
            pk.book.setup(seed=0, threads=1)
            assert torch.get_num_threads() == 1
            blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
            assert blas and set(blas) == {1}, threadpool_info()
            torch.set_num_threads(2)
            pk.book.setup(seed=0, threads=None)  # None leaves both alone
            assert torch.get_num_threads() == 2
            assert {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"} == {1}
            with pytest.raises(ValueError, match="threads must be >= 1 or None, got 0"):
                pk.book.setup(seed=0, threads=0)
        finally:
            torch.set_num_threads(before)


def test_session_info_lists_versions(capsys: pytest.CaptureFixture[str]) -> None:
    table = pk.book.session_info(("pooch",))
    assert table.loc["numpy", "version"] == np.__version__
    assert "pooch" in table.index
    assert "Python 3.11" in capsys.readouterr().out
