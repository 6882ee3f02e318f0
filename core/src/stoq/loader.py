"""Finding and loading plugins: ``stoq.plugins`` entry points and v2-style plugin folders.

Discovery reads metadata only; a plugin's code is imported the first time a request names it,
so a broken or heavy plugin that is not used costs nothing.
"""

from __future__ import annotations

import contextlib
import functools
import re

from stoq.__about__ import __version__
from stoq.config import StoqConfigParser, option_to_text
from stoq.deadline import call_with_deadline
from stoq.distributions import Distribution, EntryPoint, entry_points
from stoq.exceptions import (
    StoqConfigError,
    StoqDuplicatePlugin,
    StoqPluginException,
    StoqPluginLoadError,
    StoqPluginNotFound,
    StoqPluginTimeout,
)
from stoq.folders import (
    folder_entries,
    folder_plugin_class,
    import_folder_module,
    plugin_class_in,
    plugin_folders,
)
from stoq.log import adopt as adopt_logging
from stoq.log import get_logger
from stoq.options import core_options, typed_options
from stoq.plugins import BasePlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Type

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginManager",
    "PluginSource",
    "check_core_requirement",
    "choose_source",
    "discover",
    "import_folder_module",
    "plugin_class_in",
]

ENTRY_POINT_GROUP = "stoq.plugins"
CORE_DISTRIBUTION = "stoq-framework"

log = get_logger(__name__)


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


def _folder_class(name: str, stoq_file: str) -> Type[BasePlugin]:
    """A v2 folder plugin's class, imported again from its file (in an isolated child)."""
    from pathlib import Path

    return folder_plugin_class(name, Path(stoq_file))[0]


def _started(
    plugin_class: Type[BasePlugin], config: StoqConfigParser, options: Dict[str, Any]
) -> BasePlugin:
    """A plugin built and started: both under one deadline (v2 plugins set up in __init__)."""
    instance = plugin_class(config, options)
    instance.start()
    return instance


