"""filedir as an archiver: content-addressed storage, atomic writes, and a ``get`` that stays home."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, List

import pytest

from stoq import Payload, RequestMeta
from stoq.testing import make_stoq
from stoq_plugin_filedir.plugin import FiledirPlugin


@pytest.fixture
def archiver(tmp_path: Path, stoq_factory) -> FiledirPlugin:
    """The plugin with ``archive_dir`` = tmp_path/archive (not created yet)."""
    stoq = stoq_factory(plugin_opts={"filedir": {"archive_dir": str(tmp_path / "archive")}})
    plugin = stoq.load_plugin("filedir")
    assert isinstance(plugin, FiledirPlugin)
    return plugin


#: What the kernel says when O_NOFOLLOW meets a link (ELOOP, or ENOTDIR for a folder).
LINK_REFUSED = "Too many levels of symbolic links|Not a directory"


def tree(folder: Path) -> List[str]:
    """Every file and link below ``folder``, as sorted relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())


def test_payload_is_stored_under_fanned_out_sha256_folders(
    archiver: FiledirPlugin, tmp_path: Path, source: Path
) -> None:
    """A zip is stored byte for byte at ab/cd/<sha256>, and the result says where."""
    content = (source / "b.zip").read_bytes()
    sha256 = hashlib.sha256(content).hexdigest()
    result = archiver.archive(Payload(content), RequestMeta())
    stored = tmp_path / "archive" / sha256[:2] / sha256[2:4] / sha256
    assert stored.read_bytes() == content
    assert result.results == {"sha256": sha256, "path": str(stored)}
    assert tree(tmp_path / "archive") == [f"{sha256[:2]}/{sha256[2:4]}/{sha256}"]


def test_the_same_content_is_stored_once_and_not_rewritten(
    archiver: FiledirPlugin, tmp_path: Path
) -> None:
    """Archiving equal content again leaves the first copy alone (same inode, no temp files)."""
    first = archiver.archive(Payload(b"same bytes"), RequestMeta()).results["path"]
    inode = os.stat(first).st_ino
    second = archiver.archive(Payload(b"same bytes"), RequestMeta()).results["path"]
    assert first == second
    assert os.stat(second).st_ino == inode
    assert len(tree(tmp_path / "archive")) == 1


def test_a_failed_write_leaves_no_partial_file(
    archiver: FiledirPlugin, tmp_path: Path, monkeypatch
) -> None:
    """If syncing the data fails, neither the final name nor a temporary file remains."""

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        archiver.archive(Payload(b"x" * 100_000), RequestMeta())
    assert tree(tmp_path / "archive") == []


def test_the_final_name_appears_only_complete(
    archiver: FiledirPlugin, tmp_path: Path, monkeypatch
) -> None:
    """At the moment of the rename the data is whole and the final name does not exist yet."""
    content = os.urandom(300_000)
    sha256 = hashlib.sha256(content).hexdigest()
    seen: List[Any] = []
    real_replace = os.replace

    def watching_replace(src: str, dst: str, *, src_dir_fd: int, dst_dir_fd: int) -> None:
        folder = tmp_path / "archive" / sha256[:2] / sha256[2:4]
        seen.append(((folder / src).read_bytes() == content, (folder / dst).exists()))
        real_replace(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

    monkeypatch.setattr(os, "replace", watching_replace)
    archiver.archive(Payload(content), RequestMeta())
    assert seen == [(True, False)]


def test_get_reads_back_the_archived_payload(
    archiver: FiledirPlugin, tmp_path: Path, source: Path
) -> None:
    """``get`` with the SHA-256 (any case) returns the same bytes and where they were."""
    content = (source / "b.zip").read_bytes()
    sha256 = archiver.archive(Payload(content), RequestMeta()).results["sha256"]
    payload = archiver.get(sha256.upper())
    assert payload.content == content
    assert payload.payload_meta.extra_data["filename"] == sha256


@pytest.mark.parametrize(
    "task",
    [
        "../../outside/secret.txt",
        "/etc/passwd",
        "ab/cd/" + "a" * 58,
        "a" * 63,
        "a" * 65,
        "a" * 64 + "\n",
        "g" * 64,
        "..",
        "",
        b"a" * 64,
        None,
        {"sha256": "a" * 64},
    ],
)
def test_get_refuses_anything_but_a_sha256(
    archiver: FiledirPlugin, tmp_path: Path, outside: Path, task: Any
) -> None:
    """Traversal attempts and malformed tasks are refused before any file is touched."""
    with pytest.raises(ValueError, match="expects a 64-character hex SHA-256"):
        archiver.get(task)
    assert not (tmp_path / "archive").exists()
    assert tree(outside) == ["secret.txt"]


def test_get_of_an_unknown_sha256_names_it(archiver: FiledirPlugin, tmp_path: Path) -> None:
    """A well-formed but absent key is a clear FileNotFoundError."""
    archiver.archive(Payload(b"something else"), RequestMeta())
    with pytest.raises(FileNotFoundError, match="no payload " + "0" * 64):
        archiver.get("0" * 64)


def test_get_detects_a_corrupted_copy(archiver: FiledirPlugin, tmp_path: Path) -> None:
    """Bytes that no longer match their name are an error, not a payload."""
    path = Path(archiver.archive(Payload(b"original"), RequestMeta()).results["path"])
    path.write_bytes(b"tampered")
    with pytest.raises(ValueError, match="is corrupt"):
        archiver.get(path.name)


def test_get_never_follows_a_link_planted_in_the_store(
    archiver: FiledirPlugin, tmp_path: Path, outside: Path
) -> None:
    """A link at a valid key pointing outside the store is refused, not read."""
    secret = (outside / "secret.txt").read_bytes()
    sha256 = hashlib.sha256(secret).hexdigest()
    folder = tmp_path / "archive" / sha256[:2] / sha256[2:4]
    folder.mkdir(parents=True)
    (folder / sha256).symlink_to(outside / "secret.txt")
    with pytest.raises(OSError, match=LINK_REFUSED):
        archiver.get(sha256)


def test_archive_never_writes_through_a_planted_folder_link(
    archiver: FiledirPlugin, tmp_path: Path, outside: Path
) -> None:
    """A fan-out folder replaced by a link to elsewhere makes the write fail, not escape."""
    content = b"payload"
    sha256 = hashlib.sha256(content).hexdigest()
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / sha256[:2]).symlink_to(outside, target_is_directory=True)
    with pytest.raises(OSError, match=LINK_REFUSED):
        archiver.archive(Payload(content), RequestMeta())
    assert tree(outside) == ["secret.txt"]


def test_archiving_without_archive_dir_says_which_option_to_set() -> None:
    """The archiver role needs a folder; the error names the option."""
    with make_stoq() as stoq, pytest.raises(ValueError, match="set the 'archive_dir' option"):
        stoq.load_plugin("filedir").archive(Payload(b"x"), RequestMeta())
