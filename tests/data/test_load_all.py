"""Every mirrored dataset loads, and AnnData results keep the shared obs schema."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData
from scipy import sparse

import perturbkit as pk
from perturbkit._validate import check_counts

VERIFIED = sorted(i for i, m in pk.data.manifests().items() if m.verified)


def test_fifteen_verified_datasets() -> None:
    assert len(VERIFIED) == 15


@pytest.mark.parametrize("dataset_id", VERIFIED)
def test_load_returns_data_with_the_shared_schema(dataset_id: str, mirror: Path) -> None:
    out = pk.data.load(dataset_id)
    if isinstance(out, AnnData):
        assert out.n_obs > 0 and out.n_vars > 0
        assert out.uns["dataset"] == dataset_id
        assert out.obs_names.is_unique and out.var_names.is_unique
        unknown = {"perturbation", "dose", "dose_unit", "cell_type", "replicate", "donor"} & set(out.obs)
        assert unknown, f"{dataset_id}: none of the schema columns in obs"
        # pooled screens are sgRNA x sample tables: rows are guides, not cells, and need no control
        if "perturbation" in out.obs and not dataset_id.startswith("pooled_crispr"):
            assert pk.data.CONTROL in set(out.obs["perturbation"].astype(str)), f"{dataset_id}: no 'control' cells"
        if "dose" in out.obs:
            assert np.issubdtype(out.obs["dose"].dtype, np.floating)
            assert (out.obs["dose"] >= 0).all()
        if "counts" in out.layers:
            counts = out.layers["counts"]
            check_counts(counts, name=f"{dataset_id} counts")
            assert sparse.issparse(counts) or isinstance(counts, np.ndarray)
    elif isinstance(out, pd.DataFrame):
        assert len(out) > 0 and not pk.data.is_stand_in(dataset_id)
    else:
        assert isinstance(out, dict) and out, f"{dataset_id}: unexpected {type(out).__name__}"
        assert all(isinstance(v, pd.DataFrame | AnnData) and len(v) > 0 for v in out.values())
