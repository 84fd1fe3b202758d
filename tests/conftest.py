"""Test session set-up: public data from the offline mirror, a private cache, no network.

The Makefile runs pytest with pytest-socket (`--disable-socket`), so a test that tried to
download would fail loudly rather than reach the network.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_DEFAULT_MIRROR = ROOT.parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: use --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config: pytest.Config) -> None:
    if "PERTURBKIT_DATA_MIRROR" not in os.environ and _DEFAULT_MIRROR.is_dir():
        os.environ["PERTURBKIT_DATA_MIRROR"] = str(_DEFAULT_MIRROR)
    os.environ.setdefault("PERTURBKIT_DATA_DIR", str(ROOT / "_build" / "test-cache"))
    os.environ.setdefault("PERTURBKIT_RESULTS_DIR", str(ROOT / "_build" / "test-results"))
    os.environ["PERTURBKIT_OFFLINE"] = "1"  # tests never download


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline mirror folder; tests needing public data skip without it (never in CI)."""
    path = os.environ.get("PERTURBKIT_DATA_MIRROR")
    if not path or not Path(path).is_dir():
        if os.environ.get("PERTURBKIT_STRICT") == "1":
            pytest.fail("strict mode: PERTURBKIT_DATA_MIRROR is not set to an existing folder")
        pytest.skip("no data mirror (set PERTURBKIT_DATA_MIRROR)")
    return Path(path)
