"""Where plugins come from, known without importing them: ``stoq.plugins`` entry points of
installed distributions and v2-style plugin folders; which source provides a name; whether a
distribution's plugin accepts this core.
"""

from __future__ import annotations

import re

from stoq.__about__ import __version__
from stoq.distributions import Distribution, EntryPoint, entry_points
from stoq.exceptions import StoqDuplicatePlugin, StoqPluginLoadError
from stoq.folders import folder_entries, plugin_folders
from stoq.log import get_logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Dict, Iterable, List, Optional, Sequence, Tuple

__all__ = [
    "CORE_DISTRIBUTION",
    "ENTRY_POINT_GROUP",
    "PluginSource",
    "check_core_requirement",
    "choose_source",
    "discover",
    "plain_specifier_contains",
]

ENTRY_POINT_GROUP = "stoq.plugins"
CORE_DISTRIBUTION = "stoq-framework"

log = get_logger("stoq.loader")  # the loader's messages, wherever they are made


class PluginSource:
    """Where a plugin name comes from, known without importing it."""

    __slots__ = (
        "entry_point",
        "folder",
        "folder_summary",
        "folder_version",
        "kind",
        "location",
        "name",
    )

    def __init__(
        self,
        name: str,
        kind: str,
        location: str,
        entry_point: Optional[EntryPoint] = None,
        folder: Optional[str] = None,
        folder_version: Optional[str] = None,
        folder_summary: Optional[str] = None,
    ) -> None:
        self.name = name
        self.kind = kind  # "entry point" or "plugin folder"
        self.location = location  # "module:Class" for entry points, the .stoq file for folders
        self.entry_point = entry_point
        #: The plugin folder searched that holds the .stoq file (folder plugins only).
        self.folder = folder
        #: A folder plugin's .stoq [Documentation] Version and Description.
        self.folder_version = folder_version
        self.folder_summary = folder_summary

    @property
    def _dist(self) -> Optional[Distribution]:
        """The entry point's distribution; its METADATA is read on the first field asked."""
        return self.entry_point.dist if self.entry_point is not None else None

    @property
    def distribution(self) -> Optional[str]:
        return self._dist.get("Name") if self._dist else None

    @property
    def version(self) -> Optional[str]:
        return self._dist.get("Version") if self._dist else self.folder_version

    @property
    def summary(self) -> Optional[str]:
        return self._dist.get("Summary") if self._dist else self.folder_summary

    @property
    def author(self) -> str:
        dist = self._dist
        return (dist.get("Author") or dist.get("Author-email") or "") if dist else ""

    @property
    def website(self) -> str:
        return (self._dist.get("Home-page") or "") if self._dist else ""

    @property
    def requires(self) -> Tuple[str, ...]:
        return tuple(self._dist.get_all("Requires-Dist")) if self._dist else ()

    def describe(self) -> str:
        if self.kind == "entry point":
            return f"entry point {self.location} in distribution {self.distribution}"
        return f"plugin folder file {self.location}"


def _entry_point_sources() -> List[PluginSource]:
    return [
        PluginSource(name=ep.name, kind="entry point", location=ep.value, entry_point=ep)
        for ep in entry_points(ENTRY_POINT_GROUP)
    ]


def _folder_sources(folders: Iterable[Path]) -> List[PluginSource]:
    return [
        PluginSource(
            name=name,
            kind="plugin folder",
            location=str(stoq_file),
            folder_version=parser.get("Documentation", "Version", fallback=None),
            folder_summary=parser.get("Documentation", "Description", fallback=None),
            folder=str(folder),
        )
        for name, stoq_file, parser, folder in folder_entries(folders)
    ]


def discover(
    plugin_dirs: Sequence[str] = (), base_dir: Optional[str] = None
) -> Dict[str, List[PluginSource]]:
    """Every plugin name available, with all its sources: folders (winner first), then entry points.

    ``plugin_dirs`` is ``plugin_dir_list``; ``plugin_folders`` adds the implicit folders.
    """
    found: Dict[str, List[PluginSource]] = {}
    folders = plugin_folders(plugin_dirs, base_dir)
    for source in _folder_sources(folders) + _entry_point_sources():
        found.setdefault(source.name, []).append(source)
    return found


def choose_source(name: str, sources: Sequence[PluginSource]) -> PluginSource:
    """The source that provides ``name``; raises StoqDuplicatePlugin when that is ambiguous.

    A plugin folder is the user's explicit choice: it wins over installed distributions (and a
    preferred folder over a later one), with a warning naming every source it shadows. Two
    distributions, or two files in one folder, providing the name are an error naming both.
    """
    folders = [s for s in sources if s.kind == "plugin folder"]
    candidates = [s for s in folders if s.folder == folders[0].folder] if folders else sources
    if len(candidates) > 1:
        places = " and ".join(s.describe() for s in candidates)
        raise StoqDuplicatePlugin(f"plugin {name!r} is provided twice: {places}", name)
    winner = candidates[0]
    shadowed = [s for s in sources if s is not winner]
    if shadowed:
        log.warning(
            "plugin %r: using %s; it shadows %s",
            name,
            winner.describe(),
            " and ".join(s.describe() for s in shadowed),
        )
    return winner


_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", re.S)
_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*([0-9]+(?:\.[0-9]+)*)\s*$")
_COMPARE = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def _release(text: str, width: int) -> Tuple[int, ...]:
    numbers = [int(part) for part in text.split(".")]
    return tuple(numbers + [0] * (width - len(numbers)))


def plain_specifier_contains(specifier: str, version: str) -> Optional[bool]:
    """Whether ``version`` meets ``specifier`` when both are plain release numbers compared
    with ``>= <= == != > <`` (what plugins declare); None when only packaging can tell.

    Importing ``packaging.requirements`` costs about 20 ms, once per process that loads a
    plugin; the plain case needs none of it.
    """
    if not re.fullmatch(r"[0-9]+(?:\.[0-9]+)*", version):
        return None
    clauses = [_CLAUSE.match(part) for part in specifier.split(",")] if specifier.strip() else []
    if not all(clauses):
        return None
    for match in clauses:
        assert match is not None
        operator, bound = match.groups()
        width = max(len(bound.split(".")), len(version.split(".")))
        if not _COMPARE[operator](_release(version, width), _release(bound, width)):
            return False
    return True


def check_core_requirement(source: PluginSource) -> None:
    """Refuse a plugin whose distribution needs a newer core than this one."""
    for text in source.requires:
        parsed = _NAME.match(text)
        if parsed is None or parsed.group(1).lower().replace("_", "-") != CORE_DISTRIBUTION:
            continue
        allowed = plain_specifier_contains(parsed.group(2), __version__)
        if allowed is None:
            allowed = _packaging_allows(text)
        if allowed:
            continue
        raise StoqPluginLoadError(
            f"plugin {source.name!r} ({source.distribution} {source.version}) requires"
            f" {text.strip()}, but this core is {CORE_DISTRIBUTION} {__version__}:"
            f" upgrade with 'pip install -U {CORE_DISTRIBUTION}'",
            source.name,
        )


def _packaging_allows(text: str) -> bool:
    """The full check, for requirements with markers, extras, pre-releases or wildcards."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return True
    if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
        return True
    return requirement.specifier.contains(__version__, prereleases=True)
