"""The contrib plugin catalogue: what can be installed, read from the plugins' own metadata.

The core's build (``core/hatch_build.py``) runs :func:`build_catalogue` over
``plugins-contrib/`` and ships the result as ``stoq/catalogue.json``, so an installed core
knows every contrib plugin without network access (``stoq list --available``); the docs'
plugin index is generated from the same function. An editable install reads the repository's
folders directly. The facts come from each plugin's ``pyproject.toml`` (distribution, version,
summary, entry points, ``requires-python``, the ``stoq-framework`` requirement, and
``[tool.stoq] system`` for system packages it needs) and its ``.cookiecutter.json`` (roles).

This module imports nothing from ``stoq``: the build hook loads it by path.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

__all__ = ["CATALOGUE_FILE", "CatalogueEntry", "build_catalogue", "load_catalogue"]

CATALOGUE_FILE = "catalogue.json"
#: The roles in the order stoQ documents them (the template's ``roles`` answer is free text).
_ROLES = (
    "provider",
    "worker",
    "dispatcher",
    "deep_dispatcher",
    "archiver",
    "connector",
    "decorator",
)


@dataclass(frozen=True)
class CatalogueEntry:
    """One contrib plugin as a user choosing what to install sees it."""

    name: str
    distribution: str
    version: str
    roles: Tuple[str, ...]
    summary: str
    system: Tuple[str, ...]
    requires_python: str
    core_requirement: str

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _roles(answer: str) -> Tuple[str, ...]:
    given = {r.strip().lower().replace(" ", "_").replace("-", "_") for r in answer.split(",")}
    return tuple(role for role in _ROLES if role in given)


def _entry(folder: Path) -> CatalogueEntry:
    """The catalogue entry of one plugin folder; ValueError naming what is missing."""
    try:
        project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
        answers = json.loads((folder / ".cookiecutter.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{folder.name}: cannot read its metadata: {exc}") from exc
    meta = project.get("project", {})
    names = list(meta.get("entry-points", {}).get("stoq.plugins", {}))
    if len(names) != 1:
        raise ValueError(f"{folder.name}: expected one stoq.plugins entry point, found {names}")
    core = next((r for r in meta.get("dependencies", []) if re.match(r"stoq-framework\b", r)), "")
    system = project.get("tool", {}).get("stoq", {}).get("system", [])
    return CatalogueEntry(
        name=names[0],
        distribution=str(meta.get("name", folder.name)),
        version=str(meta.get("version", "")),
        roles=_roles(str(answers.get("roles", ""))),
        summary=str(meta.get("description", "")),
        system=tuple(str(s) for s in system),
        requires_python=str(meta.get("requires-python", "")),
        core_requirement=core,
    )


def build_catalogue(contrib: Path) -> List[Dict[str, Any]]:
    """Every plugin under ``contrib`` (folders with a ``pyproject.toml``), sorted by name."""
    folders = sorted(p.parent for p in contrib.glob("*/pyproject.toml"))
    return sorted((_entry(folder).to_dict() for folder in folders), key=lambda e: e["name"])


def _from_dict(data: Dict[str, Any]) -> CatalogueEntry:
    return CatalogueEntry(
        **{**data, "roles": tuple(data["roles"]), "system": tuple(data["system"])}
    )


def load_catalogue(packaged: Optional[Path] = None) -> List[CatalogueEntry]:
    """The shipped catalogue, or in a repository checkout (editable install) a fresh build."""
    packaged = packaged or Path(__file__).with_name(CATALOGUE_FILE)
    if packaged.is_file():
        return [_from_dict(e) for e in json.loads(packaged.read_text(encoding="utf-8"))]
    contrib = Path(__file__).resolve().parents[3] / "plugins-contrib"
    if contrib.is_dir():
        return [_from_dict(e) for e in build_catalogue(contrib)]
    raise FileNotFoundError(
        f"the plugin catalogue {packaged} is missing: this stoq-framework was built without it"
    )
