"""A folder of v2 plugins beside the installed contrib plugins, from the command line (§4, §6)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from cli_helpers import json_lines

V2_PLUGINS = Path(__file__).resolve().parents[2] / "core" / "tests" / "v2-plugins"


def _v2_hash_folder(tmp_path: Path) -> Path:
    """A v2-style folder plugin named ``hash``, like stoq-plugins-public's, with a marker."""
    folder = tmp_path / "v2" / "hash"
    shutil.copytree(V2_PLUGINS / "v2_hasher", folder)
    (folder / "v2_hasher.stoq").rename(folder / "hash.stoq")
    stoq_file = folder / "hash.stoq"
    stoq_file.write_text(stoq_file.read_text().replace("Name = v2_hasher", "Name = hash"))
    return tmp_path / "v2"


def test_a_v2_folder_plugin_named_like_a_contrib_plugin_wins_in_the_default_profile(
    run_stoq, tmp_path: Path
):
    """--plugin-dir with a v2 'hash' keeps the default profile working; the folder's is used."""
    sample = tmp_path / "sample.txt"
    sample.write_bytes(b"plain text for the default profile")
    result = run_stoq("scan", "--plugin-dir", _v2_hash_folder(tmp_path), sample)
    assert result.returncode == 0, result.stderr
    [response] = json_lines(result.stdout)
    workers = response["results"][0]["workers"][0]
    assert workers["hash"]["md5"] == hashlib.md5(sample.read_bytes()).hexdigest()
    assert "sha512" in workers["hash"] and "entropy" in workers and "mimetype" in workers
    assert response["errors"] == []
    assert "it shadows entry point" in result.stderr and "stoq-plugin-hash" in result.stderr
    assert "hash.stoq" in result.stderr


def test_list_shows_the_folder_plugin_used_and_the_installed_one_shadowed(run_stoq, tmp_path: Path):
    """stoq list marks the installed plugin the folder shadows."""
    result = run_stoq("list", "--json", "--plugin-dir", _v2_hash_folder(tmp_path))
    assert result.returncode == 0, result.stderr
    rows = [p for p in json.loads(result.stdout) if p["name"] == "hash"]
    by_status = {p["status"]: p for p in rows}
    assert set(by_status) == {"ok", "shadowed"}
    assert by_status["ok"]["distribution"] is None
    assert by_status["shadowed"]["distribution"] == "stoq-plugin-hash"
    assert "hash.stoq" in by_status["shadowed"]["error"]


def test_run_mode_with_v2_folder_plugins_of_every_role(run_stoq, tmp_path: Path):
    """stoq run with the v2 provider, dispatcher, deep dispatcher, archiver and decorator."""
    source, archive = tmp_path / "in", tmp_path / "archive"
    source.mkdir()
    archive.mkdir()
    (source / "a").write_bytes(b"one|two")
    (source / "b").write_bytes(b"three")
    result = run_stoq(
        "run", "--profile", "none", "--plugin-dir", V2_PLUGINS,
        "-P", "v2_provider", "-R", "v2_dispatcher", "-E", "v2_deep_dispatcher",
        "-A", "v2_filestore", "-D", "v2_decorator",
        "--plugin-opts", f"v2_provider:source_dir={source}",
        "--plugin-opts", f"v2_filestore:archive_dir={archive}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    responses = sorted(json_lines(result.stdout), key=lambda r: len(r["results"]))
    assert [r["decorators"]["v2_decorator"]["payloads"] for r in responses] == [1, 3]
    assert responses[1]["results"][0]["plugins_run"]["workers"] == [
        ["v2_hasher"],
        ["folder_worker"],
    ]
    assert len(list(archive.iterdir())) == 4


def test_install_of_a_v2_plugin_folder_says_how_to_use_it(run_stoq, tmp_path: Path):
    """v2's `stoq install path/to/plugin`: refused before pip runs, pointing at --plugin-dir."""
    folder = tmp_path / "v2_hasher"
    shutil.copytree(V2_PLUGINS / "v2_hasher", folder)
    (folder / "setup.py").write_text("from setuptools import setup\nsetup(name='v2_hasher')\n")
    result = run_stoq("install", folder)
    assert result.returncode == 2
    assert "is a stoQ v2 plugin folder" in result.stderr
    assert f"--plugin-dir {folder}" in result.stderr
    assert "running" not in result.stderr  # the installer never ran
