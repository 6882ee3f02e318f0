"""``stoq list``: every installed plugin, its roles, and whether it loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stoq.inventory import roles_from_source

FIELDS = {"name", "roles", "version", "distribution", "summary", "source", "status", "error"}


def _by_name(result) -> dict:
    return {p["name"]: p for p in json.loads(result.stdout)}


def test_json_lists_entry_point_plugins_with_every_field(run_stoq):
    result = run_stoq("list", "--json")
    assert result.returncode == 0, result.stderr
    plugins = _by_name(result)
    assert set(plugins["simple_worker"]) >= FIELDS
    simple = plugins["simple_worker"]
    assert simple["roles"] == ["worker"]
    assert simple["distribution"] == "stoq-test-plugins" and simple["version"] == "0.1.0"
    assert simple["status"] == "ok" and simple["error"] is None
    assert simple["summary"] == "Reports the payload's size."
    assert "stoq_test_plugins.workers:SimpleWorker" in simple["source"]
    assert plugins["multi_role"]["roles"] == [
        "provider",
        "worker",
        "archiver",
        "connector",
        "decorator",
    ]
    assert plugins["test_deep_dispatcher"]["roles"] == ["deep_dispatcher"]


def test_a_plugin_that_fails_to_import_is_listed_with_the_reason(run_stoq):
    result = run_stoq("list", "--json")
    broken = _by_name(result)["broken_import"]
    assert broken["status"] == "error"
    assert broken["error"].startswith("ModuleNotFoundError")
    assert "stoq_dependency_that_does_not_exist" in broken["error"]


def test_table_shows_columns_and_failures(run_stoq):
    result = run_stoq("list")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ROLES", "VERSION", "DISTRIBUTION", "STATUS", "SUMMARY"]
    row = next(line for line in lines if line.startswith("raise_worker "))
    assert row.split()[1:5] == ["worker", "0.1.0", "stoq-test-plugins", "ok"]
    assert any(line.strip().startswith("broken_import: ModuleNotFoundError") for line in lines)


def _broken_folder_plugin(folder: Path) -> Path:
    """A v2 plugin folder whose module needs a package that is not installed."""
    plugin = folder / "needs_missing"
    plugin.mkdir(parents=True)
    (plugin / "needs_missing.stoq").write_text(
        "[Core]\nName = needs_missing\nModule = needs_missing\n\n"
        "[Documentation]\nVersion = 1.2.3\nDescription = Reads a format nobody installed\n"
    )
    (plugin / "needs_missing.py").write_text(
        "import not_installed_anywhere\n"
        "from stoq.plugins import DispatcherPlugin, WorkerPlugin as Worker\n\n"
        "class Helper:\n    pass\n\n"
        "class NeedsMissing(Worker, DispatcherPlugin):\n"
        '    """Would scan and dispatch."""\n'
    )
    return folder


def test_roles_of_a_plugin_folder_are_read_without_importing(run_stoq, tmp_path: Path):
    folder = _broken_folder_plugin(tmp_path / "plugins")
    result = run_stoq("list", "--json", "--plugin-dir", folder)
    plugin = _by_name(result)["needs_missing"]
    assert plugin["roles"] == ["worker", "dispatcher"]
    assert plugin["version"] == "1.2.3" and plugin["distribution"] is None
    assert plugin["status"] == "error" and "not_installed_anywhere" in plugin["error"]


def test_no_import_lists_without_checking(run_stoq, tmp_path: Path):
    folder = _broken_folder_plugin(tmp_path / "plugins")
    plugins = _by_name(run_stoq("list", "--json", "--no-import", "--plugin-dir", folder))
    assert plugins["needs_missing"]["status"] == "unchecked"
    assert plugins["needs_missing"]["roles"] == ["worker", "dispatcher"]
    assert plugins["simple_worker"]["status"] == "unchecked"


def test_plugin_dir_from_the_config_file_is_listed(run_stoq, stoq_home: Path):
    folder = Path(__file__).resolve().parents[2] / "core" / "tests" / "v2-plugins"
    stoq_home.mkdir()
    (stoq_home / "stoq.toml").write_text(f"[core]\nplugin_dir_list = [{json.dumps(str(folder))}]\n")
    plugin = _by_name(run_stoq("list", "--json"))["folder_worker"]
    assert plugin["status"] == "ok" and plugin["roles"] == ["worker"]
    assert plugin["summary"] == "A v2-style worker loaded from a plugin folder"


def test_roles_follow_base_classes_across_modules_and_relative_imports(tmp_path: Path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "bases.py").write_text(
        "import stoq.plugins\nclass Base(stoq.plugins.ArchiverPlugin):\n    pass\n"
    )
    (package / "plugin.py").write_text(
        "from .bases import Base\nfrom stoq import plugins\n"
        "class Mine(Base, plugins.ConnectorPlugin):\n    pass\n"
        "class Odd(dict):\n    pass\n"
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        assert roles_from_source(package / "plugin.py", "Mine", "pkg.plugin") == [
            "archiver",
            "connector",
        ]
        assert roles_from_source(package / "plugin.py", "Odd", "pkg.plugin") is None
    finally:
        sys.path.remove(str(tmp_path))


@pytest.mark.parametrize(
    ("module", "source", "roles"),
    [
        ("pkg.plugin", "from stoq.plugins import BasePlugin\nclass P(BasePlugin): pass", []),
        (
            "pkg.plugin",
            "import stoq.plugins\nclass P(object, stoq.plugins.WorkerPlugin): pass",
            ["worker"],
        ),
        ("pkg.plugin", "from stoq.plugins import Delivery\nclass P(Delivery): pass", None),
        (
            "pkg.plugin",
            "from stoq.plugins import WorkerPlugin\nclass P(mix(WorkerPlugin)): pass",
            None,
        ),
        ("pkg.plugin", "class P(NeverImported): pass", None),
        ("pkg.plugin", "from ...beyond import Base\nclass P(Base): pass", None),
        (None, "from .bases import Base\nclass P(Base): pass", None),
        ("pkg.plugin", "from sys import Base\nclass P(Base): pass", None),
        ("pkg.plugin", "from json.decoder.inner import Base\nclass P(Base): pass", None),
        ("pkg.plugin", "from not_installed_anywhere import Base\nclass P(Base): pass", None),
        ("pkg.plugin", "class P(Q): pass\nclass Q(P): pass", None),
        ("pkg.plugin", "class P(WorkerPlugin:\n", None),
    ],
    ids=[
        "no role yet",
        "object and a dotted base",
        "not a plugin class",
        "computed base",
        "unbound name",
        "relative import above the top",
        "relative import without a package",
        "built-in module",
        "module under a module",
        "module not installed",
        "cycle",
        "syntax error",
    ],
)
def test_what_the_source_cannot_tell_is_unknown_never_a_wrong_role(
    tmp_path: Path, module, source: str, roles
):
    """Roles come from the source only when it says them; otherwise None (stoq list then
    imports the class), whatever the file holds."""
    (tmp_path / "plugin.py").write_text(source)
    assert roles_from_source(tmp_path / "plugin.py", "P", module) == roles
