"""SPEC §5.5: run mode on several consumer processes, and a consumer that dies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List


def _saved(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_consumer_processes_scan_every_item(build, tmp_path: Path) -> None:
    """With consumers=2 every item is scanned once, by more than one process."""
    out = tmp_path / "out.jsonl"
    items = [f"item {i}" for i in range(40)]
    stoq = build(
        providers=["multi_role"],
        connectors=["file_connector"],
        always_dispatch=["crash_worker"],
        consumers=2,
        plugin_opts={"multi_role": {"items": items}, "file_connector": {"path": str(out)}},
    )
    stoq.run()
    saved = _saved(out)
    assert len(saved) == 40
    assert sorted(r["results"][0]["size"] for r in saved) == sorted(len(i) for i in items)
    pids = {r["results"][0]["workers"][0]["crash_worker"]["pid"] for r in saved}
    assert len(pids) == 2
    assert stoq.consumer_deaths == 0 and stoq.responses_with_errors == 0


def test_killed_consumer_is_replaced_and_its_request_reported(build, tmp_path: Path) -> None:
    """A consumer killed mid-request is replaced; the request is reported; the rest goes on."""
    out = tmp_path / "out.jsonl"
    items = ["before 1", "before 2", "crash now", "after 1", "after 2", "after 3"]
    stoq = build(
        providers=["multi_role"],
        connectors=["file_connector"],
        always_dispatch=["crash_worker"],
        consumers=2,
        plugin_opts={"multi_role": {"items": items}, "file_connector": {"path": str(out)}},
    )
    stoq.run()
    saved = _saved(out)
    scanned = sorted(r["results"][0]["size"] for r in saved if r["results"])
    assert scanned == sorted(len(i) for i in items if not i.startswith("crash"))
    [lost] = [r for r in saved if not r["results"]]
    [error] = lost["errors"]
    assert error["stage"] == "scan"
    assert "died (exit code -9) while scanning this item" in error["error"]
    assert "'size': 9" not in error["error"] and "size=9" in error["error"]
    assert stoq.consumer_deaths == 1
    assert stoq.responses_with_errors == 1
