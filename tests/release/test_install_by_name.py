"""Plugins install by name from the wheelhouse `nox -s build` makes, with no package index.

Third-party dependencies are first gathered into a folder of their own (from the index, as a
site mirroring what it needs would); the install itself then runs with ``--no-index``, so the
core and the plugins can only come from the wheelhouse, resolved by name. pip's configuration
files are ignored, so nothing of this machine's set-up helps.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import venv
import zipfile
from email.message import EmailMessage
from pathlib import Path
from typing import Dict, List

import pytest

WHEELHOUSE = Path(os.environ.get("STOQ_WHEELHOUSE", "dist")).resolve()
#: The plugins installed by distribution name, and what each must report in a scan.
BY_NAME = ["stoq-plugin-yara", "stoq-plugin-email"]


def _env() -> Dict[str, str]:
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PIP_FIND_LINKS", None)
    env.pop("PYTHONPATH", None)
    return env


def _run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, env=_env(), cwd=cwd
    )
    assert done.returncode == 0, (
        f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    if not list(WHEELHOUSE.glob("stoq_framework-*.whl")):
        raise AssertionError(f"no stoq-framework wheel in {WHEELHOUSE}: run `nox -s build` first")
    return WHEELHOUSE


@pytest.fixture(scope="module")
def dependencies(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Third-party wheels the named plugins need, for this Python (fetched from the index)."""
    folder = tmp_path_factory.mktemp("deps")
    wanted = [str(next(wheelhouse.glob(f"{n.replace('-', '_')}-*.whl"))) for n in BY_NAME]
    _run(
        sys.executable, "-m", "pip", "download", "--dest", folder,
        "--find-links", wheelhouse, "--only-binary", ":all:", *wanted,
    )  # fmt: skip
    for own in folder.glob("stoq_*"):
        own.unlink()  # ours must come from the wheelhouse, by name
    return folder


def _fresh_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(path)
    return path / "bin"


def _stoq_list(bin_dir: Path) -> List[Dict[str, object]]:
    return list(json.loads(_run(bin_dir / "stoq", "list", "--json")))


def test_plugins_install_by_name_with_no_index(
    wheelhouse: Path, dependencies: Path, tmp_path: Path
) -> None:
    bin_dir = _fresh_venv(tmp_path / "venv")
    _run(
        bin_dir / "python", "-m", "pip", "install", "--no-index",
        "--find-links", wheelhouse, "--find-links", dependencies, *BY_NAME,
    )  # fmt: skip
    installed = {p["name"]: p for p in _stoq_list(bin_dir)}
    # The core came in as a dependency, and each plugin loads.
    assert _run(bin_dir / "stoq", "--version").strip()
    for name in ("yara", "email"):
        assert installed[name]["status"] == "ok", installed[name]
    # A scan uses them: an email whose attachment yara's shipped rules recognise as a zip.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("invoice.txt", "see attached\n")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "invoice"
    message.set_content("Please find the invoice attached.")
    message.add_attachment(
        archive.getvalue(), maintype="application", subtype="zip", filename="a.zip"
    )
    sample = tmp_path / "mail.eml"
    sample.write_bytes(bytes(message))
    response = json.loads(
        _run(bin_dir / "stoq", "scan", "--jsonl", "-a", "email", "-R", "yara", sample)
    )
    root = response["results"][0]
    assert root["workers"][0]["email"]["subject"] == "invoice"
    by_name = {r["payload_meta"]["extra_data"].get("filename"): r for r in response["results"]}
    attachment = by_name["a.zip"]
    assert attachment["extracted_by"] == "email"
    assert "zip_archive" in attachment["dispatch_meta"]["yara"]


def test_stoq_install_takes_the_short_name_and_index_options(
    wheelhouse: Path, dependencies: Path, tmp_path: Path
) -> None:
    bin_dir = _fresh_venv(tmp_path / "venv")
    core = next(wheelhouse.glob("stoq_framework-*.whl"))
    _run(
        bin_dir / "python", "-m", "pip", "install", "--no-index", "--find-links", dependencies, core
    )
    out = _run(
        bin_dir / "stoq", "install", "yara", "--no-index",
        "--find-links", wheelhouse, "--find-links", dependencies,
    )  # fmt: skip
    assert "stoq-plugin-yara" in out and "provides stoq plugin(s): yara" in out
    assert {p["name"] for p in _stoq_list(bin_dir)} == {"yara"}
    available = json.loads(_run(bin_dir / "stoq", "list", "--available", "--json"))
    marked = {e["name"]: e["installed"] for e in available}
    assert marked["yara"] and not marked["hash"]
