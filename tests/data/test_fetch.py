"""The data layer: manifests agree with the mirror, resolution order, hash checks, strict mode."""

from __future__ import annotations

import hashlib
import http.server
import threading
import warnings
import zipfile
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
import yaml

import perturbkit as pk
from perturbkit.data import _fetch, _load, _manifest

ROOT = Path(__file__).resolve().parents[2]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the real manifests -------------------------------------------------------------------


def test_every_mirrored_file_is_in_a_manifest_with_its_hash_and_size(mirror: Path) -> None:
    sums = {}
    for line in (mirror / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split(None, 1)
        sums[rel.strip()] = digest
    in_manifests = {}
    for m in pk.data.manifests().values():
        for f in m.files:
            in_manifests[f"{m.id}/{f.name}"] = f
    missing = sorted(set(sums) - set(in_manifests))
    assert not missing, f"mirrored files without manifest entry: {missing}"
    for rel, digest in sums.items():
        f = in_manifests[rel]
        assert f.sha256 == digest, rel
        assert f.size == (mirror / rel).stat().st_size, rel
    assert len({rel.split("/")[0] for rel in sums}) == 15


def test_verified_manifests_have_a_public_source_for_every_file() -> None:
    for m in pk.data.manifests().values():
        assert m.citation and m.license and m.title, m.id
        if not m.verified:
            continue
        for f in m.files:
            assert f.sha256 and len(f.sha256) == 64, (m.id, f.name)
            assert (f.url or (f.archive_url and f.archive_sha256 and f.member)), (m.id, f.name)
            for url in (f.url, f.archive_url):
                assert url is None or url.startswith("https://"), (m.id, url)


def test_manifest_ids_match_file_names() -> None:
    for path in (ROOT / "data_manifests").glob("*.yaml"):
        assert yaml.safe_load(path.read_text())["id"] == path.stem


def test_unknown_dataset_lists_known_ids() -> None:
    with pytest.raises(KeyError, match="known datasets: .*kang2018_ifnb_muscat"):
        pk.data.fetch("no_such_dataset")


def test_unknown_file_name_is_named() -> None:
    with pytest.raises(KeyError, match="no file 'nope.rda'"):
        pk.data.fetch("drc_classic_doseresponse", ["nope.rda"])


def test_list_shows_every_dataset() -> None:
    table = pk.data.list_datasets(show=False)
    assert {"kang2018_ifnb_muscat", "papalexi2021_eccite_sceptredata", "osmfish_codeluppi2018_sscortex"} <= set(table.index)


# --- resolution order on a fake dataset, served from 127.0.0.1 ----------------------------


@pytest.fixture()
def served(tmp_path: Path):
    """A local HTTP server (loopback only) standing in for the public URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))

    class Quiet(handler.func):  # type: ignore[name-defined]
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture()
def fake(tmp_path: Path, served, monkeypatch: pytest.MonkeyPatch):
    """A manifest folder with one dataset of two files: one plain, one inside a zip archive."""
    www, base = served
    plain = b"dose,response\n1,0.5\n"
    member = b"inner file\n"
    (www / "plain.csv").write_bytes(plain)
    with zipfile.ZipFile(www / "pkg.whl", "w") as z:
        z.writestr("pkg/data/inner.txt", member)
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    doc = {
        "id": "fake_set",
        "title": "Fake",
        "kind": "table",
        "description": "test",
        "citation": "none",
        "doi": None,
        "license": "CC0",
        "chapters": [],
        "verified": True,
        "files": [
            {"name": "plain.csv", "sha256": _sha(plain), "size": len(plain), "url": f"{base}/plain.csv"},
            {
                "name": "inner.txt",
                "sha256": _sha(member),
                "size": len(member),
                "archive": {"url": f"{base}/pkg.whl", "sha256": _sha((www / "pkg.whl").read_bytes()),
                            "member": "pkg/data/inner.txt"},
            },
        ],
    }
    (manifests / "fake_set.yaml").write_text(yaml.safe_dump(doc))
    mirror = tmp_path / "mirror"
    (mirror / "fake_set").mkdir(parents=True)
    monkeypatch.setenv("PERTURBKIT_MANIFESTS", str(manifests))
    monkeypatch.setenv("PERTURBKIT_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PERTURBKIT_DATA_MIRROR", str(mirror))
    monkeypatch.delenv("PERTURBKIT_OFFLINE", raising=False)
    monkeypatch.delenv("PERTURBKIT_STRICT", raising=False)
    _manifest._all.cache_clear()
    _fetch._USED.clear()
    yield {"www": www, "mirror": mirror, "cache": tmp_path / "cache" / "fake_set", "plain": plain, "member": member}
    _manifest._all.cache_clear()


def _sources() -> dict[str, str]:
    return {e["file"]: e["source"] for e in pk.data.used_datasets() if e["dataset"] == "fake_set"}


def test_url_then_cache(fake) -> None:
    paths = pk.data.fetch("fake_set")
    assert paths["plain.csv"].read_bytes() == fake["plain"]
    assert paths["inner.txt"].read_bytes() == fake["member"]  # extracted from the archive
    assert _sources() == {"plain.csv": "url", "inner.txt": "url"}
    (fake["www"] / "plain.csv").unlink()  # the URL is gone: the cache must serve it now
    pk.data.fetch("fake_set")
    assert _sources() == {"plain.csv": "cache", "inner.txt": "cache"}


def test_mirror_before_url(fake) -> None:
    (fake["mirror"] / "fake_set" / "plain.csv").write_bytes(fake["plain"])
    (fake["www"] / "plain.csv").write_bytes(b"the URL must not be used")
    paths = pk.data.fetch("fake_set", ["plain.csv"])
    assert _sources()["plain.csv"] == "mirror"
    assert paths["plain.csv"].read_bytes() == fake["plain"]
    assert paths["plain.csv"].parent == fake["cache"]  # copied into the cache


def test_corrupt_cache_is_reported_and_refetched(fake) -> None:
    pk.data.fetch("fake_set", ["plain.csv"])
    cached = fake["cache"] / "plain.csv"
    cached.write_bytes(b"dose,resp")  # truncated
    with pytest.warns(_fetch.HashMismatchWarning, match=r"expected [0-9a-f]{64}, got [0-9a-f]{64}"):
        paths = pk.data.fetch("fake_set", ["plain.csv"])
    assert paths["plain.csv"].read_bytes() == fake["plain"]
    assert _sources()["plain.csv"] == "url"


def test_corrupt_mirror_is_skipped(fake) -> None:
    (fake["mirror"] / "fake_set" / "plain.csv").write_bytes(b"garbage")
    with pytest.warns(_fetch.HashMismatchWarning, match="fake_set/plain.csv"):
        paths = pk.data.fetch("fake_set", ["plain.csv"])
    assert paths["plain.csv"].read_bytes() == fake["plain"]
    assert _sources()["plain.csv"] == "url"


def test_corrupt_download_is_never_used(fake) -> None:
    (fake["www"] / "plain.csv").write_bytes(b"tampered")
    with pytest.raises(pk.data.DataUnavailableError, match="plain.csv"):
        pk.data.fetch("fake_set", ["plain.csv"])
    assert not (fake["cache"] / "plain.csv").exists()


def test_offline_unavailable_names_what_was_tried(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERTURBKIT_OFFLINE", "1")
    with pytest.raises(pk.data.DataUnavailableError, match=r"fake_set.*plain.csv.*cache.*mirror.*PERTURBKIT_DATA_MIRROR"):
        pk.data.fetch("fake_set")


def test_missing_mirror_folder(fake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PERTURBKIT_DATA_MIRROR", str(tmp_path / "does_not_exist"))
    with pytest.warns(UserWarning, match="is not a folder"):
        pk.data.fetch("fake_set", ["plain.csv"])
    monkeypatch.setenv("PERTURBKIT_STRICT", "1")
    # a verified cached copy is used in strict mode even though the mirror folder is gone
    assert pk.data.fetch("fake_set", ["plain.csv"])["plain.csv"].read_bytes() == fake["plain"]
    (fake["cache"] / "plain.csv").unlink()
    with pytest.raises(pk.data.DataUnavailableError,
                       match=r"dataset 'fake_set': file 'plain.csv' is not in the cache .*does_not_exist is not a folder"):
        pk.data.fetch("fake_set", ["plain.csv"])


def test_fallback_outside_strict_mode_and_error_inside(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERTURBKIT_OFFLINE", "1")
    monkeypatch.setattr(_load, "_loader", lambda dataset_id: lambda paths: pd.read_csv(paths["plain.csv"]))
    stand_in = pd.DataFrame({"dose": [0.0], "response": [1.0]})
    with pytest.warns(UserWarning, match="simulated stand-in"):
        out = pk.data.load("fake_set", fallback=lambda: stand_in)
    assert out is stand_in
    assert pk.data.fallbacks_used()[-1]["dataset"] == "fake_set"
    monkeypatch.setenv("PERTURBKIT_STRICT", "1")
    with pytest.raises(pk.data.DataUnavailableError):
        pk.data.load("fake_set", fallback=lambda: stand_in)
    with pytest.raises(pk.data.DataUnavailableError):  # no fallback: always an error
        monkeypatch.delenv("PERTURBKIT_STRICT")
        pk.data.load("fake_set")


def test_load_tags_the_dataset_id(fake) -> None:
    import perturbkit.data._load as load_mod

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        original = load_mod._loader
        load_mod._loader = lambda dataset_id: lambda paths: pd.read_csv(paths["plain.csv"])
        try:
            table = pk.data.load("fake_set")
        finally:
            load_mod._loader = original
    assert pk.data.is_stand_in("fake_set") is False
    assert table.shape == (1, 2)


def test_md5_only_manifests_are_checked_by_md5(fake, tmp_path: Path) -> None:
    doc = yaml.safe_load((tmp_path / "manifests" / "fake_set.yaml").read_text())
    plain = doc["files"][0]
    plain["sha256"] = None
    plain["md5"] = hashlib.md5(fake["plain"]).hexdigest()
    doc["verified"] = False
    (tmp_path / "manifests" / "fake_set.yaml").write_text(yaml.safe_dump(doc))
    _manifest._all.cache_clear()
    assert pk.data.fetch("fake_set", ["plain.csv"])["plain.csv"].read_bytes() == fake["plain"]
    (fake["cache"] / "plain.csv").write_bytes(b"bad")
    (fake["www"] / "plain.csv").write_bytes(b"also bad")
    with pytest.warns(_fetch.HashMismatchWarning, match="md5 mismatch"), pytest.raises(pk.data.DataUnavailableError):
        pk.data.fetch("fake_set", ["plain.csv"])


# --- odd environments and concurrency ---------------------------------------------------------


@pytest.mark.parametrize(("value", "strict"), [("on", True), ("TRUE", True), ("yes", True), ("1", True),
                                               ("off", False), ("0", False), ("", False), ("No", False)])
def test_boolean_variables_take_the_usual_spellings(monkeypatch: pytest.MonkeyPatch, value: str, strict: bool) -> None:
    monkeypatch.setenv("PERTURBKIT_STRICT", value)
    assert pk.data.is_strict() is strict


def test_a_misspelt_boolean_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERTURBKIT_STRICT", "strict")  # used to mean "off" without a word
    with pytest.raises(ValueError, match="PERTURBKIT_STRICT='strict': use 1/true/yes/on or 0/false/no/off"):
        pk.data.is_strict()


def test_offline_on_is_offline(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERTURBKIT_OFFLINE", "on")  # used to be ignored: the URL was tried
    with pytest.raises(pk.data.DataUnavailableError) as err:
        pk.data.fetch("fake_set", ["plain.csv"])
    assert "url" not in str(err.value).split("Tried:")[1].split(". Point")[0]


def test_cache_path_that_is_a_file_names_the_fix(fake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "cache_file"
    not_a_folder.write_text("oops")
    monkeypatch.setenv("PERTURBKIT_DATA_DIR", str(not_a_folder))
    with pytest.raises(pk.data.DataUnavailableError,
                       match=r"dataset 'fake_set': file 'plain.csv': cannot write the cache folder .*cache_file/fake_set"
                             r".*Set PERTURBKIT_DATA_DIR to a writable folder"):
        pk.data.fetch("fake_set", ["plain.csv"])
    # with a verified mirror copy the file is still had, read in place
    (fake["mirror"] / "fake_set" / "plain.csv").write_bytes(fake["plain"])
    with pytest.warns(UserWarning, match="Reading the mirror copy in place"):
        path = pk.data.fetch("fake_set", ["plain.csv"])["plain.csv"]
    assert path == fake["mirror"] / "fake_set" / "plain.csv"


def test_read_only_cache_names_the_fix(fake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        # root writes anywhere: a read-only folder is simulated by failing the lock instead
        def denied(path: Path) -> None:
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(_fetch, "_lock", denied)
    else:
        (tmp_path / "cache").mkdir()
        (tmp_path / "cache").chmod(0o500)
    with pytest.raises(pk.data.DataUnavailableError, match=r"cannot write the cache folder .*PermissionError"):
        pk.data.fetch("fake_set", ["plain.csv"])


def _slow_copy(src: Path, dst: Path) -> None:
    # a slowed copy: the racing processes overlap in the middle of each other's writes
    import time

    data = Path(src).read_bytes()
    with open(dst, "wb") as fh:
        for i in range(0, len(data), 4):
            fh.write(data[i:i + 4])
            fh.flush()
            time.sleep(0.01)


def _racer(queue) -> None:
    _fetch._copy = _slow_copy
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # a hash mismatch fails the process
            path = pk.data.fetch("fake_set", ["plain.csv"], allow_download=False)["plain.csv"]
        queue.put((str(path), path.read_bytes()))
    except Exception as err:  # noqa: BLE001 - reported to the parent
        queue.put(("error", repr(err)))


def test_processes_filling_one_cache_at_once_all_get_a_verified_file(fake) -> None:
    import multiprocessing

    (fake["mirror"] / "fake_set" / "plain.csv").write_bytes(fake["plain"])
    ctx = multiprocessing.get_context("fork")  # perturbkit is already imported: forks start fast
    queue = ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(queue,)) for _ in range(4)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    for path, content in results:
        assert path == str(fake["cache"] / "plain.csv"), content
        assert content == fake["plain"]
    assert _sha((fake["cache"] / "plain.csv").read_bytes()) == _sha(fake["plain"])
    assert not list(fake["cache"].glob("*.part")), "no temporary file is left behind"
