"""Tests for the ``dirmon`` plugin: the stoq conformance suite, then its own behaviour.

Every test watches a real folder with a real watcher and writes real files into it while the
provider runs; the run-mode tests go through ``Stoq.run`` with a connector that keeps the
responses.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from queue import Queue
from typing import Any, Callable, ClassVar, Dict, Iterator, List

import pytest

from stoq import Payload, Stoq, StoqResponse
from stoq.exceptions import StoqPluginException
from stoq.plugins import ConnectorPlugin
from stoq.testing import ProviderConformance, make_stoq, windows_pe

PE = windows_pe()
_CONFORMANCE_FOLDER = Path(tempfile.mkdtemp(prefix="stoq-dirmon-conformance-"))
(_CONFORMANCE_FOLDER / "waiting.exe").write_bytes(PE)


class TestDirmonPluginConformance(ProviderConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "dirmon"
    endless = True
    ingest_seconds = 3.0
    plugin_opts: ClassVar[Dict[str, Any]] = {
        "paths": [str(_CONFORMANCE_FOLDER)],
        "existing": True,
        "settle_seconds": 0.2,
    }


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    """Poll ``condition`` until it holds; fail the test if it never does."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {seconds}s")
        time.sleep(0.05)


class Collector(ConnectorPlugin):
    """Keeps every response run mode saves."""

    responses: ClassVar[List[StoqResponse]] = []

    def save(self, response: StoqResponse) -> None:
        self.responses.append(response)


class Watcher:
    """``ingest`` of one dirmon instance on a thread, with its queue."""

    def __init__(self, stoq: Stoq) -> None:
        self.plugin = stoq.load_plugin("dirmon")
        self.items: Queue = Queue()
        self.thread = threading.Thread(target=self.plugin.ingest, args=(self.items,), daemon=True)
        self.thread.start()
        time.sleep(0.5)  # the watch is registered

    def payloads(self) -> List[Payload]:
        return list(self.items.queue)

    def names(self) -> List[str]:
        return sorted(p.payload_meta.extra_data["filename"] for p in self.payloads())


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Callable[..., Watcher]]:
    """Start dirmon on ``tmp_path`` with the given options; stop it after the test."""
    stoqs: List[Stoq] = []

    def start(**options: Any) -> Watcher:
        opts = {"paths": [str(tmp_path)], "settle_seconds": 0.3, **options}
        stoq = make_stoq(plugin_opts={"dirmon": opts})
        stoqs.append(stoq)
        return Watcher(stoq)

    yield start
    for stoq in stoqs:
        stoq.close()


def test_run_mode_scans_files_written_while_it_runs(tmp_path: Path) -> None:
    """Stoq.run with dirmon: a new file, one in a new subfolder and a slowly growing file are
    each scanned once, whole; stop() ends the run and close() ends the watch."""
    Collector.responses.clear()
    stoq = make_stoq(
        plugins={"collector": Collector},
        providers=["dirmon"],
        connectors=["collector"],
        consumers=1,
        plugin_opts={"dirmon": {"paths": [str(tmp_path)], "settle_seconds": 0.6}},
    )
    runner = threading.Thread(target=stoq.run, daemon=True)
    runner.start()
    time.sleep(1.0)
    (tmp_path / "invoice.exe").write_bytes(PE)
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "nested" / "deeper" / "note.txt").write_bytes(b"inside a new folder\n")
    with open(tmp_path / "growing.bin", "wb") as handle:
        for chunk in range(5):
            handle.write(bytes([chunk]) * 50_000)
            handle.flush()
            time.sleep(0.3)
    wait_for(lambda: len(Collector.responses) >= 3)
    time.sleep(1.5)  # nothing more may arrive: each file once
    stoq.stop()
    runner.join(10)
    assert not runner.is_alive()
    sizes = {
        r.results[0].payload_meta.extra_data["filename"]: r.results[0].size
        for r in Collector.responses
    }
    assert sizes == {"invoice.exe": len(PE), "note.txt": 20, "growing.bin": 250_000}
    assert len(Collector.responses) == 3
    provider_threads = [t for t in threading.enumerate() if t.name == "stoq-provider-dirmon"]
    stoq.close()
    for thread in provider_threads:
        thread.join(5)
        assert not thread.is_alive()


