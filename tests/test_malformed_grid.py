"""The malformed-input grid (issue #12, item 6): every public function that takes an AnnData.

A valid call of each function is taken from its own docstring example (the example runs with
the function wrapped so that its first call's arguments are recorded). That call is then
repeated on malformed copies of its AnnData, and each must end in a **clear error** (an
exception of a deliberate kind whose message is not empty) or an **explicit warning**, or give
a result that is **unchanged** (or, for non-finite input, visibly non-finite): never a silent
change of the numbers. The cases:

- ``missing_column``: an ``obs`` column the call names (``groupby``, ``cell_type_key``, ...) is
  dropped; the error must name the column.
- ``no_control``: the control label of ``groupby`` is renamed away; the error must name it.
- ``nan`` / ``inf``: one value of ``X`` (a cell of the first group, the first gene read).
- ``negative``: one count made negative, for functions given integer counts.
- ``empty``: no cells.
- ``one_cell_per_group``: one cell of each ``groupby`` group (an error, a warning or NaN rows).
- ``duplicated_names``: two cells with the same name.
- ``sparse_dense``: ``X`` switched between dense and sparse: same result.
- ``string_categorical``: categorical ``obs`` columns as plain strings and back: same result.

A case that is not malformed for a particular function (negative values where the function
reads log-expression, say) is listed in :data:`NOT_APPLICABLE` with the reason.
"""

from __future__ import annotations

import doctest
import inspect
import os
import warnings
from collections.abc import Callable
from typing import Any

import anndata as ad
import matplotlib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import perturbkit as pk

matplotlib.use("Agg")

MODULES = ("data", "pp", "tl", "pl", "get")
CASES = (
    "missing_column",
    "no_control",
    "nan",
    "inf",
    "negative",
    "empty",
    "one_cell_per_group",
    "duplicated_names",
    "sparse_dense",
    "string_categorical",
)
# Exceptions that are deliberate: a function that raises one of these has checked its input.
CLEAR = (ValueError, KeyError, TypeError, LookupError, RuntimeError, NotImplementedError, FileNotFoundError)
# Exceptions that escape from deep inside a computation (an index or a division that failed).
UNCLEAR = (IndexError, ZeroDivisionError, AttributeError, UnboundLocalError, np.linalg.LinAlgError, StopIteration)
# Arguments naming obs columns, and arguments naming the control label.
COLUMN_ARGS = ("groupby", "cell_type_key", "sample_key", "label_key", "cluster_key", "dose_key", "guide_key",
               "batch_key", "replicate_key", "condition_key", "time_key", "clone_key", "target_key")
# (function, case) pairs where the case is not malformed input for that function, and why.
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("get.dose_curves", "negative"): "reads responses (log-expression or scores), where negative values are valid",
    ("tl.gene_set_scores", "negative"): "scores log-normalised or scaled expression, where negative values are valid",
    ("get.nhood_enrichment", "missing_column"): "reads the stored uns result; the obs column is not read",
    ("pl.nhood_enrichment", "missing_column"): "draws the stored uns result; the obs column is not read",
}


def _adata_functions() -> list[str]:
    out = []
    for mod in MODULES:
        module = getattr(pk, mod)
        for name in getattr(module, "__all__", None) or dir(module):
            func = getattr(module, name, None)
            if name.startswith("_") or not inspect.isfunction(func):
                continue
            if next(iter(inspect.signature(func).parameters), None) == "adata":
                out.append(f"{mod}.{name}")
    return sorted(out)


FUNCTIONS = _adata_functions()
_RECORDED: dict[str, tuple[Callable, ad.AnnData, tuple, dict] | None] = {}


