"""SPEC §14: the whole-request cache — a repeated root is one lookup, under fresh ids, with
decorators and connectors still run; anything that shapes the scan is part of the key."""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import jsonschema
import pytest

from stoq import Stoq
from stoq.data_classes import (
    ArchiverResponse,
    DecoratorResponse,
    DispatcherResponse,
    Payload,
    PayloadMeta,
    RequestMeta,
    StoqResponse,
)
from stoq.plugins import ArchiverPlugin, ConnectorPlugin, DecoratorPlugin, DispatcherPlugin
from stoq.schema import response_schema

#: Calls per plugin class name (this process).
CALLS: Dict[str, int] = {}
#: Responses the connector saved.
SAVED: List[StoqResponse] = []


def _count(plugin: Any) -> None:
    name = type(plugin).__name__
    CALLS[name] = CALLS.get(name, 0) + 1


class CountingDispatcher(DispatcherPlugin):
    """Sends every payload to extract_worker and simple_worker."""

    DEFAULT_OPTIONS = {"colour": "blue"}

    def get_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DispatcherResponse]:
        _count(self)
        return DispatcherResponse(["extract_worker", "simple_worker"], {"colour": "blue"})


class ClockDispatcher(CountingDispatcher):
    """An answer that changes with time: opts out of the cache."""

    cacheable = False


class CountingDecorator(DecoratorPlugin):
    def decorate(self, response: StoqResponse) -> Optional[DecoratorResponse]:
        _count(self)
        return DecoratorResponse({"payloads": len(response.results)})


class KeepingConnector(ConnectorPlugin):
    def save(self, response: StoqResponse) -> None:
        SAVED.append(response)


class CountingArchiver(ArchiverPlugin):
    def archive(self, payload: Payload, request_meta: RequestMeta) -> Optional[ArchiverResponse]:
        _count(self)
        return ArchiverResponse({"stored": payload.sha256})


MADE: List[Stoq] = []


@pytest.fixture(autouse=True)
def close_made() -> Iterator[None]:
    CALLS.clear()
    SAVED.clear()
    yield
    while MADE:
        MADE.pop().close()


@pytest.fixture
def spec(tmp_path: Path) -> str:
    return f"sqlite:{tmp_path / 'cache.sqlite'}"


def _stoq(
    spec: str, version: str = "1.0", dispatcher: type = CountingDispatcher, **kwargs: Any
) -> Stoq:
    opts = kwargs.pop("opts", {})
    settings: Dict[str, Any] = {
        "dispatchers": ["counting_dispatcher"],
        "decorators": ["counting_decorator"],
        "connectors": ["keeping_connector"],
        "result_cache": spec,
        "plugin_opts": {"counting_dispatcher": opts},
    }
    stoq = Stoq(**{**settings, **kwargs})
    stoq.plugins.build("counting_dispatcher", dispatcher, Version=version)
    stoq.plugins.build("counting_decorator", CountingDecorator)
    stoq.plugins.build("keeping_connector", KeepingConnector)
    stoq.plugins.build("counting_archiver", CountingArchiver)
    MADE.append(stoq)
    return stoq


def _scan(stoq: Stoq, content: bytes, **kwargs: Any) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(str(stoq.scan(content, **kwargs)))
    jsonschema.validate(data, response_schema())
    return data


def _shape(data: Dict[str, Any]) -> List[Any]:
    """Everything but ids, times and where the answer came from; parents as indexes."""
    index = {r["payload_id"]: i for i, r in enumerate(data["results"])}
    skip = ("payload_id", "extracted_from", "timings", "from_cache")
    return [
        ({k: v for k, v in r.items() if k not in skip}, index.get(r["extracted_from"]))
        for r in data["results"]
    ] + [(e["error"], e["stage"], index.get(e["payload_id"])) for e in data["errors"]]


def test_a_repeated_root_is_one_entry_with_fresh_ids(spec: str) -> None:
    content = b"root %s\nchild one\nchild two" % uuid.uuid4().hex.encode()
    first = _scan(_stoq(spec), content)
    assert CALLS == {"CountingDispatcher": 3, "CountingDecorator": 1}
    root = Payload(content)
    second = json.loads(str(_stoq(spec).scan_payload(root)))
    jsonschema.validate(second, response_schema())
    assert CALLS == {"CountingDispatcher": 3, "CountingDecorator": 2}  # no plugin but decorators
    assert "from_cache" not in first
    assert second["from_cache"] == {"scan_id": first["scan_id"], "time": first["time"]}
    assert second["scan_id"] != first["scan_id"]
    assert second["results"][0]["payload_id"] == root.payload_id
    ids = [r["payload_id"] for r in second["results"]]
    assert len(set(ids)) == 3 and not set(ids) & {r["payload_id"] for r in first["results"]}
    assert _shape(second) == _shape(first)
    assert [r["from_cache"] for r in second["results"]] == [["extract_worker", "simple_worker"]] * 3
    assert [r["timings"] for r in second["results"]] == [{}] * 3  # no plugin was called
    assert second["decorators"] == {"counting_decorator": {"payloads": 3}}
    assert [s.scan_id for s in SAVED] == [first["scan_id"], second["scan_id"]]


