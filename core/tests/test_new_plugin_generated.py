"""What the template generates works: its tests pass and its class serves the chosen roles.

Each role combination is rendered, made importable with a real ``stoq.plugins`` entry point
(a dist-info folder beside the sources, as an install leaves), and its own test suite is run.
The full check with fresh virtualenvs and built wheels is ``templates/tools/roundtrip.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path

import pytest

from stoq.cli.new_plugin import add_parser
from stoq.plugins import roles_of

pytest.importorskip("cookiecutter", reason="the authoring extra (cookiecutter) is not installed")

pytest_plugins = ["pytester"]

COMBINATIONS = {
    "gen_w": "worker",
    "gen_d": "dispatcher",
    "gen_dd": "deep dispatcher",
    "gen_pac": "provider,archiver,connector",
    "gen_dec": "decorator",
    "gen_all": "worker,dispatcher,deep_dispatcher,provider,archiver,connector,decorator",
}


def render(name: str, roles: str, output: Path) -> Path:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["new-plugin", "--name", name, "--role", roles, "--no-input", "-o", str(output)]
    )
    assert args.handler(args) == 0
    return output / f"stoq-plugin-{name}"


def install_in_place(project: Path, name: str) -> Path:
    """Make the rendered package importable and discoverable without pip."""
    src = project / "src"
    info = src / f"stoq_plugin_{name}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: stoq-plugin-{name}\nVersion: 0.1.0\n"
    )
    entry = (
        f"{name} = stoq_plugin_{name}.plugin:{''.join(p.title() for p in name.split('_'))}Plugin"
    )
    (info / "entry_points.txt").write_text(f"[stoq.plugins]\n{entry}\n")
    return src


@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_generated_tests_pass(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The conformance suite for every chosen role and the behaviour tests all pass as generated."""
    project = render(name, COMBINATIONS[name], pytester.path)
    pytester.syspathinsert(install_in_place(project, name))
    scratch = pytester.path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # the example archiver's default folder
    result = pytester.runpytest(
        str(project / "tests"), "-p", "no:cacheprovider", "-p", "no:hypothesispytest"
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0, result.stdout.str()
    assert outcomes["passed"] >= 8


@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_generated_class_serves_the_chosen_roles(pytester: pytest.Pytester, name: str) -> None:
    """The class subclasses exactly the base classes of the roles asked for, in canonical order."""
    project = render(name, COMBINATIONS[name], pytester.path)
    path = project / "src" / f"stoq_plugin_{name}" / "plugin.py"
    spec = importlib.util.spec_from_file_location(f"generated_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plugin_class = getattr(module, "".join(p.title() for p in name.split("_")) + "Plugin")
    expected = [r.strip().replace(" ", "_") for r in COMBINATIONS[name].split(",")]
    order = [
        "provider",
        "worker",
        "dispatcher",
        "deep_dispatcher",
        "archiver",
        "connector",
        "decorator",
    ]
    assert roles_of(plugin_class) == sorted(expected, key=order.index)
