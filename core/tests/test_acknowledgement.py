"""SPEC §5.5 at-least-once: a provider's Deliveries are acked only once every connector saved
their response, nacked with the reason otherwise, and never acked at stop when unfinished."""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from pathlib import Path
from queue import Queue
from typing import Any, List, Optional, Tuple

import pytest

from stoq import Error, Payload, ProviderStopped, Stoq
from stoq.plugins import Acknowledger, Delivery, ProviderPlugin

Call = Tuple[str, str, Optional[str]]


class _QueueProvider(ProviderPlugin):
    """Stands for a broker: each ``items`` entry is one message, tagged ``m<index>``."""

    def __init__(self, config: Any, plugin_opts: Any) -> None:
        super().__init__(config, plugin_opts)
        self.calls: List[Call] = []
        self.lock = threading.Lock()

    def ingest(self, queue: Queue) -> None:
        for index, text in enumerate(self.plugin_opts.get("items", [])):
            item: Any = Payload(text.encode())
            if text.startswith("task:"):
                item = {"no_such_archiver": text}
            elif text.startswith("give up"):
                item = Error("delivered too often", self.plugin_name, None, "scan")
            queue.put(Delivery(item, f"m{index}", self, scan_id=f"msg-{index}"))
        queue.put(Payload(b"a bare v2 item"))

    def ack(self, tag: Any) -> None:
        with self.lock:
            self.calls.append(("ack", tag, None))

    def nack(self, tag: Any, reason: str) -> None:
        with self.lock:
            self.calls.append(("nack", tag, reason))


def _stoq(build: Any, items: List[str], out: Path, **kwargs: Any) -> Stoq:
    opts = {
        "queue": {"items": items},
        "file_connector": {"path": str(out)},
        "sleep_worker": {"seconds": 0.1},
    }
    stoq: Stoq = build(
        providers=["queue"],
        connectors=kwargs.pop("connectors", ["file_connector"]),
        always_dispatch=kwargs.pop("always_dispatch", ["crash_worker"]),
        plugin_opts=opts,
        **kwargs,
    )
    stoq.plugins.build("queue", _QueueProvider)
    return stoq


