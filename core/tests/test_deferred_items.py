"""Run mode's deferred items: a provider queues where a payload is, and the process that scans
it makes the Payload (``DeferredPayload.load``). Every way a load can fail, and every item that
cannot cross to a consumer process, ends as that item's Error response; the other items are
scanned and run mode returns."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from queue import Queue
from typing import Any, List, Optional

import pytest

from stoq import Payload, PayloadMeta, Stoq
from stoq.plugins import DeferredPayload, Delivery, ProviderPlugin
from stoq_test_plugins.hostile import Trap


class Stored(DeferredPayload):
    """Where a file is; its bytes are read by ``load``, with the pid that read them."""

    plugin_name = "deferred"

    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> Payload:
        with open(self.path, "rb") as handle:
            content = handle.read()
        return Payload(content, PayloadMeta(extra_data={"path": self.path, "pid": os.getpid()}))


class Failing(DeferredPayload):
    """A load that goes wrong in the way ``how`` names."""

    plugin_name = "deferred"

    def __init__(self, how: str) -> None:
        self.how = how

    def load(self) -> Any:
        if self.how == "raises":
            raise RuntimeError("the store is down")
        if self.how == "exits":
            sys.exit(3)
        if self.how == "hangs":  # in Python: a deadline stops it in any thread
            end = time.monotonic() + 30
            while time.monotonic() < end:
                pass
        if self.how == "text":
            return "not a payload"
        if self.how == "prints":
            print("a load printed this")
            return Payload(b"printed")
        return None


class Unpicklable(Stored):
    """Holds a lock: it cannot be sent to a consumer process."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.lock = threading.Lock()

    def __repr__(self) -> str:
        raise RuntimeError("no description either")


class Mixed(ProviderPlugin):
    """Queues the items its test put in ``ITEMS``."""

    ITEMS: List[Any] = []

    def ingest(self, queue: Queue) -> None:
        for item in self.ITEMS:
            queue.put(item)


def _run(build: Any, tmp_path: Path, items: List[Any], consumers: int, **kwargs: Any) -> List[dict]:
    out = tmp_path / "out.jsonl"
    Mixed.ITEMS = items
    stoq: Stoq = build(
        providers=["mixed"],
        connectors=["file_connector"],
        always_dispatch=["simple_worker"],
        consumers=consumers,
        plugin_opts={"file_connector": {"path": str(out)}},
        **kwargs,
    )
    stoq.plugins.build("mixed", Mixed)
    runner = threading.Thread(target=stoq.run, daemon=True)
    runner.start()
    runner.join(60)
    assert not runner.is_alive(), "run mode did not return"
    return [json.loads(line) for line in out.read_text().splitlines()]


