"""SPEC §14: the result cache — keyed by bytes, plugin, version and options; SQLite and Redis;
never fails a scan."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import jsonschema
import pytest

from stoq import Stoq
from stoq.cache import CacheEntry, ResultCache, SQLiteBackend, open_cache
from stoq.data_classes import Error, ExtractedPayload, Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin
from stoq.schema import response_schema

REDIS_URL = os.environ.get("STOQ_TEST_REDIS", "redis://127.0.0.1:6379/0")

#: Calls of CountingWorker.scan per payload content (this process).
CALLS: Dict[bytes, int] = {}


class CountingWorker(WorkerPlugin):
    """Counts its calls; reports an error and extracts each line after the first."""

    DEFAULT_OPTIONS = {"colour": "blue"}

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        CALLS[payload.content] = CALLS.get(payload.content, 0) + 1
        lines = [line for line in payload.content.split(b"\n") if line][1:]
        return WorkerResponse(
            {"colour": self.plugin_opts["colour"], "lines": len(lines)},
            extracted=[ExtractedPayload(line) for line in lines],
            errors=[Error("one odd thing", stage="limit")],
        )


class ClockWorker(CountingWorker):
    """An answer that changes with time: opts out of the cache."""

    cacheable = False


#: Every Stoq a test made, closed after it (their cache connections with them).
MADE: List[Stoq] = []


@pytest.fixture(autouse=True)
def close_made() -> Iterator[None]:
    yield
    while MADE:
        MADE.pop().close()


def _stoq(spec: str, version: str = "1.0", name: str = "counting", **opts: Any) -> Stoq:
    stoq = Stoq(always_dispatch=[name], result_cache=spec, plugin_opts={name: opts})
    stoq.plugins.build(name, CountingWorker, Version=version)
    MADE.append(stoq)
    return stoq


def _scan(stoq: Stoq, content: bytes) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(str(stoq.scan(content)))
    jsonschema.validate(data, response_schema())
    return data


@pytest.fixture
def spec(tmp_path: Path) -> str:
    return f"sqlite:{tmp_path / 'cache.sqlite'}"


def test_a_hit_returns_results_errors_and_children_without_calling(spec: str) -> None:
    """The second scan of the same bytes is answered by the cache, children and all."""
    content = b"root %d\nchild one\nchild two" % os.getpid()
    first = _scan(_stoq(spec), content)
    assert CALLS[content] == 1
    second = _scan(_stoq(spec), content)
    assert CALLS[content] == 1
    assert [r.get("from_cache") for r in first["results"]] == [None, None, None]
    assert [r["from_cache"] for r in second["results"]] == [["counting"]] * 3
    shape = lambda d: [(r["sha256"], r["workers"], r["extracted_by"]) for r in d["results"]]  # noqa: E731
    assert shape(first) == shape(second)
    assert [(e["error"], e["stage"]) for e in second["errors"]] == [("one odd thing", "limit")] * 3
    assert {e["payload_id"] for e in second["errors"]} == {
        r["payload_id"] for r in second["results"]
    }


@pytest.mark.parametrize(
    ("changed", "hit"),
    [
        ({}, True),
        ({"content": b"other bytes"}, False),
        ({"name": "counting2"}, False),
        ({"version": "1.1"}, False),
        ({"opts": {"colour": "red"}}, False),
        ({"opts": {"timeout": 30}}, True),  # how it is called, not what it answers
    ],
)
def test_every_key_component_misses_when_changed(
    spec: str, changed: Dict[str, Any], hit: bool
) -> None:
    base = b"key test %s" % uuid.uuid4().hex.encode()
    _scan(_stoq(spec), base)
    stoq = _stoq(
        spec,
        version=changed.get("version", "1.0"),
        name=changed.get("name", "counting"),
        **changed.get("opts", {}),
    )
    data = _scan(stoq, changed.get("content", base))
    assert ("from_cache" in data["results"][0]) is hit
    expected = "red" if changed.get("opts", {}).get("colour") else "blue"
    assert data["results"][0]["workers"][0][changed.get("name", "counting")]["colour"] == expected


def test_opting_out_by_attribute_option_or_flag(spec: str) -> None:
    content = b"opt out %s" % uuid.uuid4().hex.encode()
    clock = Stoq(always_dispatch=["clock"], result_cache=spec)
    MADE.append(clock)
    clock.plugins.build("clock", ClockWorker)
    for _ in range(2):
        assert "from_cache" not in _scan(clock, content)["results"][0]
    for _ in range(2):
        data = _scan(_stoq(spec, cache=False), content)
        assert "from_cache" not in data["results"][0]
    data = _scan(_stoq(""), content)
    assert "from_cache" not in data["results"][0]


def test_a_failed_call_is_not_cached(spec: str) -> None:
    stoq = Stoq(always_dispatch=["raise_worker", "simple_worker"], result_cache=spec)
    MADE.append(stoq)
    stoq.scan(b"fails")
    again = _scan(stoq, b"fails")
    assert again["results"][0]["from_cache"] == ["simple_worker"]
    assert [e["plugin_name"] for e in again["errors"]] == ["raise_worker"]


def test_a_corrupted_sqlite_file_is_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    with caplog.at_level(logging.ERROR, logger="stoq.cache"):
        data = _scan(_stoq(f"sqlite:{path}"), b"root\nchild")
        data2 = _scan(_stoq(f"sqlite:{path}"), b"root\nchild")
    assert [r["workers"][0]["counting"]["lines"] for r in data["results"]] == [1, 0]
    assert data2["results"] and "from_cache" not in data2["results"][0]
    assert not [e for e in data["errors"] if e["stage"] != "limit"]
    assert "scanning without the cache" in caplog.text


def test_an_unreachable_redis_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="stoq.cache"):
        data = _scan(_stoq("redis://127.0.0.1:1/0"), b"no redis")
    assert data["results"][0]["workers"][0]["counting"]["lines"] == 0
    assert "scanning without the cache" in caplog.text


class _FailingBackend:
    """Works in memory, except that ``op`` raises on keys starting with ``prefix`` (a dropped
    connection, a full disk); closing it fails too."""

    def __init__(self, op: str, prefix: str) -> None:
        self.op, self.prefix = op, prefix
        self.entries: Dict[str, bytes] = {}
        self.calls = 0

    def _call(self, op: str, key: str) -> None:
        self.calls += 1
        if op == self.op and key.startswith(self.prefix):
            raise OSError(f"{op} failed")

    def get(self, key: str) -> Optional[bytes]:
        self._call("get", key)
        return self.entries.get(key)

    def put(self, key: str, raw: bytes) -> None:
        self._call("put", key)
        self.entries[key] = raw

    def close(self) -> None:
        raise OSError("already gone")


@pytest.mark.parametrize(
    ("op", "prefix"),
    [("get", "request:"), ("get", "counting:"), ("put", "counting:"), ("put", "request:")],
    ids=["request lookup", "worker lookup", "worker store", "request store"],
)
def test_a_cache_failing_mid_scan_is_dropped_and_the_scans_are_complete(
    op: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Whichever lookup or store fails first, the scan's response is the one without a cache,
    the failure is logged, and the cache is never asked again."""
    content = b"failing cache %s\nchild" % uuid.uuid4().hex.encode()
    shape = lambda d: [(r["sha256"], r["workers"], r["extracted_by"]) for r in d["results"]]  # noqa: E731
    reference = shape(_scan(_stoq(""), content))
    stoq = _stoq("")
    backend = _FailingBackend(op, prefix)
    stoq.calls.cache = ResultCache(backend, 10**6)
    with caplog.at_level(logging.DEBUG, logger="stoq.cache"):
        first = _scan(stoq, content)
        calls = backend.calls
        second = _scan(stoq, content)
    assert shape(first) == shape(second) == reference
    assert stoq.calls.cache.broken and backend.calls == calls
    assert f"result cache {'lookup' if op == 'get' else 'store'} failed" in caplog.text
    assert "closing the result cache failed" in caplog.text


