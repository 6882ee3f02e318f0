"""SPEC §5.5 with consumers=1: providers feed a bounded queue; each item is one request."""

from __future__ import annotations

import threading
import time
from queue import Queue
from typing import Any, List

import pytest

from stoq import Payload, Stoq, StoqException
from stoq.plugins import ProviderPlugin


def test_payloads_and_archiver_tasks_are_scanned_then_run_returns(build) -> None:
    """Payload items and {archiver: task} items each become one request; run() returns."""
    stoq = build(
        consumers=1,
        providers=["multi_role"],
        source_archivers=["multi_role"],
        connectors=["multi_role"],
        always_dispatch=["simple_worker"],
        plugin_opts={"multi_role": {"items": ["one", "task:abc", "three"]}},
    )
    stoq.run()
    saved = stoq.load_plugin("multi_role").saved
    assert len(saved) == 3
    sizes = sorted(r.results[0].workers[0]["simple_worker"]["size"] for r in saved)
    assert sizes == [3, 5, len("from archive: abc")]


class _ExplodingProvider(ProviderPlugin):
    def ingest(self, queue: Queue) -> None:
        queue.put(Payload(b"before the failure"))
        raise RuntimeError("provider broke")


class _ManyProvider(ProviderPlugin):
    def ingest(self, queue: Queue) -> None:
        for i in range(1000):
            queue.put(Payload(b"%d" % i))


def _with(stoq: Stoq, name: str, cls: Any) -> Stoq:
    stoq.plugins.build(name, cls)
    return stoq


def test_provider_exception_is_reported_and_does_not_hang(
    build, caplog: pytest.LogCaptureFixture
) -> None:
    """A provider that raises is counted and logged; what it queued is still scanned; then
    run() raises StoqException with the provider's exception as its cause (as in v2)."""
    stoq = _with(
        build(consumers=1, providers=["exploding"], connectors=["multi_role"]),
        "exploding",
        _ExplodingProvider,
    )
    raised: List[BaseException] = []

    def run() -> None:
        try:
            stoq.run()
        except StoqException as exc:
            raised.append(exc)

    done = threading.Thread(target=run)
    done.start()
    done.join(10)
    assert not done.is_alive()
    [exc] = raised
    assert "provider 'exploding' failed" in str(exc)
    assert isinstance(exc.__cause__, RuntimeError) and str(exc.__cause__) == "provider broke"
    assert stoq.provider_failures == 1
    assert len(stoq.load_plugin("multi_role").saved) == 1
    assert "provider 'exploding' failed" in caplog.text


def test_stop_finishes_the_request_in_flight_and_returns(build) -> None:
    """stop() ends run mode promptly even while providers still have work."""
    stoq = _with(
        build(
            consumers=1,
            providers=["many"],
            max_queue=5,
            connectors=["multi_role"],
            always_dispatch=["sleep_worker"],
            plugin_opts={"sleep_worker": {"seconds": 0.02}},
        ),
        "many",
        _ManyProvider,
    )
    runner = threading.Thread(target=stoq.run)
    runner.start()
    time.sleep(0.3)
    stoq.stop()
    runner.join(5)
    assert not runner.is_alive()
    saved = stoq.load_plugin("multi_role").saved
    assert 0 < len(saved) < 1000
    assert all(r.errors == [] for r in saved)


def test_unknown_archiver_task_is_reported_to_connectors(build) -> None:
    """A task for an archiver that does not exist yields a response with the error."""

    class _BadTask(ProviderPlugin):
        def ingest(self, queue: Queue) -> None:
            queue.put({"no_such_archiver": "t"})

    stoq = _with(
        build(consumers=1, providers=["bad_task"], connectors=["multi_role"]), "bad_task", _BadTask
    )
    stoq.run()
    [response] = stoq.load_plugin("multi_role").saved
    assert response.results == []
    assert response.errors[0].plugin_name == "no_such_archiver"
    assert response.errors[0].stage == "load"


def test_a_provider_waiting_for_room_goes_on_once_half_the_queue_is_free() -> None:
    """Run mode's queue wakes a provider blocked on it when half of it is free, not at every
    item taken: each wake-up took the GIL from the scan (10 % of a run of small files)."""
    from stoq.item_source import ProviderQueue

    local = ProviderQueue(10)
    queued: List[int] = []

    def provider() -> None:
        for number in range(15):
            local.put(number)
            queued.append(number)

    thread = threading.Thread(target=provider, daemon=True)
    thread.start()
    while len(queued) < 10:
        time.sleep(0.01)
    taken = []
    for _ in range(4):  # 6 left: more than half still queued, so the provider waits
        taken.append(local.get())
        time.sleep(0.05)
        assert len(queued) == 10, "the provider was woken before half the queue was free"
    taken.append(local.get())  # 5 left: it goes on, and fills the queue again
    thread.join(10)
    assert len(queued) == 15 and local.qsize() == 10
    assert taken + [local.get() for _ in range(10)] == list(range(15))
