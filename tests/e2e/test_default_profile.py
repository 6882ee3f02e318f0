"""End to end with the default profile: hash, entropy, mimetype, yara and results as installed,
and decompress opening a zip that holds a tar.gz that holds a 7z with a real PE and a text file.

The same nested archive goes through ``stoq.Stoq(profile="default")`` and through the ``stoq
scan`` executable; both responses must hold every payload with the right parent links and
depths, the hashes, the MIME types, the yara format matches, and dispatch meta that explains
every run of decompress.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Dict, List

import py7zr
import pytest

from stoq.sources import discover
from stoq.testing import make_stoq

NOTES = b"Analyst notes: the executable beside this file came from a pip wheel.\n"
PLUGINS = ("hash", "entropy", "mimetype", "yara", "results", "decompress", "pe")

#: name in the response → (depth, parent name, yara dispatch rule, MIME types by backend)
EXPECTED = {
    "outer.zip": (0, None, "zip_archive", {"application/zip"}),
    "bundle.tar.gz": (1, "outer.zip", "gzip_compressed", {"application/gzip", "application/x-gzip"}),
    "inner.7z": (2, "bundle.tar.gz", "sevenzip_archive", {"application/x-7z-compressed"}),
    "launcher.exe": (
        3, "inner.7z", "pe_executable",
        {"application/vnd.microsoft.portable-executable", "application/x-dosexec"},
    ),
    "notes.txt": (3, "inner.7z", None, {"text/plain"}),
}  # fmt: skip
ARCHIVES = ("outer.zip", "bundle.tar.gz", "inner.7z")


@pytest.fixture(scope="module")
def chain(windows_pe: bytes) -> Dict[str, bytes]:
    """Each layer's bytes, by the name the response will carry for it."""
    seven = io.BytesIO()
    with py7zr.SevenZipFile(seven, "w") as archive:
        archive.writestr(windows_pe, "launcher.exe")
        archive.writestr(NOTES, "notes.txt")
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w:gz") as archive:
        info = tarfile.TarInfo("inner.7z")
        info.size = len(seven.getvalue())
        archive.addfile(info, io.BytesIO(seven.getvalue()))
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bundle.tar.gz", tar.getvalue())
    return {
        "outer.zip": outer.getvalue(),
        "bundle.tar.gz": tar.getvalue(),
        "inner.7z": seven.getvalue(),
        "launcher.exe": windows_pe,
        "notes.txt": NOTES,
    }


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    missing = [name for name in PLUGINS if name not in discover()]
    if missing:
        pytest.fail(
            f"the default-profile plugins {missing} are not installed (nox -s cross installs them)"
        )