@pytest.mark.parametrize(
    ("changed", "hit"),
    [
        ({}, True),
        ({"version": "1.1"}, False),
        ({"opts": {"colour": "red"}}, False),
        ({"opts": {"timeout": 30}}, True),  # how it is called, not what it answers
        ({"stoq": {"max_recursion": 0}}, False),
        ({"stoq": {"always_dispatch": ["second_worker"]}}, False),
        ({"stoq": {"decorators": []}}, True),  # decorators run on every response
        ({"scan": {"request_meta": RequestMeta(source="elsewhere")}}, False),
        ({"scan": {"payload_meta": PayloadMeta(extra_data={"filename": "a.txt"})}}, False),
        ({"scan": {"add_start_dispatch": ["second_worker"]}}, False),
        ({"scan": {"add_start_deep_dispatch": ["second_worker"]}}, False),
    ],
)
def test_what_shapes_the_scan_is_in_the_key(spec: str, changed: Dict[str, Any], hit: bool) -> None:
    content = b"key %s\nchild" % uuid.uuid4().hex.encode()
    _scan(_stoq(spec), content)
    stoq = _stoq(
        spec, changed.get("version", "1.0"), opts=changed.get("opts", {}), **changed.get("stoq", {})
    )
    data = _scan(stoq, content, **changed.get("scan", {}))
    assert ("from_cache" in data) is hit
    if not hit:  # and it is stored in turn
        assert "from_cache" in _scan(stoq, content, **changed.get("scan", {}))


def test_a_scan_with_a_failure_is_scanned_again(spec: str) -> None:
    stoq = _stoq(spec, always_dispatch=["raise_worker"])
    _scan(stoq, b"fails\nchild")
    again = _scan(stoq, b"fails\nchild")
    assert "from_cache" not in again
    assert CALLS["CountingDispatcher"] == 4
    assert again["results"][0]["from_cache"] == ["extract_worker", "simple_worker"]  # per worker
    assert {e["plugin_name"] for e in again["errors"]} == {"raise_worker"}


def test_limit_errors_are_kept_with_the_new_ids(spec: str) -> None:
    content = b"limits %s\none\ntwo\nthree" % uuid.uuid4().hex.encode()
    first = _scan(_stoq(spec, max_payloads=2), content)
    second = _scan(_stoq(spec, max_payloads=2), content)
    assert "from_cache" in second and _shape(second) == _shape(first)
    assert [e["stage"] for e in second["errors"]] == ["limit", "limit"]
    assert {e["payload_id"] for e in second["errors"]} == {second["results"][0]["payload_id"]}


def test_archivers_at_work_always_scan(spec: str) -> None:
    stoq = _stoq(spec, dest_archivers=["counting_archiver"])
    for _ in range(2):
        assert "from_cache" not in _scan(stoq, b"archive me\nchild")
    assert CALLS["CountingArchiver"] == 4
    off = RequestMeta(archive_payloads=False)
    _scan(stoq, b"archive me\nchild", request_meta=off)
    assert "from_cache" in _scan(stoq, b"archive me\nchild", request_meta=off)
    assert CALLS["CountingArchiver"] == 4


def test_an_opted_out_dispatcher_keeps_the_request_out(spec: str) -> None:
    stoq = _stoq(spec, dispatcher=ClockDispatcher)
    for _ in range(2):
        data = _scan(stoq, b"clock\nchild")
        assert "from_cache" not in data
    assert data["results"][0]["from_cache"] == ["extract_worker", "simple_worker"]
    assert "from_cache" not in _scan(_stoq(spec, opts={"cache": False}), b"clock\nchild")


def test_an_unusable_entry_is_logged_and_scanned_again(
    spec: str, caplog: pytest.LogCaptureFixture
) -> None:
    stoq = _stoq(spec)
    first = _scan(stoq, b"corrupt me\nchild")
    db = sqlite3.connect(spec[len("sqlite:") :])
    with db:
        db.execute("UPDATE entries SET value = ? WHERE key LIKE 'request:%'", (b'{"results": 1',))
    db.close()
    with caplog.at_level(logging.ERROR, logger="stoq.cache"):
        again = _scan(stoq, b"corrupt me\nchild")
    assert "from_cache" not in again and _shape(again) == _shape(first)
    assert "unusable request entry" in caplog.text
    assert "from_cache" in _scan(stoq, b"corrupt me\nchild")  # stored again, whole


def test_an_entry_over_the_bound_is_not_stored(spec: str) -> None:
    stoq = _stoq(spec, result_cache_max_entry_bytes=500)
    for _ in range(2):
        data = _scan(stoq, b"big\n" + b"x" * 50)
        assert "from_cache" not in data