def test_a_cache_spec_that_names_nothing_known_is_logged_and_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="stoq.cache"):
        assert open_cache("memcached://127.0.0.1", 60, 10**9, 10**6) is None
    assert "'memcached://127.0.0.1' is not sqlite" in caplog.text


def test_the_default_sqlite_file_is_under_the_user_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = open_cache("sqlite", 60, 10**9, 10**6)
    assert cache is not None
    cache.put("c" * 64, "p:1:x", CacheEntry({"kept": True}, [], []))
    cache.close()
    reopened = open_cache(f"sqlite:{tmp_path / 'stoq' / 'results.sqlite'}", 60, 10**9, 10**6)
    assert reopened is not None
    entry = reopened.get("c" * 64, "p:1:x")
    assert entry is not None and entry.results == {"kept": True}
    reopened.close()


def test_entries_over_the_entry_bound_are_not_stored(tmp_path: Path) -> None:
    cache = open_cache(f"sqlite:{tmp_path / 'c.sqlite'}", 60, 10**9, 1000)
    assert cache is not None
    cache.put("a" * 64, "p:1:x", CacheEntry({}, [], [ExtractedPayload(os.urandom(2000))]))
    cache.put("b" * 64, "p:1:x", CacheEntry({"small": 1}, [], []))
    assert cache.get("a" * 64, "p:1:x") is None
    entry = cache.get("b" * 64, "p:1:x")
    assert entry is not None and entry.results == {"small": 1}
    cache.close()


