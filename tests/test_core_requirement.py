"""SPEC §6: every plugin's ``stoq-framework>=`` requirement names a core that has its API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import stoq

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "stoq-plugin" / "stoq-plugin-{{cookiecutter.plugin_name}}"
PYPROJECTS = sorted(ROOT.glob("plugins-contrib/*/pyproject.toml")) + [TEMPLATE / "pyproject.toml"]
#: The last release of the earlier stoq-framework (v3): no entry points, no stoq.testing.
LAST_V3 = Version("3.0.1")


def _core_requirements(pyproject: Path) -> List[Requirement]:
    text = pyproject.read_text(encoding="utf-8")
    block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, flags=re.MULTILINE | re.DOTALL)
    assert block is not None, f"{pyproject}: no dependencies"
    requirements = [Requirement(r) for r in re.findall(r'"([^"]+)"', block.group(1))]
    return [r for r in requirements if r.name == "stoq-framework"]


def test_the_core_is_the_next_major_version_after_v3() -> None:
    """The reimplementation outranks stoq-framework 3.0.1, so resolvers never prefer the old one."""
    assert Version(stoq.__version__) >= Version("4.0.0")


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=lambda p: p.parent.name)
def test_core_requirement_admits_this_core_and_refuses_v3(pyproject: Path) -> None:
    """One stoq-framework requirement: satisfied by this core, never by the old v3 package."""
    requirements = _core_requirements(pyproject)
    assert len(requirements) == 1, f"{pyproject}: {requirements}"
    specifier = requirements[0].specifier
    assert specifier.contains(stoq.__version__), f"{pyproject}: {specifier} refuses this core"
    assert not specifier.contains(LAST_V3), f"{pyproject}: {specifier} admits stoq-framework 3"
