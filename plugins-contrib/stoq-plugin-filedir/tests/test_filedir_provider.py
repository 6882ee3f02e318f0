"""filedir as a provider: which files it queues, in what order, with what metadata, and how
the consumer that scans each one reads it."""

from __future__ import annotations

import errno
import logging
import os
import pickle
import queue
from pathlib import Path
from typing import Any, List

import pytest

from stoq import Payload, StoqPluginLoadError
from stoq.testing import make_stoq
from stoq_plugin_filedir.walk import SourceFile


def queued(**options: Any) -> List[SourceFile]:
    """Run the provider once with ``options`` and return what it queued."""
    with make_stoq(plugin_opts={"filedir": options}) as stoq:
        items: queue.Queue = queue.Queue()
        stoq.load_plugin("filedir").ingest(items)
    return list(items.queue)


def ingest(**options: Any) -> List[Payload]:
    """What the provider queued, each item pickled and loaded as a consumer process does."""
    items = queued(**options)
    assert all(type(item) is SourceFile for item in items)
    return [pickle.loads(pickle.dumps(item)).load() for item in items]


def listing(payloads: List[Payload]) -> List[tuple]:
    return [(p.payload_meta.extra_data["filename"], p.content) for p in payloads]


def test_a_folder_gives_its_files_in_name_order_without_subfolders(source: Path) -> None:
    """Non-recursive by default: a.txt and b.zip, not sub/c.txt."""
    payloads = ingest(source_dir=str(source))
    assert listing(payloads) == [
        ("a.txt", b"alpha\n"),
        ("b.zip", (source / "b.zip").read_bytes()),
    ]


def test_recursive_descends_into_subfolders(source: Path) -> None:
    """recursive = true adds the files of sub/ after the top-level names that sort before it."""
    payloads = ingest(source_dir=str(source), recursive=True)
    assert [p.payload_meta.extra_data["path"] for p in payloads] == [
        str(source / "a.txt"),
        str(source / "b.zip"),
        str(source / "sub" / "c.txt"),
    ]


@pytest.mark.parametrize("text", ["true", "yes", "1"])
def test_recursive_accepts_text_from_ini_files(source: Path, text: str) -> None:
    """A textual true turns recursion on."""
    assert len(ingest(source_dir=str(source), recursive=text)) == 3


def test_extra_data_holds_filename_and_path_as_strings(source: Path) -> None:
    """Every payload says where it came from, as plain strings."""
    (payload, _) = ingest(source_dir=str(source))
    assert payload.payload_meta.extra_data == {"filename": "a.txt", "path": str(source / "a.txt")}


def test_a_single_file_is_a_source_too(source: Path) -> None:
    """``path`` (the alias) naming one file queues exactly that file."""
    (payload,) = ingest(path=str(source / "sub" / "c.txt"))
    assert payload.content == b"charlie\n"
    assert payload.payload_meta.extra_data["filename"] == "c.txt"


def test_symlinks_out_of_the_folder_are_skipped_and_logged(
    source: Path, outside: Path, caplog
) -> None:
    """A link to a file or a folder outside is never read, and the skip is logged."""
    (source / "leak.txt").symlink_to(outside / "secret.txt")
    (source / "leakdir").symlink_to(outside, target_is_directory=True)
    (source / "sub" / "up.txt").symlink_to("../../outside/secret.txt")
    with caplog.at_level(logging.WARNING, logger="stoq"):
        payloads = ingest(source_dir=str(source), recursive=True)
    assert b"not for scanning\n" not in [p.content for p in payloads]
    assert [name for name, _ in listing(payloads)] == ["a.txt", "b.zip", "c.txt"]
    skipped = [
        r.getMessage() for r in caplog.records if "symbolic link to outside" in r.getMessage()
    ]
    assert len(skipped) == 3


def test_symlinks_inside_the_folder_are_followed(source: Path) -> None:
    """A link to a file in the same tree is read, under the link's own name."""
    (source / "link.txt").symlink_to(source / "sub" / "c.txt")
    payloads = ingest(source_dir=str(source))
    assert ("link.txt", b"charlie\n") in listing(payloads)