def test_sqlite_prunes_expired_then_oldest_to_its_size_bound(tmp_path: Path) -> None:
    backend = SQLiteBackend(str(tmp_path / "c.sqlite"), ttl=3600, max_bytes=10_000)
    for index in range(50):
        backend.put(f"k{index}", os.urandom(1000))
    backend.prune()
    (total,) = backend.db.execute("SELECT SUM(size) FROM entries").fetchone()
    assert total <= 10_000
    assert backend.get("k49") is not None and backend.get("k0") is None
    backend.close()
    expired = SQLiteBackend(str(tmp_path / "e.sqlite"), ttl=0.001, max_bytes=10_000)
    expired.put("old", b"x")
    time.sleep(0.01)
    assert expired.get("old") is None
    expired.close()


def _writer(path: str, worker: int, count: int, failures: Any) -> None:
    causes: List[str] = []
    failed = ResultCache._failed

    def remember(cache: ResultCache, action: str, exc: BaseException) -> None:
        causes.append(f"{action}: {type(exc).__name__}: {exc}")
        failed(cache, action, exc)

    ResultCache._failed = remember  # type: ignore[method-assign]  # this child's class only
    cache = open_cache(f"sqlite:{path}", 3600, 10**9, 10**6)
    assert cache is not None
    for index in range(count):
        cache.put(f"{worker:02d}{index:062d}", "p:1:x", CacheEntry({"i": index}, [], []))
    if cache.broken:
        failures.put(f"writer {worker}: {'; '.join(causes)}")
    cache.close()


def test_several_processes_write_one_sqlite_file_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    context = multiprocessing.get_context("spawn")
    failures = context.Queue()
    procs = [context.Process(target=_writer, args=(path, w, 150, failures)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    assert failures.empty(), failures.get(timeout=5)  # the cause, when a writer gave up
    cache = open_cache(f"sqlite:{path}", 3600, 10**9, 10**6)
    assert cache is not None
    found = [cache.get(f"{w:02d}{i:062d}", "p:1:x") for w in range(4) for i in range(150)]
    assert all(entry is not None for entry in found)
    assert not cache.broken
    cache.close()


def _open_at(path: str, start_at: float, answers: Any) -> None:
    while time.time() < start_at:  # every process opens the file at the same moment
        pass
    backend = SQLiteBackend(path, ttl=3600, max_bytes=10**9)
    try:
        backend.put(str(os.getpid()), b"x")
        answers.put("ok")
    except sqlite3.Error as exc:
        answers.put(f"{type(exc).__name__}: {exc}")
    finally:
        backend.close()


def test_processes_opening_a_new_sqlite_file_together_all_get_it(tmp_path: Path) -> None:
    """Consumers start together and open the cache file together. Switching a new file to WAL
    failed at once with "database is locked" for some of them (SQLite does not wait on the
    busy timeout there): 124 of 800 processes in 200 rounds of four."""
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    rounds, width = 40, 4
    for trial in range(rounds):
        path = str(tmp_path / f"new-{trial}.sqlite")
        start_at = time.time() + 0.05
        procs = [
            context.Process(target=_open_at, args=(path, start_at, answers)) for _ in range(width)
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
    got = [answers.get(timeout=30) for _ in range(rounds * width)]
    assert [answer for answer in got if answer != "ok"] == []


def test_redis_backend_hits_with_ttl_and_cleans_up() -> None:
    """Against the real server, under a key prefix of its own that is removed afterwards."""
    import redis

    prefix = f"stoq-test:{uuid.uuid4().hex}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        cache = open_cache(REDIS_URL, 60, 10**9, 10**6, prefix=prefix)
        assert cache is not None
        stoq = Stoq(always_dispatch=["extract_worker", "simple_worker"])
        MADE.append(stoq)
        stoq.calls.cache = cache
        first = _scan(stoq, b"redis root\nchild")
        second = _scan(stoq, b"redis root\nchild")
        assert "from_cache" not in first["results"][0]
        assert [r["from_cache"] for r in second["results"]] == [
            ["extract_worker", "simple_worker"]
        ] * 2
        assert second["from_cache"]["scan_id"] == first["scan_id"]  # the whole request
        keys: List[bytes] = list(client.scan_iter(match=prefix + "*"))
        assert len(keys) == 5  # two workers on two payloads, and the request
        assert all(0 < client.pttl(key) <= 60_000 for key in keys)
    finally:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()
