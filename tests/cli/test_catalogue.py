"""The plugin catalogue: every contrib plugin, from its own metadata; install names resolve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stoq.catalogue import build_catalogue, load_catalogue
from stoq.cli.install import expand_short_name

ROOT = Path(__file__).resolve().parents[2]
CONTRIB = ROOT / "plugins-contrib"


def test_every_plugin_folder_is_in_the_catalogue_with_roles_and_a_summary() -> None:
    folders = {p.parent.name for p in CONTRIB.glob("*/pyproject.toml")}
    entries = {e.distribution: e for e in load_catalogue()}
    assert set(entries) == folders
    for entry in entries.values():
        assert entry.roles, entry
        assert entry.summary and "\n" not in entry.summary, entry
        assert entry.core_requirement.startswith("stoq-framework>="), entry


def test_roles_and_system_needs_come_from_the_plugins_metadata() -> None:
    entries = {e.name: e for e in load_catalogue()}
    assert entries["filedir"].roles == ("provider", "archiver", "connector")
    assert entries["yara"].roles == ("worker", "dispatcher")
    assert any("libmagic" in need for need in entries["mimetype"].system)


def test_a_folder_without_template_answers_is_refused_by_name(tmp_path: Path) -> None:
    plugin = tmp_path / "stoq-plugin-odd"
    plugin.mkdir()
    (plugin / "pyproject.toml").write_text('[project]\nname = "stoq-plugin-odd"\n')
    with pytest.raises(ValueError, match="stoq-plugin-odd: cannot read its metadata"):
        build_catalogue(tmp_path)


def test_the_shipped_file_is_read_when_present(tmp_path: Path) -> None:
    first = build_catalogue(CONTRIB)[:1]
    shipped = tmp_path / "catalogue.json"
    shipped.write_text(json.dumps(first))
    assert [e.to_dict() for e in load_catalogue(shipped)] == first


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("yara", "stoq-plugin-yara"),
        ("yara>=0.1", "stoq-plugin-yara>=0.1"),
        ("stoq-plugin-yara", "stoq-plugin-yara"),
        ("some-other-package", "some-other-package"),
    ],
)
def test_short_names_of_contrib_plugins_become_their_distribution(spec: str, expected: str) -> None:
    assert expand_short_name(spec) == expected


def test_stoq_list_available_marks_what_is_installed(run_stoq) -> None:
    listed = json.loads(run_stoq("list", "--available", "--json").stdout)
    installed = {e["name"]: e["installed"] for e in listed}
    assert installed["hash"]  # the cross-package session installs every contrib plugin
    assert set(installed) == {e.name for e in load_catalogue()}


def test_stoq_list_takes_contrib_roles_from_the_catalogue(tmp_path: Path) -> None:
    """Recorded at build time, not parsed out of the plugin's source (which is the fallback)."""
    from stoq.inventory import inventory

    listed = {p.name: p for p in inventory(check=False)}
    for entry in load_catalogue():
        info = listed[entry.name]
        assert (info.roles, info.roles_from) == (list(entry.roles), "catalogue"), info
    # A plugin made elsewhere (the test distribution) is still read from its source.
    assert listed["crash_worker"].roles_from == "source"