def test_dangling_links_and_fifos_are_skipped_without_blocking(source: Path, caplog) -> None:
    """A FIFO would block a reader forever; it is skipped, as is a link to nothing."""
    os.mkfifo(source / "pipe")
    (source / "dangling").symlink_to(source / "missing")
    with caplog.at_level(logging.WARNING, logger="stoq"):
        payloads = ingest(source_dir=str(source))
    assert [name for name, _ in listing(payloads)] == ["a.txt", "b.zip"]
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "pipe: not a regular file" in messages
    assert "dangling" in messages


def test_a_missing_source_is_an_error_naming_it(tmp_path: Path) -> None:
    """Ingesting from nowhere fails loudly instead of queueing nothing."""
    with pytest.raises(FileNotFoundError, match="nowhere"):
        ingest(source_dir=str(tmp_path / "nowhere"))


def test_no_source_option_is_an_error() -> None:
    """Used as a provider without source_dir, the plugin says which option to set."""
    with pytest.raises(ValueError, match="set the 'source_dir' option"):
        ingest()


def test_source_dir_and_path_must_agree(source: Path) -> None:
    """Two different sources are a configuration mistake, reported at load time."""
    with (
        make_stoq(plugin_opts={"filedir": {"source_dir": str(source), "path": "/tmp"}}) as stoq,
        pytest.raises(StoqPluginLoadError, match="'source_dir' and 'path' disagree"),
    ):
        stoq.load_plugin("filedir")


def test_its_own_output_folders_inside_the_source_are_not_scanned(source: Path) -> None:
    """With the store and results inside the source folder, a recursive run skips them."""
    (source / "store" / "ab").mkdir(parents=True)
    (source / "store" / "ab" / "stored").write_bytes(b"archived earlier")
    (source / "out").mkdir()
    (source / "out" / "old.json").write_bytes(b"{}")
    payloads = ingest(
        source_dir=str(source),
        recursive=True,
        archive_dir=str(source / "store"),
        results_dir=str(source / "out"),
    )
    assert [name for name, _ in listing(payloads)] == ["a.txt", "b.zip", "c.txt"]


def test_the_queue_holds_where_files_are_not_their_bytes(tmp_path: Path) -> None:
    """Run mode's parent lists; a consumer reads: 100 files of 1 MiB queue a few hundred bytes
    each, and the item names filedir for the errors its reading may become."""
    folder = tmp_path / "big"
    folder.mkdir()
    for index in range(100):
        (folder / f"{index:03d}.bin").write_bytes(os.urandom(1024 * 1024))
    items = queued(source_dir=str(folder))
    assert len(items) == 100
    assert max(len(pickle.dumps(item)) for item in items) < 1000
    assert {item.plugin_name for item in items} == {"filedir"}
    assert items[7].load().content == (folder / "007.bin").read_bytes()


def test_a_file_removed_after_listing_fails_to_load_naming_it(source: Path) -> None:
    """The file is read when it is scanned: gone by then, loading it says so."""
    first, _ = queued(source_dir=str(source))
    (source / "a.txt").unlink()
    with pytest.raises(FileNotFoundError):
        first.load()


def test_a_file_swapped_for_a_fifo_or_an_outside_link_after_listing_is_refused(
    source: Path, outside: Path
) -> None:
    """Reading opens the file again from the folder without following links and refuses
    anything but a regular file, without blocking on a FIFO."""
    first, second = queued(source_dir=str(source))
    (source / "a.txt").unlink()
    os.mkfifo(source / "a.txt")
    with pytest.raises(OSError, match="not a regular file"):
        first.load()
    (source / "b.zip").unlink()
    (source / "b.zip").symlink_to(outside / "secret.txt")
    with pytest.raises(OSError, match="symbolic links") as raised:
        second.load()
    assert raised.value.errno == errno.ELOOP
