"""The base every plugin shares: its configuration, options, identity and logger."""

from __future__ import annotations

from configparser import ConfigParser

from stoq.log import get_logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Dict, Optional

__all__ = ["BasePlugin"]


class BasePlugin:
    """Holds ``config`` (a ConfigParser) and ``plugin_opts`` (typed options) for a plugin.

    ``start()`` and ``stop()`` are optional lifecycle hooks: open connections or compile
    rules once per process, and release them when the Stoq instance shuts down. ``preload()``
    is an optional class hook for work worth sharing with forked consumer processes.
    """

    #: True when an instance built and started in one process keeps working in a process
    #: forked from it: it holds no thread, socket or open file that two processes must not
    #: share. Run mode and ``stoq scan -j`` then build it once, before they fork consumers,
    #: instead of once in every consumer (a spawned consumer still builds its own).
    fork_safe: ClassVar[bool] = False

    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict[str, Any]] = None) -> None:
        self.config = config
        self.plugin_opts: Dict[str, Any] = {} if plugin_opts is None else plugin_opts
        self.plugin_name: str = config.get("Core", "Name", fallback=type(self).__name__)
        self.__author__ = config.get("Documentation", "Author", fallback="")
        self.__version__ = config.get("Documentation", "Version", fallback="")
        self.__website__ = config.get("Documentation", "Website", fallback="")
        self.__description__ = config.get("Documentation", "Description", fallback="")
        self.log = get_logger(f"stoq.{self.plugin_name}")

    @classmethod
    def preload(cls) -> None:
        """Called in the parent before consumer processes are forked (``stoq scan -j``, run
        mode with consumers); override to import heavy dependencies the plugin imports lazily,
        so every consumer inherits them instead of importing them again."""

    def start(self) -> None:
        """Called once after loading; override to acquire resources."""

    def stop(self) -> None:
        """Called once when the Stoq instance closes; override to release resources."""
