"""Loading plugins by name: each built once, with its merged and typed options, started
under its deadline, isolated when configured so.

Where a name comes from is ``stoq.sources`` (metadata only): a plugin's code is imported the
first time a request names it, so a broken or heavy plugin that is not used costs nothing.
"""

from __future__ import annotations

import contextlib
import functools

from stoq import crashsite
from stoq.config import StoqConfigParser, option_to_text
from stoq.deadline import call_with_deadline
from stoq.exceptions import (
    StoqConfigError,
    StoqPluginException,
    StoqPluginLoadError,
    StoqPluginNotFound,
    StoqPluginTimeout,
)
from stoq.folders import folder_plugin_class
from stoq.log import adopt as adopt_logging
from stoq.log import get_logger
from stoq.options import core_options, typed_options
from stoq.plugins import BasePlugin
from stoq.sources import PluginSource, check_core_requirement, choose_source, discover

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Type

__all__ = ["PluginManager"]

log = get_logger(__name__)


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
        site = crashsite.current
        if site is not None:  # a consumer: a crash while importing or starting it is named
            site.value = crashsite.label(name, "load")
        try:
            instance = self._load(name)
        except StoqPluginException as exc:
            self._failures[name] = exc
            raise
        finally:
            if site is not None:
                site.value = b""
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
