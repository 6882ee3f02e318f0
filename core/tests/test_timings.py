"""SPEC §14: each plugin call's duration in the response, and ``stoq scan --stats``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema

from stoq.schema import response_schema
from stoq.stats import ScanStats, percentile


def test_every_stage_is_timed_per_payload_and_the_request_in_total(build) -> None:
    """Dispatch, each worker, deep dispatch, archive and decorate each have their seconds."""
    stoq = build(
        dispatchers=["simple_dispatcher"],
        deep_dispatchers=["same_deep_dispatcher"],
        always_dispatch=["sleep_worker", "extract_worker"],
        dest_archivers=["multi_role"],
        decorators=["multi_role"],
        plugin_opts={"sleep_worker": {"seconds": 0.05}},
    )
    data = json.loads(str(stoq.scan(b"root\nchild")))
    jsonschema.validate(data, response_schema())
    root, child = data["results"]
    for payload in (root, child):
        timings = payload["timings"]
        assert set(timings) == {"dispatch", "scan", "deep_dispatch", "archive"}
        assert set(timings["dispatch"]) == {"simple_dispatcher"}
        assert set(timings["scan"]) == {
            "sleep_worker",
            "extract_worker",
            "simple_worker",
            "second_worker",
        }
        assert set(timings["deep_dispatch"]) == {"same_deep_dispatcher"}
        assert set(timings["archive"]) == {"multi_role"}
        assert timings["scan"]["sleep_worker"] >= 0.05
        assert timings["scan"]["simple_worker"] < 0.05
    assert set(data["timings"]["decorate"]) == {"multi_role"}
    spent = sum(s for p in (root, child) for stage in p["timings"].values() for s in stage.values())
    assert data["timings"]["total"] >= spent >= 0.1


def test_a_failed_or_timed_out_call_is_timed_too(build) -> None:
    """The time a failing plugin cost is real time: it is recorded like any other."""
    stoq = build(
        always_dispatch=["sleep_worker", "raise_worker"],
        plugin_opts={"sleep_worker": {"seconds": 10, "timeout": 0.2}},
    )
    response = stoq.scan(b"x")
    assert [(e.plugin_name, e.stage) for e in response.errors] == [
        ("sleep_worker", "timeout"),
        ("raise_worker", "scan"),
    ]
    scan = response.results[0].timings["scan"]
    assert 0.2 <= scan["sleep_worker"] < 5
    assert scan["raise_worker"] < 0.2


def test_schema_rejects_a_negative_or_unknown_stage_timing(build) -> None:
    """The timings' shape is checked by the schema (the check can fail)."""
    data = json.loads(str(build(always_dispatch=["simple_worker"]).scan(b"x")))
    validator = jsonschema.Draft202012Validator(response_schema())
    assert not list(validator.iter_errors(data))
    data["results"][0]["timings"]["scan"]["simple_worker"] = -1
    data["results"][0]["timings"]["nap"] = {"simple_worker": 1.0}
    messages = [e.message for e in validator.iter_errors(data)]
    assert len(messages) == 2, messages


def test_stats_adds_up_calls_errors_and_timeouts(build) -> None:
    """Totals, percentiles, calls, errors and timeouts per plugin, slowest first."""
    stoq = build(
        always_dispatch=["sleep_worker", "raise_worker", "simple_worker"],
        plugin_opts={"sleep_worker": {"seconds": 10, "timeout": 0.1}},
    )
    stats = ScanStats()
    for content in (b"a", b"b", b"c"):
        stats.add(json.loads(str(stoq.scan(content))))
    sleep = stats.plugins["sleep_worker"]
    assert (len(sleep.seconds), sleep.errors, sleep.timeouts) == (3, 0, 3)
    raised = stats.plugins["raise_worker"]
    assert (len(raised.seconds), raised.errors, raised.timeouts) == (3, 3, 0)
    table = stats.table().splitlines()
    assert table[0].split() == [
        "plugin",
        "stage",
        "calls",
        "total",
        "s",
        "p50",
        "ms",
        "p99",
        "ms",
        "errors",
        "timeouts",
        "cached",
    ]
    assert table[2].split()[:3] == ["sleep_worker", "scan", "3"]
    assert table[2].split()[-3:] == ["0", "3", "0"]
    assert table[-1].startswith("3 requests, 3 payloads,")
    total = sum(sleep.seconds)
    assert table[2].split()[3] == f"{total:.3f}" and total >= 0.3  # three 0.1 s deadlines


def test_stats_table_lines_up_its_columns(build, tmp_path: Path) -> None:
    """The ruled header and every cell line up (names left, numbers right); whole-request
    cache hits are counted on the closing line."""
    stoq = build(
        always_dispatch=["extract_worker", "simple_worker"],
        result_cache=f"sqlite:{tmp_path / 'c.sqlite'}",
    )
    stats = ScanStats()
    for content in (b"a long enough root\nchild", b"a long enough root\nchild", b"b"):
        stats.add(json.loads(str(stoq.scan(content))))
    lines = stats.table().splitlines()
    header, rule, rows, closing = lines[0], lines[1], lines[2:-1], lines[-1]
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    assert len(spans) == 9 and header.split("  ")[0] == "plugin"
    for row in [header, *rows]:
        cells = [row[start:end] for start, end in spans]
        assert [c for c in cells[:2] if c != c.lstrip()] == []  # left-aligned
        assert [c for c in cells[2:] if c and c[-1] == " "] == []  # right-aligned
    by_name = {row.split()[0]: row.split() for row in rows}
    assert by_name["simple_worker"][2] == "3"  # calls with timings: the hit made none
    assert by_name["extract_worker"][-1] == "2"  # cached: the hit's two payloads
    assert closing.startswith("3 requests (1 whole from the cache), 5 payloads,")


def test_percentile_is_nearest_rank() -> None:
    ordered = [float(n) for n in range(1, 101)]
    assert percentile(ordered, 0.5) == 50.0
    assert percentile(ordered, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0


def test_scan_stats_prints_the_table_on_stderr_only(tmp_path: Path) -> None:
    """`stoq scan --stats` with two processes: stdout stays JSON lines, the table goes to stderr."""
    for index in range(4):
        (tmp_path / f"f{index}").write_bytes(b"line %d\nchild %d\n" % (index, index))
    result = subprocess.run(
        [sys.executable, "-m", "stoq", "scan", "--profile", "none", "-j", "2", "--stats"]
        + ["-a", "extract_worker,simple_worker", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    responses = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(responses) == 4
    rows = {line.split()[0]: line.split() for line in result.stderr.splitlines() if line}
    # Each file and its one child run simple_worker; extract_worker runs on both too.
    assert rows["simple_worker"][1:3] == ["scan", "8"]
    assert rows["extract_worker"][1:3] == ["scan", "8"]
    assert "4 requests, 8 payloads" in result.stderr
