"""SPEC §14: `--log-format json` writes one JSON object per log event, with scan id and plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def test_scan_logs_one_json_line_per_event_with_scan_id_and_plugin(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    result = subprocess.run(
        [sys.executable, "-m", "stoq", "scan", "--profile", "none", "--log-format", "json"]
        + ["-a", "raise_worker", "-j", "2", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    responses = [json.loads(line) for line in result.stdout.splitlines()]
    events = [json.loads(line) for line in result.stderr.splitlines()]
    failures = [e for e in events if "failed at stage scan" in e["message"]]
    assert len(failures) == 2
    assert {e["scan_id"] for e in failures} == {r["scan_id"] for r in responses}
    assert {e["plugin"] for e in failures} == {"raise_worker"}
    assert all(e["level"] == "ERROR" and e["logger"] == "stoq" for e in failures)
    assert all("RuntimeError: raise_worker always fails" in e["traceback"] for e in failures)


def test_outside_a_request_the_fields_are_null(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stoq", "scan", "--profile", "none", "--log-format", "json"]
        + [str(tmp_path)],
        capture_output=True,
        text=True,
    )
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["message"] for e in events] == [
        f"folder {str(tmp_path)!r} has no files at its top level; use -r to scan its subfolders",
        "nothing to scan",
    ]
    assert all(e["scan_id"] is None and e["plugin"] is None for e in events)


def test_the_log_file_gets_the_json_events_with_tracebacks(tmp_path: Path) -> None:
    """``log_dir``: the file holds the same events as JSON, tracebacks included."""
    (tmp_path / "a").write_bytes(b"a")
    config = tmp_path / "stoq.cfg"
    config.write_text(f"[core]\nlog_dir = {tmp_path / 'logs'}\n")
    result = subprocess.run(
        [sys.executable, "-m", "stoq", "scan", "--profile", "none", "--log-format", "json"]
        + ["--config", str(config), "-a", "raise_worker", str(tmp_path / "a")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr
    lines = (tmp_path / "logs" / "stoq.log").read_text().splitlines()
    [failure] = [json.loads(line) for line in lines if "failed at stage scan" in line]
    assert failure["plugin"] == "raise_worker"
    assert "RuntimeError: raise_worker always fails" in failure["traceback"]


def test_a_log_level_or_format_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "stoq.cfg"
    config.write_text("[core]\nlog_level = LOUD\n")
    result = subprocess.run(
        [sys.executable, "-m", "stoq", "scan", "--profile", "none", "--config", str(config)]
        + [str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "log level 'LOUD': expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL" in (
        result.stderr
    )
    from stoq.log import configure_logging

    with pytest.raises(ValueError, match="log format 'xml': expected text or json"):
        configure_logging("INFO", None, "xml")
