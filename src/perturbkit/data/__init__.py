"""Public datasets (pinned by sha256 in ``data_manifests/``) and simulators with planted truth.

Resolution order for every file: cache (``PERTURBKIT_DATA_DIR``), mirror folder
(``PERTURBKIT_DATA_MIRROR``), public URL (pooch). Strict mode (``PERTURBKIT_STRICT=1``)
turns a missing dataset into an error instead of a simulated stand-in.
"""

from ._fetch import (
    DataUnavailableError,
    HashMismatchWarning,
    cache_dir,
    download_all,
    fetch,
    is_strict,
    mirror_dir,
    used_datasets,
)
from ._load import CONTROL, SCHEMA, fallbacks_used, list_datasets, load
from ._manifest import manifest, manifests

# simulators (one module per kind of experiment)

list = list_datasets  # noqa: A001 - `pk.data.list()` is the documented spelling

__all__ = [
    "CONTROL",
    "SCHEMA",
    "DataUnavailableError",
    "HashMismatchWarning",
    "cache_dir",
    "download_all",
    "fallbacks_used",
    "fetch",
    "is_strict",
    "list",
    "list_datasets",
    "load",
    "manifest",
    "manifests",
    "mirror_dir",
    "used_datasets",
]
