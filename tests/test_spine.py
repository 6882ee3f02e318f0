"""The repository spine: CI runs the README's test command, and every plugin has a docs page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_FOLDERS = sorted(p.parent for p in ROOT.glob("plugins-contrib/*/pyproject.toml"))


def _shell_blocks(markdown: str) -> list:
    return re.findall(r"```sh\n(.*?)\n```", markdown, flags=re.DOTALL)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """.ci/run's TEST_COMMAND is, character for character, one of the README's commands."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r"^TEST_COMMAND='([^']+)'$", ci, flags=re.MULTILINE)
    assert match, ".ci/run defines no TEST_COMMAND='...' line"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert match.group(1) in _shell_blocks(readme)
    assert re.search(r"^bash -c \"\$TEST_COMMAND\"", ci, flags=re.MULTILINE)


def test_readme_quick_start_is_two_commands() -> None:
    """The quick start is exactly two one-line commands: install-and-scan, and the tests."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = _shell_blocks(quick_start)
    assert len(blocks) == 2
    assert all("\n" not in block for block in blocks)
    assert "/stoq scan " in blocks[0]


@pytest.mark.parametrize("folder", PLUGIN_FOLDERS, ids=[p.name for p in PLUGIN_FOLDERS])
def test_plugin_readme_gives_its_docs_page_a_title(folder: Path) -> None:
    """The docs site copies each plugin's README; its first line must be the page title."""
    readme = folder / "README.md"
    assert readme.is_file(), f"{folder.name} has no README.md"
    first = readme.read_text(encoding="utf-8").lstrip().splitlines()[0]
    assert first.startswith("# "), f"{readme}: first line {first!r} is not a '# ' heading"
