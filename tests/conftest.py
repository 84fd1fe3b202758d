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


# --- pertpy's kang_2018.h5ad, simulated: the layout documented in data/_loaders/kang2018_full.py


def _pertpy_kang_layout(adata, seed: int = 0):
    """Rewrite a schema AnnData (counts in ``layers["counts"]``, ``perturbation``, ``cell_type``,
    ``donor``) in the layout of pertpy's ``kang_2018.h5ad``: counts in ``X``, ``label``
    ctrl/stim, ``replicate`` ``patient_<donor>``, the Seurat columns, ``var["name"]``,
    ``obsm`` ``X_pca``/``X_umap``, no layers."""
    import numpy as np
    import pandas as pd
    from anndata import AnnData
    from scipy import sparse

    rng = np.random.default_rng(seed)
    counts = sparse.csr_matrix(adata.layers["counts"] if "counts" in adata.layers else adata.X, dtype=np.float32)
    stim = (adata.obs["perturbation"].astype(str) != "control").to_numpy()
    obs = pd.DataFrame({
        "nCount_RNA": np.asarray(counts.sum(1)).ravel(),
        "nFeature_RNA": np.asarray((counts > 0).sum(1)).ravel().astype(np.int32),
        "tsne1": rng.normal(size=adata.n_obs),
        "tsne2": rng.normal(size=adata.n_obs),
        "label": pd.Categorical(np.where(stim, "stim", "ctrl"), categories=["ctrl", "stim"]),
        "cluster": adata.obs["cell_type"].cat.codes.to_numpy().astype(np.int32) + 1,
        "cell_type": pd.Categorical(adata.obs["cell_type"].astype(str)),
        "replicate": pd.Categorical("patient_" + adata.obs["donor"].astype(str)),
        "nCount_SCT": np.asarray(counts.sum(1)).ravel(),
        "nFeature_SCT": np.asarray((counts > 0).sum(1)).ravel().astype(np.int32),
        "integrated_snn_res.0.4": pd.Categorical(adata.obs["cell_type"].cat.codes.astype(str)),
        "seurat_clusters": pd.Categorical(adata.obs["cell_type"].cat.codes.astype(str)),
    }, index=[f"CELL{i:06d}-{1 + int(s)}" for i, s in enumerate(stim)])  # 10x-style: -1 ctrl, -2 stim
    var = pd.DataFrame({"name": adata.var_names.astype(str)}, index=adata.var_names.astype(str))
    out = AnnData(X=counts, obs=obs, var=var)
    out.obsm["X_pca"] = rng.normal(size=(adata.n_obs, 50)).astype(np.float32)
    out.obsm["X_umap"] = rng.normal(size=(adata.n_obs, 2)).astype(np.float32)
    return out


@pytest.fixture()
def pertpy_kang_layout():
    """The function writing a schema AnnData in pertpy's ``kang_2018.h5ad`` layout."""
    return _pertpy_kang_layout


@pytest.fixture()
def private_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``install({dataset_id: AnnData, ...})``: serve synthetic files as public datasets.

    Each AnnData is written as its dataset's (single) manifest file into a private mirror,
    with a private copy of data_manifests/ pinning its sha256 and a private cache, so that
    ``pk.data.load(dataset_id)`` reads it verified and never touches the real cache. The real
    mirror's other datasets are linked in, so a chapter still finds them. Returns the mirror.
    """
    import hashlib
    import shutil

    import yaml

    from perturbkit.data import _fetch, _manifest

    installed: list[str] = []
    mirror, manifests = tmp_path / "mirror", tmp_path / "manifests"

    def install(files: dict) -> Path:
        mirror.mkdir(parents=True, exist_ok=True)
        if not manifests.exists():
            shutil.copytree(ROOT / "data_manifests", manifests)
        real = os.environ.get("PERTURBKIT_DATA_MIRROR")
        if real and Path(real).is_dir() and Path(real).resolve() != mirror.resolve():
            for entry in Path(real).iterdir():
                if entry.is_dir() and entry.name not in files and not (mirror / entry.name).exists():
                    (mirror / entry.name).symlink_to(entry.resolve())
        for dataset_id, adata in files.items():
            doc = yaml.safe_load((manifests / f"{dataset_id}.yaml").read_text())
            target = mirror / dataset_id / doc["files"][0]["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            adata.write_h5ad(target)
            (tmp_path / "cache" / dataset_id / target.name).unlink(missing_ok=True)  # a new file replaces it
            doc["files"][0].update(sha256=hashlib.sha256(target.read_bytes()).hexdigest(), size=target.stat().st_size)
            doc["files"][0].pop("md5", None)
            (manifests / f"{dataset_id}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
            installed.append(dataset_id)
        monkeypatch.setenv("PERTURBKIT_MANIFESTS", str(manifests))
        monkeypatch.setenv("PERTURBKIT_DATA_MIRROR", str(mirror))
        monkeypatch.setenv("PERTURBKIT_DATA_DIR", str(tmp_path / "cache"))
        _manifest._all.cache_clear()
        return mirror

    yield install
    _manifest._all.cache_clear()
    for key in [k for k in _fetch._USED if k[0] in installed]:
        _fetch._USED.pop(key)