class PluginManager:
    """Loads plugins by name, one instance per name, with their merged options."""

    def __init__(
        self,
        plugin_dirs: Iterable[str] = (),
        file_options: Optional[Mapping[str, Mapping[str, Any]]] = None,
        plugin_opts: Optional[Mapping[str, Mapping[str, Any]]] = None,
        default_timeout: float = 60.0,
        base_dir: Optional[str] = None,
    ) -> None:
        self._default_timeout = default_timeout
        self._plugin_dirs = list(plugin_dirs)
        self._base_dir = base_dir
        self._file_options = dict(file_options or {})
        self._plugin_opts = dict(plugin_opts or {})
        self._sources: Optional[Dict[str, List[PluginSource]]] = None
        self._instances: Dict[str, BasePlugin] = {}
        self._failures: Dict[str, StoqPluginException] = {}
        self._timeouts: Dict[str, float] = {}
        self._from_folders: Set[str] = set()

    def is_folder_plugin(self, name: str) -> bool:
        """Whether ``name`` was loaded from a v2 plugin folder (v2's calling conventions apply)."""
        return name in self._from_folders

    @property
    def plugin_dirs(self) -> List[str]:
        """``plugin_dir_list`` as given (``discover`` adds the implicit folders)."""
        return list(self._plugin_dirs)

    @property
    def base_dir(self) -> Optional[str]:
        return self._base_dir

    @property
    def sources(self) -> Dict[str, List[PluginSource]]:
        if self._sources is None:
            self._sources = discover(self._plugin_dirs, self._base_dir)
        return self._sources

    def is_available(self, name: str) -> bool:
        return name in self._instances or name in self.sources

    @property
    def loaded(self) -> Dict[str, BasePlugin]:
        return dict(self._instances)

    def load(self, name: str) -> BasePlugin:
        """The plugin's instance, loading it once; failures are remembered and re-raised."""
        instance = self._instances.get(name)
        if instance is not None:
            return instance
        if name in self._failures:
            raise self._failures[name]
        try:
            instance = self._load(name)
        except StoqPluginException as exc:
            self._failures[name] = exc
            raise
        self._instances[name] = instance
        return instance

    def preload(self, name: str) -> Optional[Tuple[BasePlugin, float]]:
        """Import an entry-point plugin's class and run its ``preload()`` hook; if the class is
        ``fork_safe``, build and start it too and return it with its deadline, for forked
        processes to ``adopt``. Errors are left for load() in those processes."""
        sources = self.sources.get(name, [])
        if len(sources) == 1 and sources[0].entry_point is not None and name not in self._instances:
            with contextlib.suppress(Exception):
                plugin_class = sources[0].entry_point.load()
                getattr(plugin_class, "preload", lambda: None)()
                if getattr(plugin_class, "fork_safe", False):
                    return self.load(name), self._timeouts[name]
        return None

    def adopt(self, instances: Mapping[str, Tuple[BasePlugin, float]]) -> None:
        """Use instances that the process this one was forked from built and started."""
        for name, (instance, timeout) in instances.items():
            self._instances[name] = instance
            self._timeouts[name] = timeout

    def timeout_of(self, name: str) -> float:
        """The deadline for one call of a loaded plugin (its ``timeout`` or plugin_timeout)."""
        return self._timeouts.get(name, self._default_timeout)

    def build(self, name: str, plugin_class: Type[BasePlugin], **documentation: str) -> BasePlugin:
        """Construct and start ``plugin_class`` with ``name``'s merged options, and keep it."""
        defaults = dict(getattr(plugin_class, "DEFAULT_OPTIONS", {}) or {})
        config = StoqConfigParser()
        config["Core"] = {"Name": name, "Module": plugin_class.__module__}
        config["Documentation"] = {k: v or "" for k, v in documentation.items()}
        return self._construct(name, plugin_class, config, defaults, plugin_class)

    def _load(self, name: str) -> BasePlugin:
        sources = self.sources.get(name)
        if not sources:
            import difflib  # only for a name that is not found

            matches = difflib.get_close_matches(name, list(self.sources), n=3)
            raise StoqPluginNotFound(name, matches)
        source = choose_source(name, sources)
        if source.kind == "entry point":
            return self._load_entry_point(source)
        return self._load_folder(source)

    def _load_entry_point(self, source: PluginSource) -> BasePlugin:
        """Import the entry point discovery found (no second scan of the installed metadata)."""
        check_core_requirement(source)
        try:
            if source.entry_point is None:
                raise LookupError("no entry point object")
            plugin_class: Type[BasePlugin] = source.entry_point.load()
        except Exception as exc:  # reported as a load error with its cause
            raise StoqPluginLoadError(
                f"plugin {source.name!r}: importing {source.location} failed:"
                f" {type(exc).__name__}: {exc}",
                source.name,
            ) from exc
        return self.build(
            source.name,
            plugin_class,
            Author=source.author,
            Version=source.version or "",
            Website=source.website,
            Description=source.summary or "",
        )

    def _load_folder(self, source: PluginSource) -> BasePlugin:
        from pathlib import Path

        stoq_file = Path(source.location)
        plugin_class, config = folder_plugin_class(source.name, stoq_file)
        defaults = dict(getattr(plugin_class, "DEFAULT_OPTIONS", {}) or {})
        if config.has_section("options"):
            defaults.update(config.items("options"))
        origin = functools.partial(_folder_class, source.name, str(stoq_file))
        instance = self._construct(source.name, plugin_class, config, defaults, origin)
        self._from_folders.add(source.name)
        return instance

    def _construct(
        self,
        name: str,
        plugin_class: Type[BasePlugin],
        config: StoqConfigParser,
        defaults: Dict[str, Any],
        origin: Any,
    ) -> BasePlugin:
        """Merge and type the options, then build the instance (or its process-isolated proxy)
        and start it within the plugin's deadline."""
        adopt_logging()  # its module may log through ``logging`` itself, from ``start`` on
        merged = {
            **defaults,
            **self._file_options.get(name, {}),
            **self._plugin_opts.get(name, {}),
        }
        declared = getattr(plugin_class, "DEFAULT_OPTIONS", None) or {}
        try:
            options = typed_options(name, merged, declared)
            core = core_options(name, options, self._default_timeout)
        except StoqConfigError as exc:
            raise StoqPluginLoadError(str(exc), name) from None
        config["options"] = {k: option_to_text(v) for k, v in options.items()}
        try:
            if core.isolation == "process":
                from stoq.isolation import isolated

                instance = isolated(plugin_class, origin, config, options, core)
                instance.start()
            else:
                made, timed_out = call_with_deadline(
                    core.timeout, _started, plugin_class, config, options
                )
                if made is None or timed_out:
                    raise StoqPluginTimeout(
                        f"__init__() and start() did not finish within {core.timeout:g}s"
                    )
                instance = made
        except (Exception, SystemExit) as exc:
            log.error("plugin %r could not be started", name, exc_info=True)
            raise StoqPluginLoadError(
                f"plugin {name!r}: could not be started: {type(exc).__name__}: {exc}", name
            ) from exc
        self._instances[name] = instance
        self._timeouts[name] = core.timeout
        return instance

    def close(self) -> None:
        """Call every loaded plugin's ``stop()`` within the plugin's deadline (an isolated one
        bounds its own); a stop that fails or hangs is logged, never raised or waited for."""
        for name, instance in self._instances.items():
            try:
                if getattr(instance, "isolated", False):
                    instance.stop()
                    continue
                _, timed_out = call_with_deadline(self._timeouts[name], instance.stop)
                if timed_out:
                    log.error(
                        "plugin %r: stop() did not finish within %gs", name, self._timeouts[name]
                    )
            except (Exception, SystemExit):
                log.exception("plugin %r: stop() failed", name)
        self._instances.clear()
