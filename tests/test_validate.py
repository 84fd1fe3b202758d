"""Shared input checks: each raises naming the argument, column, layer or group at fault."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from perturbkit._validate import (
    as_list,
    check_finite,
    check_layer,
    check_min_cells,
    check_probability,
)


def _adata() -> ad.AnnData:
    obs = pd.DataFrame({"perturbation": ["control"] * 3 + ["A"] * 2 + ["B"]}, index=[f"c{i}" for i in range(6)])
    x = np.arange(12, dtype=float).reshape(6, 2)
    return ad.AnnData(x, obs=obs, layers={"counts": sparse.csr_matrix(x)})


def test_check_finite_dense_names_the_position() -> None:
    x = np.ones((3, 2))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"adata.X has 1 NaN or infinite value\(s\), first at \(row, column\) \(2, 1\)"):
        check_finite(x, name="adata.X")
    np.testing.assert_array_equal(check_finite([1, 2], name="dose"), [1.0, 2.0])


def test_check_finite_sparse_stays_sparse_and_finds_inf() -> None:
    x = sparse.csr_matrix(np.array([[0, 1], [np.inf, 0]]))
    with pytest.raises(ValueError, match=r"first at \(row 1, column 0\)"):
        check_finite(x, name="adata.layers['counts']")
    ok = check_finite(sparse.csr_matrix(np.eye(3, dtype=int)), name="x")
    assert sparse.issparse(ok) and ok.dtype == float and ok.sum() == 3


def test_check_finite_rejects_text() -> None:
    with pytest.raises(ValueError, match="dose must be numeric"):
        check_finite(["1", "a lot"], name="dose")


def test_check_layer() -> None:
    a = _adata()
    assert check_layer(a, None) is a.X
    assert sparse.issparse(check_layer(a, "counts"))
    with pytest.raises(KeyError, match=r"no 'count'; available layers: \['counts'\]"):
        check_layer(a, "count")
    a.layers["bad"] = a.X.copy()
    a.layers["bad"][0, 0] = np.inf
    with pytest.raises(ValueError, match=r"adata.layers\['bad'\] has 1 NaN"):
        check_layer(a, "bad", finite=True)


@pytest.mark.parametrize("value", [0.05, 0.5, 0.999])
def test_check_probability_accepts(value: float) -> None:
    assert check_probability(value, name="level") == value


@pytest.mark.parametrize(
    ("value", "match"),
    [(95, "for a percentage pass 0.95"), (25, "pass 0.25"), (0, r"in \(0, 1\), got 0"), (1.0, "got 1.0"),
     (-0.1, "got -0.1"), (float("nan"), "got nan")],
)
def test_check_probability_rejects(value: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_probability(value, name="fdr_threshold")


def test_check_probability_rejects_non_numbers() -> None:
    with pytest.raises(TypeError, match="level must be a number"):
        check_probability("0.95", name="level")
    with pytest.raises(TypeError):
        check_probability(True, name="level")


def test_check_min_cells_names_the_group() -> None:
    a = _adata()
    assert check_min_cells(a, "perturbation", min_cells=1) == []
    with pytest.raises(ValueError, match=r"group 'B' has 1 cell\(s\), fewer than min_cells=2 to fit"):
        check_min_cells(a, "perturbation", min_cells=2, what="to fit")
    with pytest.warns(UserWarning, match="'B' has 1"):
        assert check_min_cells(a, "perturbation", min_cells=2, on_fail="warn") == ["B"]
    with pytest.raises(ValueError, match="'C' has 0 cell"):
        check_min_cells(a, "perturbation", min_cells=1, groups=["A", "C"])
    with pytest.raises(KeyError, match="no column 'guide'"):
        check_min_cells(a, "guide", min_cells=1)


def test_as_list_keeps_a_string_whole() -> None:
    assert as_list("LL.4", name="models") == ["LL.4"]
    assert as_list(("LL.4", "W1.4"), name="models") == ["LL.4", "W1.4"]
    assert as_list(None, name="models") == []
    assert as_list(np.array(["a", "b"]), name="genes") == ["a", "b"]
    assert as_list(pd.Index(["x"]), name="genes") == ["x"]
    with pytest.raises(TypeError, match="models must be a list"):
        as_list(3, name="models")