def by_name(response: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Archive members keyed by file name (the root is outer.zip); each name appears once.

    Payloads other workers extract (the launcher's resources, taken out by ``pe``) are left out.
    """
    named = {}
    for result in response["results"]:
        is_root = result["extracted_from"] is None
        if not is_root and result["extracted_by"] != "decompress":
            continue
        name = "outer.zip" if is_root else result["payload_meta"]["extra_data"]["filename"]
        assert name not in named, f"{name} scanned twice"
        named[name] = result
    return named


def workers(result: Dict[str, Any]) -> Dict[str, Any]:
    """Every worker's results across the rounds (initial dispatch and deep passes)."""
    merged: Dict[str, Any] = {}
    for round_results in result["workers"]:
        merged.update(round_results)
    return merged


def why_decompress(result: Dict[str, Any]) -> List[str]:
    """The rules (yara dispatch or results deep dispatch) that asked for decompress."""
    # Rule entries are tables; "not_installed" (workers routed to but absent) is a list.
    reasons = [
        f"yara:{rule}"
        for rule, meta in result["dispatch_meta"].get("yara", {}).items()
        if isinstance(meta, dict)
        and "decompress" in [n.strip() for n in str(meta.get("plugin", "")).split(",")]
    ]
    reasons += [
        f"results:{rule}"
        for rule, meta in result["deep_dispatch_meta"].get("results", {}).items()
        if isinstance(meta, dict) and "decompress" in meta["dispatch"]
    ]
    return reasons


def check_response(response: Dict[str, Any], chain: Dict[str, bytes]) -> None:
    assert response["errors"] == []
    named = by_name(response)
    assert sorted(named) == sorted(EXPECTED)
    depth_of: Dict[str, int] = {}
    for name, result in named.items():
        depth, parent, yara_rule, mimetypes = EXPECTED[name]
        content = chain[name]
        parent_id = named[parent]["payload_id"] if parent else None
        assert result["extracted_from"] == parent_id, name
        assert result["extracted_by"] == ("decompress" if parent else None), name
        depth_of[result["payload_id"]] = 0 if parent_id is None else depth_of[parent_id] + 1
        assert depth_of[result["payload_id"]] == depth, name
        found = workers(result)
        sha256 = hashlib.sha256(content).hexdigest()
        assert result["sha256"] == sha256
        assert found["hash"]["sha256"] == sha256
        assert found["hash"]["md5"] == hashlib.md5(content).hexdigest()
        assert 0.0 <= found["entropy"]["entropy"] <= 8.0
        if found["mimetype"]["backend"] == "libmagic" or name != "launcher.exe":
            assert found["mimetype"]["mimetype"] in mimetypes, name
        yara_meta = result["dispatch_meta"].get("yara", {})
        if yara_rule:
            assert yara_rule in yara_meta, f"{name}: yara matched {sorted(yara_meta)}"
        ran_decompress = any("decompress" in r for r in result["plugins_run"]["workers"])
        assert ran_decompress == (name in ARCHIVES), name
        if ran_decompress:
            assert why_decompress(result), f"{name}: decompress ran with no rule asking for it"
            assert found["decompress"]["limits_hit"] == []
    assert named["launcher.exe"]["dispatch_meta"]["yara"]["pe_executable"]["type"] == "pe"
    launcher = workers(named["launcher.exe"])["pe"]
    assert launcher["machine"] in ("AMD64", "I386", "ARM64")
    extracted_by_pe = [r for r in response["results"] if r["extracted_by"] == "pe"]
    assert {r["extracted_from"] for r in extracted_by_pe} <= {named["launcher.exe"]["payload_id"]}
    listed = len(launcher["resources"]) + (1 if launcher["overlay"] else 0)
    assert len(extracted_by_pe) == listed - len(launcher.get("not_extracted", []))
    assert named["notes.txt"]["payload_meta"]["extra_data"]["archive_path"] == "notes.txt"
    assert named["inner.7z"]["payload_meta"]["extra_data"]["format"] == "tar.gz"


def test_default_profile_through_the_api(chain: Dict[str, bytes]) -> None:
    """stoq.Stoq(profile="default") scans the whole chain and explains each extraction."""
    stoq = make_stoq(profile="default")
    try:
        response = stoq.scan(chain["outer.zip"])
    finally:
        stoq.close()
    check_response(json.loads(str(response)), chain)
    results = by_name(json.loads(str(response)))
    assert results["outer.zip"]["dispatch_meta"]["yara"]["zip_archive"] == {
        "type": "zip",
        "plugin": "decompress",
    }
    mimetype_rule = results["inner.7z"]["deep_dispatch_meta"]["results"]["archive-mimetype"]
    assert mimetype_rule["matched"] == "application/x-7z-compressed"


def test_default_profile_through_stoq_scan(chain: Dict[str, bytes], tmp_path: Path) -> None:
    """The stoq scan executable, with no configuration, prints the same story as JSON."""
    sample = tmp_path / "outer.zip"
    sample.write_bytes(chain["outer.zip"])
    script = Path(sys.executable).with_name("stoq")
    assert script.is_file(), f"no stoq console script beside {sys.executable}"
    home = tmp_path / "empty-stoq-home"
    done = subprocess.run(
        [str(script), "scan", "--jsonl", str(sample)],
        env={**os.environ, "STOQ_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    # Nothing else on stderr: with gc.freeze() at exit LIEF's nanobind printed leak reports.
    assert done.stderr == ""
    [line] = done.stdout.splitlines()
    response = json.loads(line)
    # stoq scan records the file it read as the root payload's filename.
    assert response["results"][0]["payload_meta"]["extra_data"]["filename"] == str(sample)
    check_response(response, chain)


def test_yara_as_a_worker_too(chain: Dict[str, bytes]) -> None:
    """Adding yara to the always-dispatched workers gives every payload a yara result holding
    the indicator rules' matches; the format rules are reported once, as dispatch meta."""
    stoq = make_stoq(profile="default", always_dispatch=["hash", "entropy", "mimetype", "yara"])
    try:
        response = json.loads(str(stoq.scan(chain["outer.zip"])))
    finally:
        stoq.close()
    named = by_name(response)
    rules = {name: {m["rule"] for m in workers(r)["yara"]["matches"]} for name, r in named.items()}
    assert rules == {name: set() for name in EXPECTED}
    for name, (_depth, _parent, format_rule, _mimes) in EXPECTED.items():
        if format_rule is not None:
            assert format_rule in named[name]["dispatch_meta"]["yara"], name
