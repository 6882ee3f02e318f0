"""Rows in a real PostgreSQL: one per scan id (a redelivery upserts), the JSONB queries the
README shows, batched writes flushed at stop, and hostile content."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import psycopg
import pytest

from stoq import Payload, Stoq
from stoq.data_classes import Error, RequestMeta, StoqResponse, WorkerResponse
from stoq.plugins import WorkerPlugin


class _Findings(WorkerPlugin):
    """Reports a rule name found in the payload, the way the yara worker shapes its results."""

    def scan(self, payload: Any, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        rules = [{"rule": word.decode()} for word in payload.content.split() if word.isupper()]
        return WorkerResponse({"matches": rules})


def _stoq(opts: Dict[str, Any]) -> Stoq:
    stoq = Stoq(connectors=["postgres"], always_dispatch=["yara"], plugin_opts={"postgres": opts})
    stoq.plugins.build("yara", _Findings)
    return stoq


def _rows(db: psycopg.Connection[Any], opts: Dict[str, Any], where: str = "true") -> List[Any]:
    query = f"SELECT scan_id, sha256, errors, response FROM {opts['schema']}.stoq_responses"
    return db.execute(f"{query} WHERE {where} ORDER BY scan_id").fetchall()


def test_each_response_is_one_row_and_a_redelivery_upserts(
    db: psycopg.Connection[Any], opts: Dict[str, Any]
) -> None:
    """The same scan id saved twice (a redelivered message) leaves one row: the latest."""
    stoq = _stoq(opts)
    first = stoq.scan_payload(Payload(b"first try"), scan_id="msg-1")
    stoq.scan_payload(Payload(b"second try"), scan_id="msg-1")
    other = stoq.scan(b"another")
    stoq.close()
    rows = _rows(db, opts)
    assert [r[0] for r in rows] == sorted(["msg-1", other.scan_id])
    [(_, sha256, errors, response)] = [r for r in rows if r[0] == "msg-1"]
    assert response["results"][0]["size"] == len(b"second try")
    assert sha256 == response["results"][0]["sha256"] != first.results[0].sha256
    assert errors == 0


def test_the_readme_queries_find_rules_and_errors(
    db: psycopg.Connection[Any], opts: Dict[str, Any]
) -> None:
    """Containment on the GIN-indexed JSONB: payloads naming a rule; scans with errors."""
    stoq = _stoq(opts)
    hit = stoq.scan(b"macro AutoOpen MACRO_WITH_SHELL here")
    stoq.scan(b"nothing to see")
    failed = StoqResponse([], RequestMeta(), [Error("boom", "x", None, "scan")])
    stoq.save(failed)
    stoq.close()
    by_rule = db.execute(
        f"""SELECT scan_id, payload->>'sha256'
            FROM {opts["schema"]}.stoq_responses, jsonb_array_elements(response->'results') payload
            WHERE response @> %s::jsonb
              AND payload @> %s::jsonb""",
        [
            json.dumps(
                {"results": [{"workers": [{"yara": {"matches": [{"rule": "MACRO_WITH_SHELL"}]}}]}]}
            ),
            json.dumps({"workers": [{"yara": {"matches": [{"rule": "MACRO_WITH_SHELL"}]}}]}),
        ],
    ).fetchall()
    assert by_rule == [(hit.scan_id, hit.results[0].sha256)]
    with_errors = _rows(db, opts, "errors > 0")
    assert [r[0] for r in with_errors] == [failed.scan_id]
    indexes = {
        r[0]
        for r in db.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s", [opts["schema"]]
        ).fetchall()
    }
    assert any("USING gin (response jsonb_path_ops)" in i for i in indexes)


def test_batched_rows_are_written_when_the_batch_fills_and_at_stop(
    db: psycopg.Connection[Any], opts: Dict[str, Any]
) -> None:
    """batch_size 3: nothing until the third save; the rest at stop(), none lost."""
    stoq = _stoq({**opts, "batch_size": 3, "flush_interval": 3600})
    stoq.scan(b"one")
    stoq.scan(b"two")
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = %s"
    assert db.execute(tables, [opts["schema"]]).fetchone() == (0,)  # not even connected yet
    stoq.scan(b"three")
    assert len(_rows(db, opts)) == 3
    stoq.scan(b"four")
    assert len(_rows(db, opts)) == 3
    stoq.close()
    assert len(_rows(db, opts)) == 4


def test_nul_characters_are_stored_not_refused(
    db: psycopg.Connection[Any], opts: Dict[str, Any]
) -> None:
    """jsonb cannot hold U+0000: it is stored as U+FFFD, and a literal backslash-u survives."""
    stoq = _stoq(opts)
    response = StoqResponse(
        [], RequestMeta(extra_data={"nul": "a\x00b", "text": "\\u0000 as typed"}), []
    )
    stoq.save(response)
    stoq.close()
    [(_, _, _, saved)] = _rows(db, opts)
    assert saved["request_meta"]["extra_data"] == {"nul": "a\ufffdb", "text": "\\u0000 as typed"}


def test_a_database_that_refuses_is_a_connector_failure(opts: Dict[str, Any]) -> None:
    """Wrong database: save fails (counted, the response is not acknowledged), no crash."""
    stoq = _stoq({**opts, "dsn": "host=127.0.0.1 dbname=no_such_database_here user=postgres"})
    stoq.scan(b"x")
    stoq.close()
    assert stoq.connector_failures == 1


@pytest.mark.parametrize("bad", ["public; DROP TABLE x", "1abc", "a" * 64, ""])
def test_schema_and_table_must_be_plain_identifiers(opts: Dict[str, Any], bad: str) -> None:
    stoq = _stoq({**opts, "table": bad})
    stoq.scan(b"x")
    stoq.close()
    assert stoq.connector_failures == 1
