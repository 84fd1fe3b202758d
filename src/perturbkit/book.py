"""Helpers every chapter of the book calls: preamble, provenance box, banners,
headline numbers for ``_build/results/<chapter>.json``, session info, and the course
machinery (``quiz``, ``course_frame``; see CONTRIBUTING "Writing an exercise or quiz")."""

from __future__ import annotations

import html
import json
import os
import platform
import random
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._course_frame import course_frame as course_frame
from ._course_frame import course_table as course_table
from ._display import banner as banner
from ._display import display_html as _display_html
from ._display import in_notebook as _in_notebook
from ._quiz import quiz as quiz
from ._quiz import quiz_anchor as quiz_anchor

__all__ = [
    "banner", "course_frame", "course_table", "provenance", "quiz", "quiz_anchor", "record", "results_dir",
    "session_info", "setup",
]

_START = time.time()
_RESULTS: dict[str, dict[str, Any]] = {}
_SEED: int | None = None


def setup(seed: int = 0, *, dpi: int = 90, threads: int | None = 1) -> None:
    """Chapter preamble: seed every generator, quiet logs, consistent figures, one thread.

    Returns
    -------
    None

    Parameters
    ----------
    seed
        Seeds :mod:`random`, numpy's global generator and torch (when installed).
    dpi
        Figure resolution.
    threads
        Threads of the BLAS libraries (numpy, scipy, scikit-learn) and of torch; ``None``
        leaves both as they are. One by default: the book's matrices are small, and on a
        shared 2-core machine a second thread costs more in contention than it saves
        (measured on the loaded build machine: the PCA of 1,356 cells x 500 genes took
        0.4 s with one BLAS thread and 5-12 s with two; scGen's training 4.8 s against 10 s).

    Examples
    --------
    >>> import perturbkit as pk
    >>> pk.book.setup(seed=0)
    >>> import torch
    >>> torch.get_num_threads()
    1
    """
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1 or None, got {threads}")
    global _SEED, _START
    _SEED, _START = seed, time.time()
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - libraries (scanpy, sklearn) still draw from it
    try:
        import torch

        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.set_num_threads(threads or torch.get_num_threads())
    except ImportError:
        pass
    import matplotlib as mpl
    import scanpy as sc

    if threads is not None:
        from threadpoolctl import threadpool_limits

        # after the imports above, so that the BLAS libraries numpy and scipy loaded are limited too
        threadpool_limits(threads)

    sc.settings.verbosity = 0
    # Without ipywidgets tqdm.auto falls back to a text bar; its warning about that is noise
    # on every rendered page.
    warnings.filterwarnings("ignore", message="IProgress not found")
    mpl.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "figure.figsize": (5.5, 4)})
    pd.set_option("display.precision", 4)
    pd.set_option("display.max_columns", 20)


def provenance(dataset_id: str) -> pd.DataFrame:
    """Show the provenance box of a dataset and return its files as a table.

    Parameters
    ----------
    dataset_id
        A manifest id.

    Returns
    -------
    DataFrame
        One row per file: bytes, sha256, url.

    The box names the dataset, citation, DOI, licence, and each file with its public
    URL (or archive and member) and sha256, as pinned in ``data_manifests/``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> files = pk.book.provenance("drc_classic_doseresponse")  # doctest: +ELLIPSIS
    Dataset drc_classic_doseresponse...
    >>> int(files.loc["ryegrass.rda", "bytes"])
    382
    """
    from .data import manifest

    m = manifest(dataset_id)
    rows = [
        {
            "file": f.name,
            "bytes": f.size,
            "sha256": f.sha256,
            "url": f.url or f"{f.archive_url} :: {f.member}",
            # unverified manifests may pin only a published md5 and no size
            "checksum": ("sha256", f"{f.sha256[:16]}…") if f.sha256 else (("md5", f.md5) if f.md5 else ("", "no checksum")),
            "size": f"{f.size:,} bytes" if f.size else "size unknown",
        }
        for f in m.files
    ]
    table = pd.DataFrame(rows).drop(columns=["checksum", "size"]).set_index("file")
    doi = f'<a href="https://doi.org/{m.doi}">doi:{m.doi}</a>' if m.doi else ""
    shown = rows if len(rows) <= 6 else rows[:6]
    items = "".join(
        f"<li><code>{html.escape(r['file'])}</code> ({r['size']}) {r['checksum'][0]} "
        f"<code>{html.escape(r['checksum'][1])}</code> from <a href=\"{html.escape(r['url'].split(' :: ')[0])}\">"
        f"{html.escape(r['url'])}</a></li>"
        for r in shown
    )
    more = f"<li>… and {len(rows) - len(shown)} more files (see data_manifests/{m.id}.yaml)</li>" if len(rows) > 6 else ""
    if _in_notebook():
        _display_html(
            f'<div class="admonition note"><p class="admonition-title">Data: {html.escape(m.title)}</p>'
            f"<p><b>Dataset</b> <code>{m.id}</code>. <b>Citation</b>: {html.escape(m.citation)} {doi}</p>"
            f"<p><b>Licence</b>: {html.escape(m.license)}</p><ul>{items}{more}</ul></div>"
        )
    else:
        print(f"Dataset {m.id}: {m.citation} doi:{m.doi}")
    return table


