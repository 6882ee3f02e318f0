"""Hatch build hook: ship the plugin template (``templates/stoq-plugin``) inside the core.

The template's one source lives at the repository root, beside ``core/``. A wheel built from
the repository gets it as ``stoq/templates/stoq-plugin``; an sdist carries it under
``src/stoq/templates/``, where a wheel built from that sdist picks it up as ordinary package
data. Editable installs need nothing: ``stoq new-plugin`` reads the repository's copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

TEMPLATE = Path("templates") / "stoq-plugin"


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
