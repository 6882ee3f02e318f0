"""The plugin base classes, one per role. A class may subclass several roles."""

from typing import List

from stoq.plugins.archiver import ArchiverPlugin
from stoq.plugins.base import BasePlugin
from stoq.plugins.connector import ConnectorPlugin
from stoq.plugins.decorator import DecoratorPlugin
from stoq.plugins.deep_dispatcher import DeepDispatcherPlugin
from stoq.plugins.dispatcher import DispatcherPlugin
from stoq.plugins.provider import Acknowledger, Delivery, ProviderPlugin
from stoq.plugins.worker import WorkerPlugin

__all__ = [
    "Acknowledger",
    "ArchiverPlugin",
    "BasePlugin",
    "ConnectorPlugin",
    "DecoratorPlugin",
    "DeepDispatcherPlugin",
    "Delivery",
    "DispatcherPlugin",
    "ProviderPlugin",
    "WorkerPlugin",
]

#: Role name (as used in configuration and ``stoq list``) → base class.
ROLES = {
    "provider": ProviderPlugin,
    "worker": WorkerPlugin,
    "dispatcher": DispatcherPlugin,
    "deep_dispatcher": DeepDispatcherPlugin,
    "archiver": ArchiverPlugin,
    "connector": ConnectorPlugin,
    "decorator": DecoratorPlugin,
}


def roles_of(plugin_class: type) -> List[str]:
    """The role names a plugin class serves, in canonical order."""
    return [role for role, base in ROLES.items() if issubclass(plugin_class, base)]