def results_dir() -> Path:
    """Where chapters write headline numbers: ``PERTURBKIT_RESULTS_DIR`` or ``_build/results``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> import os
    >>> os.environ["PERTURBKIT_RESULTS_DIR"] = "/tmp/pk-results"
    >>> str(pk.book.results_dir())
    '/tmp/pk-results'
    """
    return Path(os.environ.get("PERTURBKIT_RESULTS_DIR", "_build/results"))


def benchmark(name: str) -> dict[str, Any]:
    """Committed results of ``benchmarks/<name>.py`` (``benchmarks/results/<name>.json``).

    Chapters show cross-checks against reference packages from these files: the reference
    tools are optional extras, so the book reads the numbers a benchmark run recorded
    instead of rerunning it.

    Parameters
    ----------
    name
        Benchmark script name without ``.py`` (e.g. ``"pooled_screen"``).

    Returns
    -------
    dict
        The parsed JSON.

    Examples
    --------
    >>> import perturbkit as pk
    >>> pk.book.benchmark("pooled_screen")["rra_null_perturbkit"]
    'exact'
    """
    here = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / f"{name}.json"
    for path in (here, Path("benchmarks") / "results" / f"{name}.json"):
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError(f"no committed results for benchmark {name!r}: run benchmarks/{name}.py (looked at {here})")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return _jsonable(value.reset_index().to_dict(orient="records"))
    if isinstance(value, pd.Series):
        return _jsonable(value.to_dict())
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def record(chapter: str, **values: Any) -> Path:
    """Add headline numbers to ``_build/results/<chapter>.json`` (and return its path).

    Parameters
    ----------
    chapter
        Chapter id (``principles``, ``screens``, ``dose_response``, ``spatial``, ``applications``).
    **values
        Named numbers or tables.

    Returns
    -------
    Path
        The JSON file written.

    Values may be numbers, strings, dicts, lists, Series or DataFrames (stored as
    records). Later calls in the same process add keys to the same file.

    Examples
    --------
    >>> import perturbkit as pk, tempfile, os
    >>> os.environ["PERTURBKIT_RESULTS_DIR"] = tempfile.mkdtemp()
    >>> path = pk.book.record("demo", ed50=3.058)
    >>> import json; json.loads(path.read_text())["ed50"]
    3.058
    """
    store = _RESULTS.setdefault(chapter, {})
    store.update(_jsonable(values))
    store["_meta"] = {"seed": _SEED, "runtime_s": round(time.time() - _START, 2), "datasets": _datasets()}
    out = results_dir() / f"{chapter}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(store, indent=1, sort_keys=True))
    return out


def _datasets() -> list[dict[str, str]]:
    from .data import fallbacks_used, used_datasets

    return used_datasets() + [{**f, "source": "simulated stand-in"} for f in fallbacks_used()]


def session_info(packages: tuple[str, ...] = ()) -> pd.DataFrame:
    """Print and return what this run used: Python, key package versions, seed,
    runtime and the sha256 of every data file read.

    Parameters
    ----------
    packages
        Extra package names to report.

    Returns
    -------
    DataFrame
        Package -> version.

    Examples
    --------
    >>> import perturbkit as pk
    >>> info = pk.book.session_info()  # doctest: +ELLIPSIS
    Python ...
    """
    base = ("perturbkit", "numpy", "scipy", "pandas", "anndata", "scanpy", "scikit-learn", "torch")
    rows = []
    for name in dict.fromkeys(base + tuple(packages)):
        try:
            rows.append({"package": name, "version": metadata.version(name)})
        except metadata.PackageNotFoundError:
            rows.append({"package": name, "version": "not installed"})
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}; "
          f"seed {_SEED}; runtime {time.time() - _START:.1f} s")
    table = pd.DataFrame(rows).set_index("package")
    print(table.to_string())
    used = _datasets()
    if used:
        print(pd.DataFrame(used).to_string(index=False))
    return table