def _file(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize("consumers", [1, 2])
def test_deferred_items_are_read_by_the_process_that_scans_them(
    build: Any, tmp_path: Path, consumers: int
) -> None:
    paths = [_file(tmp_path, f"f{i}", b"x" * (i + 1)) for i in range(4)]
    responses = _run(build, tmp_path, [Stored(p) for p in paths], consumers)
    scanned = sorted(responses, key=lambda r: r["results"][0]["size"])
    assert [r["results"][0]["payload_meta"]["extra_data"]["path"] for r in scanned] == paths
    assert [r["results"][0]["workers"][0]["simple_worker"]["size"] for r in scanned] == [1, 2, 3, 4]
    assert all(r["errors"] == [] for r in responses)
    readers = {r["results"][0]["payload_meta"]["extra_data"]["pid"] for r in responses}
    assert (os.getpid() in readers) is (consumers == 1)


@pytest.mark.parametrize("consumers", [1, 2])
def test_every_failing_load_is_one_error_and_the_other_items_are_scanned(
    build: Any, tmp_path: Path, consumers: int
) -> None:
    good = _file(tmp_path, "good", b"scanned")
    hows = ["raises", "exits", "hangs", "none", "text", "prints"]
    items: List[Any] = [Failing(how) for how in hows]
    items.insert(3, Stored(good))
    responses = _run(build, tmp_path, items, consumers, plugin_timeout=1)
    assert len(responses) == len(items)
    errors = sorted(
        (r["errors"][0]["stage"], r["errors"][0]["error"]) for r in responses if not r["results"]
    )
    assert errors == [
        ("load", "RuntimeError: the store is down"),
        ("load", "SystemExit: 3"),
        ("load", "load() returned no payload"),
        ("load", "returned str, expected Payload or None"),
        ("timeout", "timed out after 1s during load"),
    ]
    assert all(r["errors"][0]["plugin_name"] == "deferred" for r in responses if not r["results"])
    contents = sorted(r["results"][0]["size"] for r in responses if r["results"])
    assert contents == [len(b"printed"), len(b"scanned")]


def test_items_that_cannot_reach_a_consumer_are_errors_not_the_end_of_run_mode(
    build: Any, tmp_path: Path
) -> None:
    """A deferred item or a Payload that does not pickle (a lock in it) is reported as its
    item's Error; before, the pool's loop raised and run mode stopped with work queued."""
    good = _file(tmp_path, "good", b"scanned")
    locked = Payload(b"locked", PayloadMeta(extra_data={"lock": threading.Lock()}))
    items = [Stored(good), Unpicklable(good), locked, Stored(good)]
    responses = _run(build, tmp_path, items, 2)
    assert len(responses) == 4
    failed = [r for r in responses if not r["results"]]
    assert [(e["plugin_name"], e["stage"]) for r in failed for e in r["errors"]] == [
        ("deferred", "load"),
        (None, "load"),
    ]
    assert all("cannot be sent to a consumer process" in r["errors"][0]["error"] for r in failed)
    assert all("cannot pickle '_thread.lock'" in r["errors"][0]["error"] for r in failed)
    assert sum(1 for r in responses if r["results"]) == 2


def test_an_item_a_consumer_cannot_unpickle_is_an_error_not_a_hang(
    build: Any, tmp_path: Path
) -> None:
    """An item whose unpickling raises in the consumer is reported from there; before, the
    consumer's receiving thread died and run mode waited for its answer forever."""
    good = _file(tmp_path, "good", b"scanned")
    trapped = Payload(b"trapped", PayloadMeta(extra_data={"trap": Trap()}))
    responses = _run(build, tmp_path, [Stored(good), trapped, Stored(good)], 2)
    assert len(responses) == 3
    [failed] = [r for r in responses if not r["results"]]
    assert failed["errors"] == [
        {
            "error": "provider item cannot be read in a consumer process:"
            " ValueError: cannot be rebuilt here",
            "plugin_name": None,
            "payload_id": None,
            "stage": "load",
        }
    ]


class _Acked(Mixed):
    """Wraps each item in a Delivery and records how each was settled."""

    settled: List[tuple] = []

    def ingest(self, queue: Queue) -> None:
        for index, item in enumerate(self.ITEMS):
            queue.put(Delivery(item, f"m{index}", self, scan_id=f"msg-{index}"))

    def ack(self, tag: Any) -> None:
        self.settled.append(("ack", tag, None))

    def nack(self, tag: Any, reason: Optional[str]) -> None:
        self.settled.append(("nack", tag, reason))


@pytest.mark.parametrize("consumers", [1, 2])
def test_a_delivered_item_that_fails_to_load_is_nacked_with_the_reason(
    build: Any, tmp_path: Path, consumers: int
) -> None:
    good = _file(tmp_path, "good", b"scanned")
    items: List[Any] = [Stored(good), Failing("raises")]
    if consumers > 1:  # items that cannot cross to a consumer, or be read there
        items += [Payload(b"locked", PayloadMeta(extra_data={"lock": threading.Lock()}))]
        items += [Payload(b"trapped", PayloadMeta(extra_data={"trap": Trap()}))]
    _Acked.ITEMS, _Acked.settled = items, []
    stoq: Stoq = build(providers=["acked"], always_dispatch=["simple_worker"], consumers=consumers)
    stoq.plugins.build("acked", _Acked)
    stoq.run()
    expected = [("ack", "m0", None), ("nack", "m1", "no payload: RuntimeError: the store is down")]
    if consumers > 1:
        unsent = "cannot be sent to a consumer process: TypeError: cannot pickle '_thread.lock'"
        unread = "cannot be read in a consumer process: ValueError: cannot be rebuilt here"
        expected += [
            ("nack", "m2", f"provider item {unsent} object"),
            ("nack", "m3", f"provider item {unread}"),
        ]
    assert sorted(_Acked.settled) == expected
