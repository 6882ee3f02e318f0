"""SPEC §5.7: the response JSON, its schema, split() and reconstruct_all_subresponses()."""

from __future__ import annotations

import json

import jsonschema

from stoq import Payload, RequestMeta, StoqResponse, WorkerResponse
from stoq.plugins import WorkerPlugin
from stoq.schema import response_schema


class _BytesWorker(WorkerPlugin):
    def scan(self, payload: Payload, request_meta: RequestMeta) -> WorkerResponse:
        return WorkerResponse({"raw": b"ok\xff\x00", "tags": {"b", "a"}})


def test_response_json_matches_the_shipped_schema(build) -> None:
    """A response with children, errors, meta and archivers validates against the schema."""
    stoq = build(
        always_dispatch=["extract_worker", "raise_worker"],
        deep_dispatchers=["test_deep_dispatcher"],
        dispatchers=["simple_dispatcher"],
        dest_archivers=["multi_role"],
        decorators=["multi_role"],
    )
    data = json.loads(str(stoq.scan(b"root\nchild", request_meta=RequestMeta(source="test"))))
    jsonschema.Draft202012Validator.check_schema(response_schema())
    jsonschema.validate(data, response_schema())
    assert data["time"].endswith("+00:00")
    assert list(data) == [
        "scan_id",
        "time",
        "results",
        "request_meta",
        "errors",
        "decorators",
        "timings",
    ]


def test_schema_rejects_a_malformed_response() -> None:
    """The schema is strict enough to catch a missing field (it can fail)."""
    data = json.loads(str(StoqResponse([], RequestMeta(), [])))
    del data["errors"]
    validator = jsonschema.Draft202012Validator(response_schema())
    assert any("errors" in e.message for e in validator.iter_errors(data))


def test_bytes_are_escaped_text_and_sets_are_sorted(build) -> None:
    """Bytes in results become UTF-8 text with undecodable bytes escaped, never guessed."""
    stoq = build(always_dispatch=["bytes_worker"])
    stoq.plugins.build("bytes_worker", _BytesWorker)
    data = json.loads(str(stoq.scan(b"x")))
    assert data["results"][0]["workers"][0]["bytes_worker"] == {
        "raw": "ok\\xff\x00",
        "tags": ["a", "b"],
    }


def test_split_by_payload_gives_one_response_per_payload(build) -> None:
    """split_by_payload() keeps scan_id, time and request_meta, one result each."""
    response = build(always_dispatch=["extract_worker"]).scan(b"root\na\nb")
    parts = response.split_by_payload()
    assert len(parts) == 3
    assert [p["results"][0]["payload_id"] for p in parts] == [
        r.payload_id for r in response.results
    ]
    assert {p["scan_id"] for p in parts} == {response.scan_id}


def test_split_gives_one_response_per_worker_result_as_in_v2(build) -> None:
    """split() (v2): one dict per (payload, worker result), each with that one worker."""
    stoq = build(always_dispatch=["simple_worker", "second_worker"])
    response = stoq.scan(b"abc")
    parts = response.split()
    assert [list(p["results"][0]["workers"][0]) for p in parts] == [
        ["simple_worker"],
        ["second_worker"],
    ]
    for part in parts:
        assert len(part["results"]) == 1 and len(part["results"][0]["workers"]) == 1
        assert part["scan_id"] == response.scan_id
        assert part["results"][0]["payload_id"] == response.results[0].payload_id
    worker_results = response.results[0].workers[0]
    assert parts[1]["results"][0]["workers"][0]["second_worker"] == worker_results["second_worker"]
    assert response.results[0].workers[0] == worker_results  # the response is not changed


def test_split_skips_payloads_without_worker_results(build) -> None:
    """A payload no worker reported on gives no part (v2's split iterated worker results)."""
    assert build().scan(b"abc").split() == []


def test_reconstruct_all_subresponses_gives_each_subtree(build) -> None:
    """Each payload becomes the root of a response holding its descendants, re-decorated."""
    stoq = build(
        always_dispatch=["extract_worker"],
        decorators=["multi_role"],
        plugin_opts={"extract_worker": {"count": 2}},
        max_recursion=2,
    )
    response = stoq.scan(b"root")
    subs = list(stoq.reconstruct_all_subresponses(response))
    assert len(subs) == len(response.results) == 7
    assert len(subs[0].results) == 7 and len(subs[1].results) == 3 and len(subs[3].results) == 1
    assert subs[1].decorators["multi_role"]["payloads"] == 3
    assert subs[1].results[0].payload_id == response.results[1].payload_id
