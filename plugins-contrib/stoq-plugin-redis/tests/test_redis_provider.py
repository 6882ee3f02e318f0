"""The provider on a real Redis: acknowledged only once saved, claimed after a consumer dies,
dead-lettered after max_deliveries with an Error response saved, back-pressure."""

from __future__ import annotations

import json
import threading
import time
from queue import Queue
from typing import Any, Dict, List

import pytest
import redis

from stoq import Stoq
from stoq.data_classes import Payload, StoqResponse
from stoq.plugins import ConnectorPlugin, Delivery
from stoq_plugin_redis.submit import Submitter
from stoq_plugin_redis.wire import scan_id_for


class _BrokenConnector(ConnectorPlugin):
    def save(self, response: StoqResponse) -> None:
        raise OSError("results database is down")


def _run(opts: Dict[str, Any], **kwargs: Any) -> Stoq:
    """``stoq run -P redis -C redis`` in this process until the stream is idle."""
    connectors = kwargs.pop("connectors", ["redis"])
    stoq = Stoq(
        providers=["redis"],
        connectors=connectors,
        consumers=1,
        plugin_opts={"redis": opts},
        **kwargs,
    )
    if "broken" in connectors:
        stoq.plugins.build("broken", _BrokenConnector)
    stoq.run()
    stoq.close()
    return stoq


def _result(client: redis.Redis, opts: Dict[str, Any], scan_id: str) -> Dict[str, Any]:
    text = client.get(f"{opts['results_key_prefix']}{scan_id}")
    assert text is not None, f"no result saved for {scan_id}"
    return json.loads(text)


def test_each_entry_is_scanned_saved_under_its_scan_id_then_removed(
    client: redis.Redis, opts: Dict[str, Any]
) -> None:
    """Submitted files come back as responses keyed by the scan id submit returned."""
    submitter = Submitter(opts)
    sent = [submitter.submit(b"file %d" % i, {"filename": f"f{i}.txt"}) for i in range(5)]
    _run(opts)
    for index, item in enumerate(sent):
        response = _result(client, opts, item.scan_id)
        assert response["scan_id"] == item.scan_id == scan_id_for(opts["stream"], item.entry_id)
        [root] = response["results"]
        assert root["size"] == len(b"file %d" % index)
        assert root["payload_meta"]["extra_data"] == {"filename": f"f{index}.txt"}
    assert client.xlen(opts["stream"]) == 0
    assert client.xpending(opts["stream"], opts["group"])["pending"] == 0
    assert client.xlen(opts["results_stream"]) == 5


def test_a_failed_connector_leaves_the_entry_pending_with_the_reason(
    client: redis.Redis, opts: Dict[str, Any]
) -> None:
    """No ack unless every connector saved: the entry stays for redelivery."""
    item = Submitter(opts).submit(b"precious", {"filename": "p.bin"})
    stoq = Stoq(
        providers=["redis"],
        connectors=["redis", "broken"],
        consumers=1,
        plugin_opts={"redis": {**opts, "stop_when_idle": 0.0}},
    )
    stoq.plugins.build("broken", _BrokenConnector)
    runner = threading.Thread(target=stoq.run)
    runner.start()
    try:
        _wait_for(lambda: client.hget(f"{opts['stream']}:nack-reasons", item.entry_id))
    finally:
        stoq.stop()
        runner.join(10)
        stoq.close()
    assert client.xlen(opts["stream"]) == 1
    assert client.xpending(opts["stream"], opts["group"])["pending"] == 1
    reason = client.hget(f"{opts['stream']}:nack-reasons", item.entry_id)
    assert reason == b"1 connector save(s) failed"


def _wait_for(condition: Any, seconds: float = 10.0) -> Any:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _read_as(client: redis.Redis, opts: Dict[str, Any], consumer: str) -> List[str]:
    """Take every new entry as another consumer, which then 'dies' holding them."""
    client.xgroup_create(opts["stream"], opts["group"], id="0", mkstream=True)
    reply = client.xreadgroup(opts["group"], consumer, {opts["stream"]: ">"})
    return [entry_id.decode() for _, entries in reply for entry_id, _ in entries]


def test_work_a_dead_consumer_held_is_claimed_after_claim_idle(
    client: redis.Redis, opts: Dict[str, Any]
) -> None:
    """Entries left pending by a consumer that went away are claimed, scanned and acked."""
    sent = [Submitter(opts).submit(b"orphan %d" % i) for i in range(3)]
    assert len(_read_as(client, opts, "dead-machine:1")) == 3
    _run({**opts, "claim_idle": 0.3, "stop_when_idle": 1.0})
    for item in sent:
        assert _result(client, opts, item.scan_id)["errors"] == []
    assert client.xlen(opts["stream"]) == 0


