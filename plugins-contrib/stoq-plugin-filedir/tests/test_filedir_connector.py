"""filedir as a connector: one JSON file per response, optionally in date folders."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, List

import pytest

from stoq import RequestMeta, StoqPluginLoadError, StoqResponse
from stoq.testing import make_stoq


def saved_files(folder: Path) -> List[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def scan_and_save(results: Path, content: bytes = b"data", **options: Any) -> StoqResponse:
    """Scan ``content`` with filedir as the connector writing to ``results``."""
    opts = {"results_dir": str(results), **options}
    with make_stoq(connectors=["filedir"], plugin_opts={"filedir": opts}) as stoq:
        response = stoq.scan(content)
        assert stoq.connector_failures == 0
    return response


def test_each_response_is_one_json_file_named_by_scan_id(tmp_path: Path) -> None:
    """The file holds the response exactly, as one JSON document."""
    response = scan_and_save(tmp_path / "results")
    assert saved_files(tmp_path / "results") == [f"{response.scan_id}.json"]
    saved = json.loads((tmp_path / "results" / f"{response.scan_id}.json").read_text("utf-8"))
    assert saved == json.loads(str(response))


@pytest.mark.parametrize(
    ("mode", "folders"), [("day", "2026/02/04"), ("month", "2026/02"), ("year", "2026")]
)
def test_date_mode_files_results_by_the_response_time(
    tmp_path: Path, mode: str, folders: str
) -> None:
    """Date folders come from the response's own (UTC) time, not the clock at save time."""
    with make_stoq(
        plugin_opts={"filedir": {"results_dir": str(tmp_path), "date_mode": mode}}
    ) as stoq:
        response = StoqResponse([], RequestMeta(), [], time="2026-02-03T23:30:00-02:00")
        stoq.load_plugin("filedir").save(response)
    # 23:30 on the 3rd at UTC-2 is 01:30 on the 4th in UTC.
    assert saved_files(tmp_path) == [f"{folders}/{response.scan_id}.json"]


def test_saving_twice_overwrites_whole_files_only(tmp_path: Path) -> None:
    """Saving a response again replaces the file; no temporary file is left behind."""
    with make_stoq(plugin_opts={"filedir": {"results_dir": str(tmp_path)}}) as stoq:
        plugin = stoq.load_plugin("filedir")
        response = StoqResponse([], RequestMeta(), [], scan_id="fixed-id")
        plugin.save(response)
        response.decorators["note"] = {"second": True}
        plugin.save(response)
    assert saved_files(tmp_path) == ["fixed-id.json"]
    assert json.loads((tmp_path / "fixed-id.json").read_text())["decorators"] == {
        "note": {"second": True}
    }
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


@pytest.mark.parametrize("scan_id", ["../escape", "a/b", ".hidden", "", "x" * 300])
def test_a_scan_id_that_is_not_a_plain_name_is_refused(tmp_path: Path, scan_id: str) -> None:
    """Scan ids become file names, so one that could leave the folder is an error."""
    with make_stoq(plugin_opts={"filedir": {"results_dir": str(tmp_path / "r")}}) as stoq:
        plugin = stoq.load_plugin("filedir")
        with pytest.raises(ValueError, match="cannot be a file name"):
            plugin.save(StoqResponse([], RequestMeta(), [], scan_id=scan_id))
    assert os.listdir(tmp_path) == []


def test_an_unknown_date_mode_fails_to_load() -> None:
    """date_mode names its choices when misspelt."""
    with (
        make_stoq(plugin_opts={"filedir": {"date_mode": "weekly"}}) as stoq,
        pytest.raises(StoqPluginLoadError, match="one of none, year, month, day"),
    ):
        stoq.load_plugin("filedir")


def test_a_connector_without_results_dir_is_counted_as_failed() -> None:
    """Without results_dir the save fails, and the engine counts and logs it."""
    with make_stoq(connectors=["filedir"]) as stoq:
        stoq.scan(b"data")
        assert stoq.connector_failures == 1
