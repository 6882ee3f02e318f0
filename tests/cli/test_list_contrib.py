"""``stoq list`` shows every contrib plugin of the repository, and each one loads.

The names come from each distribution's ``pyproject.toml`` entry points, so a plugin added to
``plugins-contrib/`` is checked here without editing this test (``nox -s cross`` installs all).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict

REPO = Path(__file__).resolve().parents[2]
_ENTRY = re.compile(r'^\[project\.entry-points\."stoq\.plugins"\]\n((?:[^\[\n].*\n?)*)', re.M)


def contrib_plugins() -> Dict[str, str]:
    """Plugin name → distribution folder, for every contrib plugin in the tree."""
    names: Dict[str, str] = {}
    for pyproject in sorted(REPO.glob("plugins-contrib/*/pyproject.toml")):
        match = _ENTRY.search(pyproject.read_text(encoding="utf-8"))
        assert match, f"{pyproject} registers no stoq.plugins entry point"
        for line in match.group(1).splitlines():
            if "=" in line:
                names[line.split("=", 1)[0].strip().strip('"')] = pyproject.parent.name
    return names


def test_stoq_list_shows_every_contrib_plugin_and_each_loads(run_stoq) -> None:
    result = run_stoq("list", "--json")
    assert result.returncode == 0, result.stderr
    listed = {p["name"]: p for p in json.loads(result.stdout)}
    expected = contrib_plugins()
    assert {"pdf", "email", "iocs", "html", "summary"} <= set(expected)
    missing = sorted(set(expected) - set(listed))
    assert missing == [], f"not listed by stoq list: {missing}"
    broken = {n: listed[n]["error"] for n in expected if listed[n]["status"] != "ok"}
    assert broken == {}
    for name, folder in expected.items():
        assert listed[name]["distribution"] == folder, name