def test_claim_idle_protects_work_in_progress(client: redis.Redis, opts: Dict[str, Any]) -> None:
    """A consumer holding work for less than claim_idle keeps it: nothing is claimed."""
    Submitter(opts).submit(b"in progress")
    _read_as(client, opts, "busy-machine:1")
    from stoq_plugin_redis.plugin import RedisPlugin

    stoq = Stoq(plugin_opts={"redis": {**opts, "claim_idle": 60.0}})
    plugin = stoq.load_plugin("redis")
    assert isinstance(plugin, RedisPlugin)
    claimed, _ = plugin.work_stream().claim(10)
    assert claimed == []
    stoq.close()


def test_a_live_node_keeps_its_work_however_long_it_waits(
    client: redis.Redis, opts: Dict[str, Any]
) -> None:
    """Entries a running node holds (queued or scanning) are kept alive past claim_idle: no
    other node claims them, and no delivery is counted."""
    from stoq_plugin_redis.stream import WorkStream

    Submitter(opts).submit(b"slow to start")
    stoq = Stoq(plugin_opts={"redis": {**opts, "claim_idle": 0.5, "stop_when_idle": 0.0}})
    plugin = stoq.load_plugin("redis")
    local: Queue = Queue(maxsize=1)
    reader = threading.Thread(target=plugin.ingest, args=(local,), daemon=True)
    reader.start()
    _wait_for(lambda: local.full())
    time.sleep(1.5)  # three times claim_idle
    other = WorkStream(client, opts["stream"], opts["group"], "other:1", "dead", 0.5)
    assert other.claim(10) == ([], False)
    [pending] = client.xpending_range(opts["stream"], opts["group"], "-", "+", 10)
    assert pending["times_delivered"] == 1 and pending["time_since_delivered"] < 500
    plugin.ack(local.get().tag)
    stoq.close()
    reader.join(5)  # ingest returns once stopped
    assert not reader.is_alive()
    assert client.xlen(opts["stream"]) == 0


def test_an_entry_delivered_too_often_is_dead_lettered_with_an_error_response(
    client: redis.Redis, opts: Dict[str, Any]
) -> None:
    """Past max_deliveries: moved to the dead-letter stream, an Error response saved, acked."""
    item = Submitter(opts).submit(b"poison", {"filename": "poison.doc"})
    _read_as(client, opts, "crashed:1")
    client.hset(
        f"{opts['stream']}:nack-reasons", item.entry_id, "consumer process died (exit code -9)"
    )
    for attempt in range(2):  # two more deliveries that 'crashed' too
        client.xclaim(opts["stream"], opts["group"], f"crashed:{attempt + 2}", 0, [item.entry_id])
    _run({**opts, "claim_idle": 0.1, "max_deliveries": 3, "stop_when_idle": 1.0})
    [(_, dead)] = client.xrange(f"{opts['stream']}:dead")
    assert dead[b"content"] == b"poison"
    assert dead[b"dead_entry_id"].decode() == item.entry_id
    assert dead[b"dead_deliveries"] == b"4"
    assert dead[b"dead_reason"] == b"consumer process died (exit code -9)"
    response = _result(client, opts, item.scan_id)
    assert response["results"] == []
    [error] = response["errors"]
    assert error["plugin_name"] == "redis" and error["stage"] == "scan"
    assert "delivered 4 times (max_deliveries 3)" in error["error"]
    assert "consumer process died" in error["error"]
    assert client.xlen(opts["stream"]) == 0


def test_an_entry_is_dead_lettered_once_even_when_claimed_again(
    client: redis.Redis, opts: Dict[str, Any]
) -> None:
    """A node that dies after dead-lettering, before acknowledging: the next one adds no copy."""
    Submitter(opts).submit(b"poison")
    stoq = Stoq(plugin_opts={"redis": opts})
    work = stoq.load_plugin("redis").work_stream()
    work.ensure_group()
    [(entry_id, fields, _)] = work.read(10, 0.1)
    work.dead_letter_entry(entry_id, fields, 4)
    work.dead_letter_entry(entry_id, fields, 5)
    stoq.close()
    [(_, dead)] = client.xrange(f"{opts['stream']}:dead")
    assert dead[b"dead_deliveries"] == b"4"


@pytest.mark.parametrize(
    "fields",
    [
        {"meta": "{not json", "content": b"x"},
        {"meta": "[]", "content": b"x"},
        {"meta": "{}"},
        {"meta": "{}", "task": '{"a": 1, "b": 2}'},
        {"meta": "{}", "task": "\xff"},
    ],
)
def test_a_malformed_entry_is_dead_lettered_not_crashing_the_node(
    client: redis.Redis, opts: Dict[str, Any], fields: Dict[str, Any]
) -> None:
    """Hostile or broken entries end in the dead-letter stream with an error response."""
    entry_id = client.xadd(opts["stream"], fields).decode()
    _run(opts)
    assert client.xlen(f"{opts['stream']}:dead") == 1
    [error] = _result(client, opts, scan_id_for(opts["stream"], entry_id))["errors"]
    assert error["error"].startswith(f"malformed entry {entry_id}")
    assert client.xlen(opts["stream"]) == 0


