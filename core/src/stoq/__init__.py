"""stoQ: analyse files at scale through plugins.

The public API is listed here, in one place; every other module is an implementation detail
except ``stoq.plugins`` and ``stoq.data_classes`` (kept importable as in stoQ v2).
"""

from stoq.__about__ import __version__

# Neither ``typing`` nor ``logging`` is imported here: ``stoq --version`` imports this package
# and nothing else (``stoq.log`` adds the library's NullHandler).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, List

    from stoq.config import StoqConfigParser
    from stoq.core import Stoq
    from stoq.data_classes import (
        ArchiverResponse,
        DecoratorResponse,
        DeepDispatcherResponse,
        DispatcherResponse,
        Error,
        ExtractedPayload,
        Payload,
        PayloadMeta,
        PayloadResults,
        RequestMeta,
        StoqResponse,
        WorkerResponse,
    )
    from stoq.exceptions import (
        ProviderStopped,
        StoqConfigError,
        StoqDuplicatePlugin,
        StoqException,
        StoqPluginException,
        StoqPluginLoadError,
        StoqPluginNotFound,
        StoqPluginTimeout,
    )
    from stoq.log import configure_logging

#: Where each public name lives. They are imported when first used, so ``import stoq`` (and
#: every ``stoq`` command, ``--version`` first) does not pay for the engine until it runs it.
_LOCATIONS = {
    "StoqConfigParser": "stoq.config",
    "Stoq": "stoq.core",
    **dict.fromkeys(
        [
            "ArchiverResponse",
            "DecoratorResponse",
            "DeepDispatcherResponse",
            "DispatcherResponse",
            "Error",
            "ExtractedPayload",
            "Payload",
            "PayloadMeta",
            "PayloadResults",
            "RequestMeta",
            "StoqResponse",
            "WorkerResponse",
        ],
        "stoq.data_classes",
    ),
    **dict.fromkeys(
        [
            "ProviderStopped",
            "StoqConfigError",
            "StoqDuplicatePlugin",
            "StoqException",
            "StoqPluginException",
            "StoqPluginLoadError",
            "StoqPluginNotFound",
            "StoqPluginTimeout",
        ],
        "stoq.exceptions",
    ),
    "configure_logging": "stoq.log",
}


def __getattr__(name: str) -> "Any":
    """Import a public name from its module on first use, then keep it here."""
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'stoq' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> "List[str]":
    return sorted([*globals(), *_LOCATIONS])


__all__ = [
    "ArchiverResponse",
    "DecoratorResponse",
    "DeepDispatcherResponse",
    "DispatcherResponse",
    "Error",
    "ExtractedPayload",
    "Payload",
    "PayloadMeta",
    "PayloadResults",
    "ProviderStopped",
    "RequestMeta",
    "Stoq",
    "StoqConfigError",
    "StoqConfigParser",
    "StoqDuplicatePlugin",
    "StoqException",
    "StoqPluginException",
    "StoqPluginLoadError",
    "StoqPluginNotFound",
    "StoqPluginTimeout",
    "StoqResponse",
    "WorkerResponse",
    "__version__",
    "configure_logging",
]
