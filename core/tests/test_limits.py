"""SPEC §5.3: every payload left out for a limit is an Error with stage 'limit'."""

from __future__ import annotations

import time


def _limit_errors(response):
    return [e for e in response.errors if e.stage == "limit"]


def test_max_recursion_reports_what_was_not_scanned(build) -> None:
    """Children below max_recursion are reported, not dropped silently (a v2 defect)."""
    stoq = build(
        always_dispatch=["extract_worker"],
        max_recursion=1,
        plugin_opts={"extract_worker": {"count": 2}},
    )
    response = stoq.scan(b"root")
    assert len(response.results) == 3  # root + 2 children at level 1
    errors = _limit_errors(response)
    assert len(errors) == 4  # each level-1 child extracted 2 grandchildren
    assert all("max_recursion 1 reached" in e.error for e in errors)
    assert {e.payload_id for e in errors} == {r.payload_id for r in response.results[1:]}
    assert all(e.plugin_name == "extract_worker" for e in errors)


def test_ten_times_max_payloads_finishes_quickly_with_limit_errors(build) -> None:
    """A payload extracting 10× max_payloads children stops at the budget and says so."""
    stoq = build(
        always_dispatch=["extract_worker"],
        max_payloads=50,
        plugin_opts={"extract_worker": {"count": 500}},
    )
    started = time.monotonic()
    response = stoq.scan(b"root")
    assert time.monotonic() - started < 10
    assert len(response.results) == 50
    errors = _limit_errors(response)
    summary = [e for e in errors if "more payloads not scanned" in e.error]
    individual = [e for e in errors if e not in summary]
    assert len(individual) == 100
    assert all("max_payloads 50 reached" in e.error for e in individual)
    assert len(summary) == 1
    assert summary[0].error.startswith(f"{500 - 49 + 49 * 500 - 100} more")


def test_self_extracting_worker_finishes_at_once(build) -> None:
    """A child identical to its parent is a duplicate: one payload, no loop."""
    stoq = build(always_dispatch=["self_extract_worker"])
    started = time.monotonic()
    response = stoq.scan(b"quine")
    assert time.monotonic() - started < 2
    assert len(response.results) == 1


def test_max_payload_size(build) -> None:
    """An extracted payload larger than max_payload_size is reported and skipped."""
    stoq = build(always_dispatch=["extract_worker"], max_payload_size=4)
    response = stoq.scan(b"root\nsmall\ntiny")
    assert [r.size for r in response.results] == [15, 4]
    [error] = _limit_errors(response)
    assert "max_payload_size 4 bytes" in error.error and "5 bytes" in error.error


def test_max_total_bytes(build) -> None:
    """Extracted bytes beyond max_total_bytes are reported and skipped."""
    stoq = build(always_dispatch=["extract_worker"], max_total_bytes=10)
    response = stoq.scan(b"root\naaaa\nbbbb\ncccc")
    assert [r.size for r in response.results] == [19, 4, 4]
    [error] = _limit_errors(response)
    assert "max_total_bytes 10 reached" in error.error