def test_the_provider_reads_no_more_than_the_local_queue_can_hold(
    client: redis.Redis, opts: Dict[str, Any]
) -> None:
    """Back-pressure: with room for 3 items, only 3 entries leave the stream's unread part."""
    submitter = Submitter(opts)
    for i in range(10):
        submitter.submit(b"%d" % i)
    stoq = Stoq(plugin_opts={"redis": {**opts, "stop_when_idle": 0.0}})
    plugin = stoq.load_plugin("redis")
    local: Queue = Queue(maxsize=3)
    reader = threading.Thread(target=plugin.ingest, args=(local,), daemon=True)
    reader.start()
    _wait_for(lambda: local.full())
    time.sleep(0.5)
    assert client.xpending(opts["stream"], opts["group"])["pending"] == 3
    items = [local.get() for _ in range(3)]
    assert all(isinstance(i, Delivery) and isinstance(i.item, Payload) for i in items)
    for delivery in items:
        plugin.ack(delivery.tag)
    _wait_for(lambda: client.xlen(opts["stream"]) == 7)  # the three acks arrived
    _wait_for(lambda: local.full())
    time.sleep(0.5)
    assert client.xpending(opts["stream"], opts["group"])["pending"] == 3  # three more read
    stoq.close()
    for _ in range(3):  # ingest may be waiting to put: make room until it sees the stop
        if local.full():
            local.get()
        reader.join(1)
    assert not reader.is_alive()


def test_nack_leaves_the_entry_for_the_queue(client: redis.Redis, opts: Dict[str, Any]) -> None:
    """nack never removes: the entry is still pending, with the reason recorded."""
    Submitter(opts).submit(b"again")
    stoq = Stoq(plugin_opts={"redis": opts})
    plugin = stoq.load_plugin("redis")
    work = plugin.work_stream()
    work.ensure_group()
    [(entry_id, _, deliveries)] = work.read(10, 0.1)
    assert deliveries == 1
    plugin.nack(entry_id, "run mode stopped before this item was scanned")
    stoq.close()  # stop() sends the verdicts still queued
    assert client.xpending(opts["stream"], opts["group"])["pending"] == 1
    assert work.last_reason(entry_id) == "run mode stopped before this item was scanned"


def _read_entries(plugin: Any, count: int) -> List[str]:
    work = plugin.work_stream()
    work.ensure_group()
    entries: List[str] = []
    while len(entries) < count:
        entries += [entry_id for entry_id, _, _ in work.read(count - len(entries), 0.1)]
    return entries


def test_acknowledgements_that_trickle_in_are_settled_together(
    client: redis.Redis, opts: Dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verdicts arriving a few milliseconds apart (as run mode's answers do) share round trips:
    30 acks 2 ms apart within one gathering window take one or two, not one each."""
    import stoq_plugin_redis.plugin as plugin_module

    monkeypatch.setattr(
        plugin_module, "GATHER", 0.5, raising=False
    )  # wide: a slow machine still fits in it
    submitter = Submitter(opts)
    for i in range(30):
        submitter.submit(b"%d" % i)
    stoq = Stoq(plugin_opts={"redis": opts})
    plugin = stoq.load_plugin("redis")
    entries = _read_entries(plugin, 30)
    trips: List[int] = []  # acks sent in each round trip
    settle = plugin.work_stream().settle

    def counted(acks: List[str], nacks: Dict[str, str]) -> None:
        trips.append(len(acks))
        settle(acks, nacks)

    monkeypatch.setattr(plugin.work_stream(), "settle", counted)
    for entry_id in entries:
        plugin.ack(entry_id)
        time.sleep(0.002)
    _wait_for(lambda: client.xlen(opts["stream"]) == 0)
    stoq.close()
    assert sum(trips) == 30
    assert len(trips) <= 3, trips  # sent as they came, it took one trip per ack


def test_a_stop_sends_the_gathered_verdicts_at_once(
    client: redis.Redis, opts: Dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """stop() cuts the gathering window short: the acks and nacks go out before it returns,
    even with a window longer than stop() waits for the thread."""
    import stoq_plugin_redis.plugin as plugin_module

    monkeypatch.setattr(plugin_module, "GATHER", 3600.0, raising=False)
    submitter = Submitter(opts)
    for i in range(4):
        submitter.submit(b"%d" % i)
    stoq = Stoq(plugin_opts={"redis": opts})
    plugin = stoq.load_plugin("redis")
    first, second, third, fourth = _read_entries(plugin, 4)
    for entry_id in (first, second, third):
        plugin.ack(entry_id)
    plugin.nack(fourth, "run mode stopped before this item was scanned")
    started = time.monotonic()
    stoq.close()
    assert time.monotonic() - started < 5
    assert client.xlen(opts["stream"]) == 1
    assert client.xpending(opts["stream"], opts["group"])["pending"] == 1
    assert (
        plugin.work_stream().last_reason(fourth) == "run mode stopped before this item was scanned"
    )
