"""Hatch build hook: ship the plugin template and the contrib plugin catalogue inside the core.

The template's one source lives at the repository root, beside ``core/``. A wheel built from
the repository gets it as ``stoq/templates/stoq-plugin``; an sdist carries it under
``src/stoq/templates/``, where a wheel built from that sdist picks it up as ordinary package
data. Editable installs need nothing: ``stoq new-plugin`` reads the repository's copy.

The catalogue (``stoq/catalogue.json``, what ``stoq list --available`` shows) is built from
``plugins-contrib/`` by ``stoq.catalogue.build_catalogue``; an sdist carries the built file,
so a wheel built from the sdist ships the same one.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, Dict

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

TEMPLATE = Path("templates") / "stoq-plugin"
CATALOGUE = "catalogue.json"


def _catalogue_module(root: Path) -> ModuleType:
    """``stoq.catalogue`` loaded by path: the package being built is not importable here."""
    spec = importlib.util.spec_from_file_location(
        "_stoq_catalogue", root / "src" / "stoq" / "catalogue.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class TemplateBuildHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: Dict[str, Any]) -> None:
        if version == "editable":
            return
        root = Path(self.root)
        source = root.parent / TEMPLATE
        packaged = root / "src" / "stoq" / TEMPLATE
        if (source / "cookiecutter.json").is_file():
            target = "src/stoq/" if self.target_name == "sdist" else "stoq/"
            build_data["force_include"][str(source)] = target + TEMPLATE.as_posix()
        elif not (packaged / "cookiecutter.json").is_file():
            raise FileNotFoundError(
                f"plugin template not found at {source} or {packaged}: build from the repository"
                " checkout or from its sdist"
            )
        self._ship_catalogue(root, build_data)

    def _ship_catalogue(self, root: Path, build_data: Dict[str, Any]) -> None:
        target = "src/stoq/" if self.target_name == "sdist" else "stoq/"
        contrib = root.parent / "plugins-contrib"
        if not contrib.is_dir():
            if not (root / "src" / "stoq" / CATALOGUE).is_file():
                raise FileNotFoundError(
                    f"plugin catalogue: neither {contrib} nor src/stoq/{CATALOGUE} exists"
                )
            return  # building from the sdist: the shipped file is ordinary package data
        entries = _catalogue_module(root).build_catalogue(contrib)
        out = Path(tempfile.mkdtemp(prefix="stoq-catalogue-")) / CATALOGUE
        out.write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8")
        build_data["force_include"][str(out)] = target + CATALOGUE
