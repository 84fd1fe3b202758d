"""Every manifest in data_manifests/: ids match file names, https only, unverified ones explain
themselves (a note, and an md5 or sha256 for each file unless the note says none is published)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PATHS = sorted((ROOT / "data_manifests").glob("*.yaml"))
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MD5 = re.compile(r"^[0-9a-f]{32}$")
# The phrase an unverified manifest uses when no hash of any kind exists yet (pertpy files).
NO_CHECKSUM = "no checksum is published"


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


VERIFIED = [p for p in PATHS if _load(p).get("verified", False)]
UNVERIFIED = [p for p in PATHS if not _load(p).get("verified", False)]


def _urls(raw: dict) -> list[str]:
    urls = []
    for f in raw.get("files", []):
        urls += [u for u in (f.get("url"), (f.get("archive") or {}).get("url")) if u]
    return urls


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_id_matches_file_name(path: Path) -> None:
    assert _load(path)["id"] == path.stem


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_every_url_is_https(path: Path) -> None:
    raw = _load(path)
    urls = _urls(raw)
    assert urls, f"{path.name} names no URL"
    for url in urls:
        assert url.startswith("https://"), f"{path.name}: {url}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_hashes_are_well_formed_and_sizes_real(path: Path) -> None:
    for f in _load(path).get("files", []):
        if f.get("sha256") is not None:
            assert SHA256.match(f["sha256"]), f"{path.name}/{f['name']}: sha256 {f['sha256']!r}"
        if f.get("md5") is not None:
            assert MD5.match(f["md5"]), f"{path.name}/{f['name']}: md5 {f['md5']!r}"
        if "size" in f:
            assert isinstance(f["size"], int) and f["size"] > 0, f"{path.name}/{f['name']}: size"


@pytest.mark.parametrize("path", VERIFIED, ids=lambda p: p.stem)
def test_verified_means_sha256_for_every_file(path: Path) -> None:
    for f in _load(path)["files"]:
        sha = f.get("sha256") or (f.get("archive") or {}).get("sha256")
        assert sha, f"{path.name}/{f['name']}: verified but no sha256"


@pytest.mark.parametrize("path", UNVERIFIED, ids=lambda p: p.stem)
def test_unverified_has_note_and_a_hash(path: Path) -> None:
    raw = _load(path)
    note = (raw.get("note") or "").strip()
    assert note, f"{path.name}: unverified manifest without a note"
    for f in raw["files"]:
        if f.get("md5") or f.get("sha256"):
            continue
        # No hash exists anywhere yet: allowed only when the note says so.
        assert NO_CHECKSUM in note.lower(), (
            f"{path.name}/{f['name']}: no md5/sha256 and no explanation"
        )
        assert "size" not in f, f"{path.name}/{f['name']}: a size without a download"


@pytest.mark.parametrize("path", UNVERIFIED, ids=lambda p: p.stem)
def test_unverified_md5_note_names_its_source(path: Path) -> None:
    raw = _load(path)
    if any(f.get("md5") for f in raw["files"]):
        assert "md5" in raw["note"].lower() and "not recomputed" in raw["note"], path.name
