"""stoQ v2's ``stoq.plugin_manager``: ``StoqPluginManager``, the base ``Stoq`` inherits from.

v2 programs build one directly (``StoqPluginManager([plugin_dir])``) to load or list plugins
without a ``Stoq``; it finds installed distributions too, and the v2 plugin folders of
``stoq.folders``.
"""

from __future__ import annotations

from configparser import ConfigParser

from stoq.loader import PluginManager
from stoq.plugins import ROLES, BasePlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

__all__ = ["StoqPluginManager"]


class StoqPluginManager:
    """Loads plugins by name (one instance each) and lists the plugins it can find."""

    #: The engine's plugin manager: sources, instances, options.
    plugins: PluginManager

    def __init__(
        self,
        plugin_dir_list: List[str],
        plugin_opts: Optional[Dict[str, Dict[str, Any]]] = None,
        stoq_config: Optional[ConfigParser] = None,
    ) -> None:
        # v2 read plugin options from the sections of stoq.cfg named after plugins.
        file_options = (
            {
                section: dict(stoq_config.items(section, raw=True))
                for section in stoq_config.sections()
                if section != "core"
            }
            if stoq_config is not None
            else {}
        )
        self.plugins = PluginManager(plugin_dir_list, file_options, plugin_opts)

    def load_plugin(self, plugin_name: str) -> BasePlugin:
        """The plugin's instance (loaded once); raises StoqPluginException subclasses."""
        return self.plugins.load(plugin_name.strip())

    def list_plugins(self) -> Dict[str, Dict[str, Any]]:
        """v2's listing: ``{name: {"classes": ["Worker", ...], "version", "description"}}``.

        Read without importing plugin code where possible. A plugin whose name is provided
        twice is listed once, from the source that is used.
        """
        from stoq.inventory import inventory

        listed: Dict[str, Dict[str, Any]] = {}
        infos = inventory(self.plugins.plugin_dirs, check=False, base_dir=self.plugins.base_dir)
        for info in infos:
            if info.status == "shadowed" or info.name in listed:
                continue
            listed[info.name] = {
                "classes": [ROLES[role].__name__[: -len("Plugin")] for role in info.roles],
                "version": info.version,
                "description": info.summary,
            }
        return listed
