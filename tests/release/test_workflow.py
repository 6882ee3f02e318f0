"""The publishing workflow, checked by reading it (no hosted CI runs here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "release.yml"


def _load() -> Dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text(encoding="utf-8")))


def test_it_builds_checks_and_installs_before_publishing() -> None:
    jobs = _load()["jobs"]
    commands = [step.get("run", "") for step in jobs["build"]["steps"]]
    assert commands.index("nox -s build") < commands.index("nox -s install_by_name")
    assert jobs["publish"]["needs"] == "build"


def test_publishing_uses_trusted_publishing_and_the_checked_wheelhouse() -> None:
    workflow = _load()
    publish = workflow["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}  # OIDC, no stored token
    assert workflow["permissions"] == {"contents": "read"}
    uses = [step["uses"] for step in publish["steps"]]
    assert uses[-1].startswith("pypa/gh-action-pypi-publish@")
    assert not any("password" in step.get("with", {}) for step in publish["steps"])
    upload = next(
        s for s in workflow["jobs"]["build"]["steps"] if "upload-artifact" in s.get("uses", "")
    )
    download = next(s for s in publish["steps"] if "download-artifact" in s.get("uses", ""))
    assert upload["with"]["name"] == download["with"]["name"]


def test_it_runs_on_version_tags_only() -> None:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    trigger = _load()[True]
    assert trigger == {"push": {"tags": ["v*"]}}