def _record(qualname: str, tmp_path) -> tuple[Callable, ad.AnnData, tuple, dict] | None:
    """Run the function's docstring example; keep a copy of the arguments of its first call."""
    if qualname in _RECORDED:
        return _RECORDED[qualname]
    mod, name = qualname.split(".")
    module = getattr(pk, mod)
    func = getattr(module, name)
    seen: list[tuple] = []

    def recorder(adata, *args, **kwargs):
        if not seen and isinstance(adata, ad.AnnData):
            seen.append((adata.copy(), args, dict(kwargs)))
        return func(adata, *args, **kwargs)

    tests = doctest.DocTestFinder(recurse=False).find(func, qualname, globs={})
    cwd = os.getcwd()
    os.chdir(tmp_path)
    setattr(module, name, recorder)
    try:
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for test in tests:
                runner.run(test, out=lambda _: None)
    finally:
        setattr(module, name, func)
        os.chdir(cwd)
        import matplotlib.pyplot as plt

        plt.close("all")
    _RECORDED[qualname] = (func, *seen[0]) if seen else None
    return _RECORDED[qualname]


# --- comparing results ------------------------------------------------------------------------
def _numbers(obj: Any, depth: int = 0) -> list[np.ndarray]:
    """The numeric content of a result, flattened in a stable order (labels ignored)."""
    if depth > 4 or obj is None:
        return []
    if isinstance(obj, ad.AnnData):
        parts = _numbers(obj.X, depth + 1)
        for key in sorted(obj.obsm):
            parts += _numbers(obj.obsm[key], depth + 1)
        for key in sorted(obj.uns):
            parts += _numbers(obj.uns[key], depth + 1)
        parts += _numbers(obj.obs.select_dtypes("number"), depth + 1)
        return parts
    if sp.issparse(obj):
        return [np.asarray(obj.toarray(), dtype=float).ravel()]
    if isinstance(obj, pd.DataFrame):
        out = []
        for col in obj:
            out += _numbers(obj[col], depth + 1)
        return out
    if isinstance(obj, pd.Series):
        if pd.api.types.is_numeric_dtype(obj) or pd.api.types.is_bool_dtype(obj):
            return [obj.to_numpy(dtype=float)]
        return [_hashed(obj.astype(str).to_numpy())]  # labels and sentences count too
    if isinstance(obj, np.ndarray):
        if np.issubdtype(obj.dtype, np.number) or obj.dtype == bool:
            return [obj.astype(float).ravel()]
        return [_hashed(obj.astype(str).ravel())] if obj.dtype.kind in "OUS" else []
    if isinstance(obj, str):
        return [_hashed(np.array([obj]))]
    if isinstance(obj, (int, float, np.number, bool)) and not isinstance(obj, str):
        return [np.array([float(obj)])]
    if isinstance(obj, dict):
        out = []
        for key in sorted(obj, key=str):
            out += _numbers(obj[key], depth + 1)
        return out
    if isinstance(obj, (list, tuple)):
        out = []
        for item in obj:
            out += _numbers(item, depth + 1)
        return out
    if hasattr(obj, "__dict__") and not callable(obj) and not isinstance(obj, matplotlib.artist.Artist):
        return _numbers({k: v for k, v in vars(obj).items() if not k.startswith("_")}, depth + 1)
    return []


def _hashed(labels: np.ndarray) -> np.ndarray:
    """Text as numbers (stable within a run), so that a changed label or sentence counts."""
    return np.array([hash(str(v)) % 2**31 for v in labels], dtype=float)


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.shape != y.shape or not np.allclose(x, y, rtol=1e-6, atol=1e-9, equal_nan=True):
            return False
    return True


def _sorted(a: list[np.ndarray]) -> list[np.ndarray]:
    return [np.sort(np.concatenate(a))] if a else []


def _nonfinite(a: list[np.ndarray]) -> bool:
    return any(not np.isfinite(x).all() for x in a)