def test_stop_ends_ingest_promptly(watch) -> None:
    """``stop()`` returns ``ingest`` within a second, with nothing pending lost to a crash."""
    watcher = watch()
    started = time.monotonic()
    watcher.plugin.stop()
    watcher.thread.join(5)
    assert not watcher.thread.is_alive()
    assert time.monotonic() - started < 2


def test_changed_file_is_read_again_with_its_new_content(watch, tmp_path: Path) -> None:
    """A rewrite of a file already read queues it again; a chmod alone does not."""
    watcher = watch()
    target = tmp_path / "report.txt"
    target.write_bytes(b"first version\n")
    wait_for(lambda: len(watcher.payloads()) == 1)
    target.chmod(0o600)
    time.sleep(1.0)
    assert len(watcher.payloads()) == 1
    target.write_bytes(b"second, longer version\n")
    wait_for(lambda: len(watcher.payloads()) == 2)
    assert [p.content for p in watcher.payloads()] == [
        b"first version\n",
        b"second, longer version\n",
    ]
    assert watcher.payloads()[1].payload_meta.extra_data == {
        "filename": "report.txt",
        "path": str(target.resolve()),
    }


def test_existing_files_are_read_only_when_asked(watch, tmp_path: Path) -> None:
    """Files already there at start: ignored by default, queued with ``existing``."""
    (tmp_path / "old.txt").write_bytes(b"was here first\n")
    quiet = watch()
    (tmp_path / "new.txt").write_bytes(b"arrived later\n")
    wait_for(lambda: quiet.names() == ["new.txt"])
    eager = watch(existing=True)
    wait_for(lambda: eager.names() == ["new.txt", "old.txt"])


def test_non_recursive_watch_ignores_subfolders(watch, tmp_path: Path) -> None:
    """With ``recursive`` false, a file in a subfolder is not read."""
    (tmp_path / "sub").mkdir()
    watcher = watch(recursive=False)
    (tmp_path / "sub" / "hidden.txt").write_bytes(b"below\n")
    (tmp_path / "top.txt").write_bytes(b"top\n")
    wait_for(lambda: watcher.names() == ["top.txt"])
    time.sleep(1.0)
    assert watcher.names() == ["top.txt"]


def test_file_over_max_size_is_skipped_and_the_rest_read(watch, tmp_path: Path) -> None:
    """A file larger than ``max_size`` is not read; a small one beside it is."""
    watcher = watch(max_size=1000)
    (tmp_path / "big.exe").write_bytes(PE)
    (tmp_path / "small.txt").write_bytes(b"small\n")
    wait_for(lambda: watcher.names() == ["small.txt"])
    time.sleep(1.0)
    assert watcher.names() == ["small.txt"]


def test_file_deleted_before_it_settles_is_forgotten(watch, tmp_path: Path) -> None:
    """A file that vanishes while settling is dropped without an error; the next is read."""
    watcher = watch(settle_seconds=1.0)
    doomed = tmp_path / "doomed.tmp"
    doomed.write_bytes(b"short-lived\n")
    time.sleep(0.3)
    doomed.unlink()
    (tmp_path / "kept.txt").write_bytes(b"kept\n")
    wait_for(lambda: watcher.names() == ["kept.txt"])


def test_missing_folder_is_a_load_error() -> None:
    """A folder that does not exist: the plugin does not load, and says which."""
    options = {"dirmon": {"paths": ["/nonexistent/stoq-dirmon"]}}
    with make_stoq(plugin_opts=options) as stoq, pytest.raises(StoqPluginException) as raised:
        stoq.load_plugin("dirmon")
    assert "not a folder: /nonexistent/stoq-dirmon" in str(raised.value)


def test_no_folder_fails_ingest_with_the_reason() -> None:
    """With no ``paths`` there is nothing to watch: ``ingest`` says so instead of idling."""
    with make_stoq() as stoq:
        plugin = stoq.load_plugin("dirmon")
        with pytest.raises(ValueError, match="needs at least one folder"):
            plugin.ingest(Queue())
