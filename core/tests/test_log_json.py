"""SPEC §14: `--log-format json` writes one JSON object per log event, with scan id and plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


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