def _slots(adata: ad.AnnData) -> dict[tuple[str, str], list[np.ndarray]]:
    """Every stored element of an AnnData, by slot and key, as numbers."""
    out = {("X", ""): _numbers(adata.X, 1)}
    for slot in ("obs", "var"):
        frame = getattr(adata, slot)
        for col in frame:
            out[(slot, str(col))] = _numbers(frame[col], 1)
    for slot in ("obsm", "varm", "layers", "uns", "obsp"):
        mapping = getattr(adata, slot)
        for key in mapping:
            out[(slot, str(key))] = _numbers(mapping[key], 1)
    return out


def _call(func: Callable, adata: ad.AnnData, args: tuple, kwargs: dict) -> tuple[str, Any, list[str]]:
    """('ok', numbers, warnings) or ('error', exception, warnings).

    The numbers are the returned value (a returned AnnData whole) and what the call wrote
    into ``adata`` (new or changed elements only: the input itself is not a result)."""
    before = _slots(adata)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = func(adata, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - classifying what escaped is the point
            return "error", exc, [str(w.message) for w in caught]
    mine = [str(w.message) for w in caught if not issubclass(w.category, (DeprecationWarning, FutureWarning))]
    written = []
    for key, value in sorted(_slots(adata).items()):
        if key not in before or not _same(before[key], value):
            written += value
    returned = _numbers(result, 1) if isinstance(result, ad.AnnData) and result is not adata else _numbers(result)
    return "ok", returned + written, mine


# --- the malformations --------------------------------------------------------------------------
def _bound(func: Callable, args: tuple, kwargs: dict) -> dict[str, Any]:
    sig = inspect.signature(func)
    out = {k: v.default for k, v in sig.parameters.items() if v.default is not inspect.Parameter.empty}
    out.update(sig.bind_partial(None, *args, **kwargs).arguments)
    return out


def _dense(x):
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def _set_x(adata: ad.AnnData, value: float, row: int, col: int) -> None:
    x = adata.X
    if sp.issparse(x):
        x = x.tolil().astype(float)
        x[row, col] = value
        adata.X = x.tocsr()
    else:
        x = np.array(x, dtype=float)
        x[row, col] = value
        adata.X = x


_CLEAN: dict[str, tuple] = {}


def _clean(qualname: str, func: Callable, adata: ad.AnnData, args: tuple, kwargs: dict) -> tuple:
    """The recorded call's result on its own input, once per function; two runs must agree."""
    if qualname not in _CLEAN:
        first = _call(func, adata.copy(), args, kwargs)
        if first[0] == "ok":
            again = _call(func, adata.copy(), args, kwargs)
            assert _same(first[1], again[1]), f"pk.{qualname}: two calls on the same input differ"
        _CLEAN[qualname] = first
    return _CLEAN[qualname]


def malform(case: str, adata: ad.AnnData, bound: dict[str, Any]) -> tuple[ad.AnnData, str | None] | None:
    """A malformed copy and the word its error must name (None = any clear error), or None if
    the case does not apply to this call."""
    adata = adata.copy()
    columns = [bound[k] for k in COLUMN_ARGS if isinstance(bound.get(k), str) and bound[k] in adata.obs]
    groupby = bound.get("groupby") if isinstance(bound.get("groupby"), str) and bound.get("groupby") in adata.obs else None
    if case == "missing_column":
        if not columns:
            return None
        del adata.obs[columns[0]]
        return adata, columns[0]
    if case == "no_control":
        control = bound.get("control")
        if groupby is None or not isinstance(control, str) or control not in set(adata.obs[groupby].astype(str)):
            return None
        labels = adata.obs[groupby].astype(str).replace({control: f"{control}_renamed"})
        adata.obs[groupby] = pd.Categorical(labels)
        return adata, control
    if case in ("nan", "inf", "negative"):
        if adata.n_obs == 0 or adata.n_vars == 0 or adata.X is None:
            return None
        x = _dense(adata.X)
        if not np.issubdtype(x.dtype, np.number):
            return None
        if case == "negative" and not (np.all(x >= 0) and np.allclose(x, np.round(x))):
            return None  # only counts can be negative by mistake
        # a cell of the first group and the first gene with signal there (a value the call reads)
        row = 0
        if groupby is not None:
            row = int(np.flatnonzero(adata.obs[groupby].astype(str).to_numpy() == str(adata.obs[groupby].iloc[0]))[0])
        nz = np.flatnonzero(x[row] != 0)
        col = int(nz[0]) if nz.size else 0
        _set_x(adata, {"nan": np.nan, "inf": np.inf, "negative": -3.0}[case], row, col)
        return adata, None
    if case == "empty":
        return adata[:0].copy(), None
    if case == "one_cell_per_group":
        if groupby is None:
            return None
        first = ~adata.obs[groupby].astype(str).duplicated().to_numpy()
        return adata[first].copy(), None
    if case == "duplicated_names":
        if adata.n_obs < 2:
            return None
        names = adata.obs_names.to_numpy().copy()
        names[1] = names[0]
        adata.obs_names = names
        return adata, None
    if case == "sparse_dense":
        if adata.X is None:
            return None
        adata.X = _dense(adata.X) if sp.issparse(adata.X) else sp.csr_matrix(adata.X)
        return adata, None
    if case == "string_categorical":
        changed = False
        for col in adata.obs:
            if isinstance(adata.obs[col].dtype, pd.CategoricalDtype):
                adata.obs[col] = adata.obs[col].astype(str).astype(object)
                changed = True
            elif adata.obs[col].dtype == object:
                adata.obs[col] = pd.Categorical(adata.obs[col])
                changed = True
        return (adata, None) if changed else None
    raise ValueError(case)


def verdict(case: str, clean: tuple, bad: tuple, word: str | None) -> str:
    """'pass' or what went wrong."""
    kind, value, warned = bad
    if kind == "error":
        if isinstance(value, UNCLEAR) or not isinstance(value, CLEAR) or not str(value).strip():
            return f"unclear error {type(value).__name__}: {str(value)[:120]}"
        if word is not None and word not in str(value):
            return f"error does not name {word!r}: {type(value).__name__}: {str(value)[:120]}"
        return "pass"
    same = clean[0] == "ok" and _same(clean[1], value)
    if case in ("missing_column", "no_control"):
        if case == "no_control" and warned:
            return "pass"
        return f"{case}: ran without an error"
    if warned or same:
        return "pass"
    if case == "string_categorical" and clean[0] == "ok" and _same(_sorted(clean[1]), _sorted(value)):
        return "pass"  # the same numbers in another order: groups listed by category order vs sorted
    if case == "empty":
        return "empty: ran without an error and gave another result"
    if case in ("nan", "inf") and _nonfinite(value):
        return "pass"  # NaN in, NaN out: visible
    if case == "one_cell_per_group" and _nonfinite(value):
        return "pass"
    if case == "one_cell_per_group":
        return "pass" if clean[0] == "ok" else "one cell per group: result without a warning"
    if case == "duplicated_names":
        return "duplicated names changed the result silently"
    return f"{case}: silent change of the result"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("qualname", FUNCTIONS)
def test_malformed_input(qualname: str, case: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    recorded = _record(qualname, tmp_path)
    assert recorded is not None, f"pk.{qualname}: its docstring example never calls it with an AnnData"
    func, adata, args, kwargs = recorded
    bound = _bound(func, args, kwargs)
    made = malform(case, adata, bound)
    if made is None:
        pytest.skip(f"{case} does not apply to this call")
    bad_adata, word = made
    if (qualname, case) in NOT_APPLICABLE:
        pytest.skip(NOT_APPLICABLE[(qualname, case)])
    clean = _clean(qualname, func, adata, args, kwargs)
    assert clean[0] == "ok", f"pk.{qualname}: the recorded call fails on its own input: {clean[1]!r}"
    result = verdict(case, clean, _call(func, bad_adata, args, kwargs), word)
    assert result == "pass", f"pk.{qualname} [{case}]: {result}"
