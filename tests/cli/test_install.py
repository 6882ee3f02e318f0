"""``stoq install``: a real wheel built here is installed, listed, used, and uninstalled."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Dict, Iterator

import pytest
from cli_helpers import json_lines

PLUGIN_MODULE = '''\
from stoq.data_classes import WorkerResponse
from stoq.plugins import WorkerPlugin


class CountPlugin(WorkerPlugin):
    """Counts the lines of a payload."""

    def scan(self, payload, request_meta):
        return WorkerResponse({"lines": payload.content.count(b"\\n")})
'''


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(folder: Path, dist: str, entry_point: str = "") -> Path:
    """A pure-Python wheel (PEP 427) for ``dist`` 0.3.0; ``entry_point`` is a stoq.plugins line."""
    package = dist.replace("-", "_")
    info = f"{package}-0.3.0.dist-info"
    files: Dict[str, bytes] = {
        f"{package}/__init__.py": b"",
        f"{package}/plugin.py": PLUGIN_MODULE.encode(),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3.0\n"
            "Summary: Counts lines (a throwaway plugin built by the CLI tests)\n"
            "Requires-Dist: stoq-framework>=4.0.0\n"
        ).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: stoq-cli-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if entry_point:
        files[f"{info}/entry_points.txt"] = f"[stoq.plugins]\n{entry_point}\n".encode()
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{package}-0.3.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


@pytest.fixture(scope="session")
def installer() -> None:
    """``stoq install`` needs pip or uv in the test environment (nox's cross session adds pip)."""
    if importlib.util.find_spec("pip") is None and shutil.which("uv") is None:
        pytest.fail("stoq install needs pip or uv: install pip into the test environment")


def _uninstall(dist: str) -> None:
    if importlib.util.find_spec("pip") is not None:
        command = [sys.executable, "-m", "pip", "uninstall", "-y", dist]
    else:
        command = ["uv", "pip", "uninstall", "--python", sys.executable, dist]
    subprocess.run(command, capture_output=True, check=False)


@pytest.fixture
def throwaway(installer, tmp_path: Path) -> Iterator[Dict[str, str]]:
    """Names for a distribution that exists only for this test; uninstalled afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = {"dist": f"stoq-plugin-clitest-{suffix}", "plugin": f"clitest_{suffix}"}
    yield names
    _uninstall(names["dist"])


def test_install_a_plugin_wheel_then_list_and_use_it(run_stoq, throwaway, tmp_path: Path):
    dist, plugin = throwaway["dist"], throwaway["plugin"]
    module = dist.replace("-", "_")
    wheel = build_wheel(tmp_path, dist, f"{plugin} = {module}.plugin:CountPlugin")
    assert plugin not in {p["name"] for p in json.loads(run_stoq("list", "--json").stdout)}

    result = run_stoq("install", wheel)
    assert result.returncode == 0, result.stderr
    assert f"{dist} 0.3.0 provides stoq plugin(s): {plugin}" in result.stdout

    listed = {p["name"]: p for p in json.loads(run_stoq("list", "--json").stdout)}[plugin]
    assert listed["roles"] == ["worker"] and listed["status"] == "ok"
    assert listed["distribution"] == dist and listed["version"] == "0.3.0"
    assert listed["summary"] == "Counts lines (a throwaway plugin built by the CLI tests)"

    sample = tmp_path / "three.txt"
    sample.write_text("a\nb\nc\n")
    scanned = run_stoq("scan", "--profile", "none", "-a", plugin, sample)
    assert json_lines(scanned.stdout)[0]["results"][0]["workers"][0][plugin] == {"lines": 3}


def test_install_of_a_distribution_without_entry_point_says_so(run_stoq, throwaway, tmp_path: Path):
    wheel = build_wheel(tmp_path, throwaway["dist"])
    result = run_stoq("install", wheel)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("stoq: error:")
    assert (
        f"{throwaway['dist']} 0.3.0 is installed but registers no 'stoq.plugins' entry point"
        in last
    )


def test_install_failure_is_reported(run_stoq, installer, tmp_path: Path):
    broken = tmp_path / "not_a_wheel-1.0-py3-none-any.whl"
    broken.write_bytes(b"this is not a zip file")
    result = run_stoq("install", broken)
    assert result.returncode == 1
    assert "installing" in result.stderr and "failed" in result.stderr
