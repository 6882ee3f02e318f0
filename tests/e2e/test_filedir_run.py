"""End to end: ``stoq run`` with filedir as provider, archiver and connector.

The command runs in a child process with an empty ``STOQ_HOME``, so only the default profile and
the flags decide what happens; the default profile's plugins that are installed take part
(hash, entropy, mimetype as workers; yara; results as deep dispatcher, with decompress when a
zip is recognised). A second run over the same folder must give the same responses apart from
ids and times, and leave the payload store as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict

import pytest

from stoq.sources import discover

ZIP_MEMBERS = {"readme.txt": b"hello from inside the zip\n", "data/numbers.csv": b"1,2,3\n" * 40}
NOTES = b"plain notes beside the archive\n"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A folder with a zip made by zipfile and a text file."""
    folder = tmp_path / "source"
    folder.mkdir()
    with zipfile.ZipFile(folder / "pack.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in ZIP_MEMBERS.items():
            archive.writestr(name, content)
    (folder / "notes.txt").write_bytes(NOTES)
    return folder


def stoq_run(tmp_path: Path, source: Path, results: Path, consumers: int) -> None:
    """``stoq run -P filedir -A filedir -C filedir`` on ``source``; fails the test on exit != 0."""
    home = tmp_path / "stoq-home"
    home.mkdir(exist_ok=True)
    command = [
        sys.executable, "-m", "stoq", "run",
        "-P", "filedir", "-A", "filedir", "-C", "filedir",
        "--plugin-opts", f"filedir:source_dir={source}",
        "--plugin-opts", f"filedir:archive_dir={tmp_path / 'archive'}",
        "--plugin-opts", f"filedir:results_dir={results}",
        "--consumers", str(consumers),
    ]  # fmt: skip
    env = {**os.environ, "STOQ_HOME": str(home)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"stoq run exited {done.returncode}:\n{done.stderr}"


def responses_by_file(results: Path) -> Dict[str, Dict[str, Any]]:
    """Every saved response, keyed by the source file name of its root payload."""
    responses = [json.loads(path.read_text("utf-8")) for path in results.glob("*.json")]
    return {r["results"][0]["payload_meta"]["extra_data"]["filename"]: r for r in responses}


def normalised(response: Dict[str, Any]) -> Dict[str, Any]:
    """The response with scan id, time, payload ids and seconds replaced by stable placeholders."""
    ids: Dict[str, str] = {}
    for result in response["results"]:
        ids[result["payload_id"]] = f"payload-{len(ids)}"
    text = json.dumps(response, sort_keys=True)
    for real, placeholder in ids.items():
        text = text.replace(real, placeholder)
    stable = json.loads(text)
    stable["scan_id"], stable["time"] = "scan-id", "time"
    stable["timings"] = sorted(stable["timings"])  # seconds differ run to run
    for result in stable["results"]:
        result["timings"] = {stage: sorted(s) for stage, s in result["timings"].items()}
    return stable


def stored_files(archive: Path) -> Dict[str, bytes]:
    return {p.name: p.read_bytes() for p in archive.rglob("*") if p.is_file()}


def test_stoq_run_archives_payloads_and_saves_results(tmp_path: Path, source: Path) -> None:
    """Each file gives one result file; every scanned payload sits in the store by SHA-256."""
    stoq_run(tmp_path, source, tmp_path / "results", consumers=1)
    responses = responses_by_file(tmp_path / "results")
    assert sorted(responses) == ["notes.txt", "pack.zip"]
    assert len(list((tmp_path / "results").iterdir())) == 2

    archive = tmp_path / "archive"
    stored = stored_files(archive)
    for name, response in responses.items():
        root = response["results"][0]
        assert root["sha256"] == hashlib.sha256((source / name).read_bytes()).hexdigest()
        assert root["archivers"]["filedir"]["sha256"] == root["sha256"]
        for result in response["results"]:
            sha256 = result["sha256"]
            assert sha256 in stored
            assert hashlib.sha256(stored[sha256]).hexdigest() == sha256
            path = archive / sha256[:2] / sha256[2:4] / sha256
            assert result["archivers"]["filedir"]["path"] == str(path)

    installed = set(discover())
    workers = responses["pack.zip"]["results"][0]["workers"][0]
    assert {"hash", "entropy", "mimetype"} & installed <= set(workers)
    if "hash" in installed:
        zip_bytes = (source / "pack.zip").read_bytes()
        assert workers["hash"]["sha512"] == hashlib.sha512(zip_bytes).hexdigest()
    if "mimetype" in installed:
        assert workers["mimetype"]["mimetype"] == "application/zip"
    # yara's shipped dispatch rules, or results' rules on mimetype, send a zip to decompress.
    routed = "yara" in installed or {"mimetype", "results"} <= installed
    if "decompress" in installed and routed:
        members = {r["sha256"] for r in responses["pack.zip"]["results"][1:]}
        assert members == {hashlib.sha256(c).hexdigest() for c in ZIP_MEMBERS.values()}
        assert members <= set(stored)
    assert all(r["errors"] == [] for r in responses.values())


def test_a_second_run_gives_the_same_responses_and_store(tmp_path: Path, source: Path) -> None:
    """Run again (with two consumer processes): same results apart from ids and times."""
    stoq_run(tmp_path, source, tmp_path / "results-1", consumers=1)
    archive = tmp_path / "archive"
    first_store = stored_files(archive)
    inodes = {p: p.stat().st_ino for p in archive.rglob("*") if p.is_file()}

    stoq_run(tmp_path, source, tmp_path / "results-2", consumers=2)
    first = responses_by_file(tmp_path / "results-1")
    second = responses_by_file(tmp_path / "results-2")
    assert sorted(second) == sorted(first)
    for name in first:
        assert normalised(second[name]) == normalised(first[name])
        assert second[name]["scan_id"] != first[name]["scan_id"]
    assert stored_files(archive) == first_store
    assert {p: p.stat().st_ino for p in archive.rglob("*") if p.is_file()} == inodes
    assert not list(archive.rglob(".*.tmp"))