def _saved(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _run_then_stop(stoq: Stoq, after: float) -> None:
    """Run mode in a thread, stopped after ``after`` seconds; it must return soon after."""
    runner = threading.Thread(target=stoq.run)
    runner.start()
    time.sleep(after)
    stoq.stop()
    runner.join(20)
    assert not runner.is_alive()


def _calls(stoq: Stoq) -> List[Call]:
    return sorted(stoq.load_plugin("queue").calls)


def test_the_protocol_is_a_runtime_checkable_interface() -> None:
    """A provider with ack and nack is an Acknowledger; a v2 provider is not."""
    assert isinstance(_QueueProvider.__new__(_QueueProvider), Acknowledger)
    assert not isinstance(ProviderPlugin.__new__(ProviderPlugin), Acknowledger)


@pytest.mark.parametrize("consumers", [1, 2])
def test_saved_items_are_acked_with_the_scan_id_the_provider_fixed(
    build: Any, tmp_path: Path, consumers: int
) -> None:
    """Each delivery is acked once, after saving, under its own scan_id; bare items still scan."""
    out = tmp_path / "out.jsonl"
    stoq = _stoq(build, ["one", "two", "three"], out, consumers=consumers)
    stoq.run()
    assert _calls(stoq) == [("ack", "m0", None), ("ack", "m1", None), ("ack", "m2", None)]
    by_id = {r["scan_id"]: r["results"][0]["size"] for r in _saved(out)}
    assert {k: v for k, v in by_id.items() if k.startswith("msg-")} == {
        "msg-0": 3,
        "msg-1": 3,
        "msg-2": 5,
    }
    assert len(by_id) == 4  # the bare v2 item got a fresh id of its own
    assert stoq.provider_failures == 0


@pytest.mark.parametrize("consumers", [1, 2])
def test_a_failed_connector_means_nack_with_the_reason(
    build: Any, tmp_path: Path, consumers: int
) -> None:
    """One connector failing is enough to withhold the ack, even though another saved it."""
    out = tmp_path / "out.jsonl"
    stoq = _stoq(
        build,
        ["one"],
        out,
        consumers=consumers,
        connectors=["file_connector", "failing_connector"],
    )
    stoq.run()
    assert _calls(stoq) == [("nack", "m0", "1 connector save(s) failed")]
    assert len(_saved(out)) == 2


def test_an_item_that_becomes_no_payload_is_saved_and_nacked(build: Any, tmp_path: Path) -> None:
    """A task no archiver resolves: its error response is saved, and the provider hears why."""
    out = tmp_path / "out.jsonl"
    stoq = _stoq(build, ["task:gone"], out, consumers=1)
    stoq.run()
    [(verb, tag, reason)] = _calls(stoq)
    assert (verb, tag) == ("nack", "m0")
    assert reason is not None and reason.startswith("no payload: ") and "no_such_archiver" in reason
    [response] = [r for r in _saved(out) if r["scan_id"] == "msg-0"]
    assert response["results"] == [] and response["errors"][0]["stage"] == "load"


@pytest.mark.parametrize("consumers", [1, 2])
def test_a_provider_giving_up_saves_its_error_then_is_acked(
    build: Any, tmp_path: Path, consumers: int
) -> None:
    """An Error item (e.g. dead-lettered after too many deliveries) is saved, then acked."""
    out = tmp_path / "out.jsonl"
    stoq = _stoq(build, ["give up"], out, consumers=consumers)
    stoq.run()
    assert _calls(stoq) == [("ack", "m0", None)]
    [response] = [r for r in _saved(out) if r["scan_id"] == "msg-0"]
    assert response["results"] == []
    assert response["errors"] == [
        {
            "error": "delivered too often",
            "plugin_name": "queue",
            "payload_id": None,
            "stage": "scan",
        }
    ]


def test_a_consumer_that_dies_means_nack_and_the_rest_are_acked(build: Any, tmp_path: Path) -> None:
    """With several consumer processes every delivery is settled exactly once."""
    out = tmp_path / "out.jsonl"
    items = ["before 1", "before 2", "crash now", "after 1", "after 2", "after 3"]
    stoq = _stoq(build, items, out, consumers=2)
    stoq.run()
    calls = _calls(stoq)
    assert [c for c in calls if c[0] == "nack"] == [
        ("nack", "m2", "consumer process died (exit code -9)")
    ]
    assert sorted(tag for verb, tag, _ in calls if verb == "ack") == [
        "m0",
        "m1",
        "m3",
        "m4",
        "m5",
    ]
    [lost] = [r for r in _saved(out) if r["scan_id"] == "msg-2"]
    assert "died (exit code -9)" in lost["errors"][0]["error"]


@pytest.mark.parametrize("consumers", [1, 2])
def test_stop_nacks_what_was_not_started_and_never_acks_it(
    build: Any, tmp_path: Path, consumers: int
) -> None:
    """stop(): items in flight finish and are acked; queued ones are nacked, none is lost."""
    out = tmp_path / "out.jsonl"
    items = [f"item {i}" for i in range(30)]
    stoq = _stoq(
        build,
        items,
        out,
        consumers=consumers,
        max_queue=50,
        always_dispatch=["sleep_worker"],
    )
    _run_then_stop(stoq, after=1.0)
    calls = _calls(stoq)
    acked = {tag for verb, tag, _ in calls if verb == "ack"}
    nacked = {tag for verb, tag, _ in calls if verb == "nack"}
    saved = {r["scan_id"] for r in _saved(out)}
    assert acked and nacked and not acked & nacked
    assert acked | nacked == {f"m{i}" for i in range(30)}
    assert {f"msg-{tag[1:]}" for tag in acked} == saved - {s for s in saved if "msg" not in s}
    assert {reason for verb, _, reason in calls if verb == "nack"} == {
        "run mode stopped before this item was scanned"
    }


class _EndlessProvider(_QueueProvider):
    """A broker that never runs dry, written carelessly: ``except Exception`` around each put,
    as if a failed put were one bad message. Records which puts were refused and when
    ``ingest`` ended."""

    def ingest(self, queue: Queue) -> None:
        self.refused: List[str] = []
        try:
            for index in itertools.count():
                tag = f"m{index}"
                try:
                    queue.put(Delivery(Payload(tag.encode()), tag, self, scan_id=f"msg-{index}"))
                except ProviderStopped:
                    self.refused.append(tag)
                    raise
                except Exception:  # noqa: BLE001 - the careless provider under test
                    continue
        finally:
            self.ended = threading.current_thread()


@pytest.mark.parametrize("consumers", [1, 2])
def test_stop_ends_a_provider_waiting_on_the_full_queue(build: Any, consumers: int) -> None:
    """stop(): a provider blocked on the full queue is woken, its put raises ProviderStopped
    (which its ``except Exception`` does not swallow) and its ingest ends; the item it offered
    was never queued, so it is neither acked nor nacked (the broker redelivers it); every item
    queued before is acked (scanned) or nacked (still queued at the stop, when the provider had
    filled the queue again) once. Before, its thread stayed blocked for good."""
    stoq = _stoq(build, [], Path(os.devnull), consumers=consumers, max_queue=3)
    stoq.plugins.build("queue", _EndlessProvider)
    _run_then_stop(stoq, after=1.0)
    provider = stoq.load_plugin("queue")
    deadline = time.monotonic() + 5
    while not hasattr(provider, "ended") and time.monotonic() < deadline:
        time.sleep(0.01)
    provider.ended.join(5)
    assert not provider.ended.is_alive()
    [refused] = provider.refused
    offered = int(refused[1:])
    calls = _calls(stoq)
    settled = [tag for _, tag, _ in calls]
    assert sorted(settled) == sorted(f"m{i}" for i in range(offered))
