"""drift.py reports boilerplate that moved away from the template, and nothing intended."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List

import pytest

pytest.importorskip("cookiecutter", reason="the authoring extra (cookiecutter) is not installed")

from common import render_source
from drift import check_package, main

ANSWERS = {
    "plugin_name": "sniff",
    "roles": "worker,dispatcher",
    "description": "Sniffs payloads",
    "author": "stoQ developers",
    "email": "stoq@example.org",
    "license": "Apache-2.0",
}


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A fresh render: exactly what the template gives for ANSWERS."""
    return render_source(ANSWERS, tmp_path / "contrib")


def drift(package: Path, tmp_path: Path) -> List[str]:
    return check_package(package, tmp_path / "scratch")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_a_fresh_render_has_no_drift(package: Path, tmp_path: Path) -> None:
    """The template compared with itself: nothing to report."""
    assert drift(package, tmp_path) == []


def test_intended_differences_are_not_reported(package: Path, tmp_path: Path) -> None:
    """Extra dependencies, a new version, own code, own tests and samples are the plugin's business."""
    pyproject = package / "pyproject.toml"
    edit(
        pyproject,
        'dependencies = ["stoq-framework>=4.0.0"]',
        'dependencies = ["stoq-framework >= 4.0.0", "yara-python>=4"]',
    )
    edit(pyproject, 'test = ["pytest>=7"]', 'test = ["pytest>=7", "hypothesis"]\nfast = ["orjson"]')
    edit(pyproject, 'version = "0.1.0"', 'version = "1.4.2"')
    (package / "src" / "stoq_plugin_sniff" / "plugin.py").write_text(
        "from stoq.plugins import DispatcherPlugin, WorkerPlugin\n\n\n"
        "class SniffPlugin(WorkerPlugin, DispatcherPlugin):\n    pass\n"
    )
    edit(
        package / "src" / "stoq_plugin_sniff" / "__init__.py",
        "stoQ plugin",
        "A rewritten docstring for",
    )
    (package / "tests" / "test_more.py").write_text("def test_more():\n    assert True\n")
    (package / "tests" / "data" / "real.bin").write_bytes(b"MZ")
    assert drift(package, tmp_path) == []


def test_pyproject_changes_are_reported_by_table_and_key(package: Path, tmp_path: Path) -> None:
    """A changed entry point, build backend, a new [project] key and a new table each show."""
    pyproject = package / "pyproject.toml"
    edit(
        pyproject,
        'sniff = "stoq_plugin_sniff.plugin:SniffPlugin"',
        'sniff = "stoq_plugin_sniff:SniffPlugin"',
    )
    edit(pyproject, 'build-backend = "hatchling.build"', 'build-backend = "setuptools.build_meta"')
    edit(pyproject, 'readme = "README.md"', 'readme = "README.md"\nkeywords = ["x"]')
    pyproject.write_text(pyproject.read_text() + '\n[project.scripts]\nsniff-now = "x:y"\n')
    pyproject.write_text(pyproject.read_text() + '\n[tool.pytest.ini_options]\naddopts = "-q"\n')
    edit(
        pyproject,
        'dependencies = ["stoq-framework>=4.0.0"]',
        'dependencies = ["stoq-framework>=0.0.1"]',
    )
    found = "\n".join(drift(package, tmp_path))
    assert "[build-system] is" in found
    assert "[project] key 'keywords' is not in the template" in found
    assert "'scripts'" not in found  # a command the plugin ships is its own business
    assert (
        "[project] entry-points = {'stoq.plugins': {'sniff': 'stoq_plugin_sniff:SniffPlugin'}}"
        in found
    )
    assert "[tool] pytest.ini_options.addopts = '-q', template renders None" in found
    assert (
        "[project] dependencies lacks the template's 'stoq-framework>=4.0.0' (has 'stoq-framework>=0.0.1')"
        in found
    )


def test_a_wheel_build_hook_is_the_plugins_own(package: Path, tmp_path: Path) -> None:
    """A build hook of the wheel target (a compiled extension) and the files it keeps out of
    the wheel are the plugin's business; the wheel target's packages still are not."""
    pyproject = package / "pyproject.toml"
    edit(
        pyproject,
        'packages = ["src/stoq_plugin_sniff"]\n',
        'packages = ["src/stoq_plugin_sniff"]\nexclude = ["*.c"]\n\n'
        "[tool.hatch.build.targets.wheel.hooks.custom]\n",
    )
    assert drift(package, tmp_path / "1") == []
    edit(pyproject, 'packages = ["src/stoq_plugin_sniff"]', 'packages = ["src/sniff"]')
    found = "\n".join(drift(package, tmp_path / "2"))
    assert "[tool] hatch.build.targets.wheel.packages = ['src/sniff']" in found


def test_init_and_test_scaffolding_changes_are_reported(package: Path, tmp_path: Path) -> None:
    """A changed re-export, a role without its conformance suite, a wrong plugin_name."""
    edit(
        package / "src" / "stoq_plugin_sniff" / "__init__.py",
        '__all__ = ["SniffPlugin"]',
        "__all__ = []",
    )
    tests = package / "tests" / "test_sniff.py"
    edit(tests, "(WorkerConformance, DispatcherConformance)", "(WorkerConformance)")
    edit(tests, 'plugin_name = "sniff"', 'plugin_name = "snif"')
    found = "\n".join(drift(package, tmp_path))
    assert "src/stoq_plugin_sniff/__init__.py differs from the template" in found
    assert "-__all__ = ['SniffPlugin']\n+__all__ = []" in found
    assert "no class subclasses stoq.testing.DispatcherConformance (role dispatcher)" in found
    assert "TestSniffPluginConformance.plugin_name is 'snif', expected 'sniff'" in found


def test_roles_that_no_longer_match_the_answers_are_reported(package: Path, tmp_path: Path) -> None:
    """The class's bases are read from source and compared with .cookiecutter.json."""
    answers = json.loads((package / ".cookiecutter.json").read_text())
    (package / ".cookiecutter.json").write_text(
        json.dumps({**answers, "roles": "worker,dispatcher,decorator"})
    )
    found = "\n".join(drift(package, tmp_path))
    assert (
        "SniffPlugin serves ['worker', 'dispatcher'], .cookiecutter.json records ['worker', 'dispatcher', 'decorator']"
        in found
    )


def test_missing_answers_fail_the_run(
    package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No .cookiecutter.json: reported by name, and the exit status is 1."""
    (package / ".cookiecutter.json").unlink()
    assert main([str(package)]) == 1
    out = capsys.readouterr().out
    assert "DRIFT stoq-plugin-sniff: 1 difference" in out and ".cookiecutter.json is missing" in out
    assert out.rstrip().endswith("0 passed, 1 failed")
