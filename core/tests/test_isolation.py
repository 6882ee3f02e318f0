"""SPEC §5.6: plugins with isolation = "process" are stopped at their deadline or memory limit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stoq.options import parse_size

V2_PLUGIN_DIR = Path(__file__).parent / "v2-plugins"


def test_plugin_stuck_in_a_c_call_is_killed_at_its_deadline(build) -> None:
    """A worker blocked in native code is killed; the scan finishes and the next call works."""
    stoq = build(
        always_dispatch=["stuck_worker", "simple_worker"],
        plugin_opts={"stuck_worker": {"isolation": "process", "timeout": 1, "seconds": 600}},
    )
    started = time.monotonic()
    response = stoq.scan(b"abc")
    assert time.monotonic() - started < 20
    [error] = response.errors
    assert (error.plugin_name, error.stage) == ("stuck_worker", "timeout")
    assert "killed after 1s" in error.error
    assert response.results[0].workers[0] == {"simple_worker": {"size": 3}}
    again = stoq.scan(b"def")
    assert [e.stage for e in again.errors] == ["timeout"]


def test_plugin_allocating_without_bound_is_stopped_and_replaced(build) -> None:
    """Past memory_limit the call is a 'limit' error; a fresh process serves the next call."""
    stoq = build(
        always_dispatch=["hog_worker"],
        plugin_opts={"hog_worker": {"isolation": "process", "memory_limit": "600M", "timeout": 60}},
    )
    response = stoq.scan(b"hog: allocate forever")
    [error] = response.errors
    assert (error.plugin_name, error.stage) == ("hog_worker", "limit")
    assert "memory_limit 629145600 bytes exceeded" in error.error
    fine = stoq.scan(b"calm payload")
    assert fine.errors == []
    assert fine.results[0].workers[0]["hog_worker"]["pid"] > 0


def test_isolated_worker_results_and_exceptions_cross_the_process_boundary(build) -> None:
    """Results come back intact; an exception in the child is a one-line Error."""
    stoq = build(
        always_dispatch=["simple_worker", "raise_worker", "folder_worker"],
        plugin_dir_list=[str(V2_PLUGIN_DIR)],
        plugin_opts={
            name: {"isolation": "process"}
            for name in ("simple_worker", "raise_worker", "folder_worker")
        },
    )
    response = stoq.scan(b"abcd")
    assert response.results[0].workers[0] == {
        "simple_worker": {"size": 4},
        "folder_worker": {"greeting": "hello from the .stoq file", "version": "2.0.0"},
    }
    [error] = response.errors
    assert error.error == "RuntimeError: raise_worker always fails second line"
    assert error.stage == "scan"


def test_isolated_process_that_dies_is_reported_and_replaced(build) -> None:
    """A child killed mid-call is an Error; the next call gets a new child."""
    stoq = build(
        always_dispatch=["crash_worker"], plugin_opts={"crash_worker": {"isolation": "process"}}
    )
    [error] = stoq.scan(b"crash please").errors
    assert "isolated process died (exit code -9)" in error.error
    assert stoq.scan(b"fine").errors == []


def test_isolated_process_that_died_between_calls_is_reported_and_replaced(build) -> None:
    """The child dies after the check that it lives and before the call reaches it: an Error
    naming its exit code, not a BrokenPipeError; the next call gets a new child."""
    import os
    import signal

    stoq = build(
        always_dispatch=["simple_worker"], plugin_opts={"simple_worker": {"isolation": "process"}}
    )
    assert stoq.scan(b"first").errors == []
    proxy = stoq.plugins.loaded["simple_worker"]
    child = proxy._process
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    child.is_alive = lambda: True  # the check ran before it died
    [error] = stoq.scan(b"second").errors
    assert "isolated process died (exit code -9) while calling scan" in error.error
    after = stoq.scan(b"third")
    assert after.errors == [] and after.results[0].workers[0]["simple_worker"] == {"size": 5}


def test_unknown_isolation_value_is_a_load_error(build) -> None:
    """A typo in isolation is refused with the accepted values."""
    stoq = build(
        always_dispatch=["simple_worker"], plugin_opts={"simple_worker": {"isolation": "proces"}}
    )
    [error] = stoq.scan(b"x").errors
    assert error.stage == "load" and "expected 'none' or 'process'" in error.error


@pytest.mark.parametrize(
    ("text", "size"), [(1024, 1024), ("512M", 512 * 1024**2), ("2GiB", 2 * 1024**3), ("", None)]
)
def test_parse_size(text, size) -> None:
    """memory_limit accepts bytes or K/M/G suffixes."""
    assert parse_size(text) == size
