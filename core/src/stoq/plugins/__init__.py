"""The plugin base classes, one per role. A class may subclass several roles."""

from __future__ import annotations

from stoq.plugins.archiver import ArchiverPlugin
from stoq.plugins.base import BasePlugin
from stoq.plugins.connector import ConnectorPlugin
from stoq.plugins.decorator import DecoratorPlugin
from stoq.plugins.deep_dispatcher import DeepDispatcherPlugin
from stoq.plugins.dispatcher import DispatcherPlugin
from stoq.plugins.provider import DeferredPayload, Delivery, ProviderPlugin
from stoq.plugins.worker import WorkerPlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, List

    from stoq.plugins.acknowledger import Acknowledger

__all__ = [
    "Acknowledger",
    "ArchiverPlugin",
    "BasePlugin",
    "ConnectorPlugin",
    "DecoratorPlugin",
    "DeepDispatcherPlugin",
    "DeferredPayload",
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


def __getattr__(name: str) -> Any:
    """``Acknowledger``, imported when first asked for (``stoq.plugins.acknowledger``)."""
    if name == "Acknowledger":
        from stoq.plugins.acknowledger import Acknowledger

        return Acknowledger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
