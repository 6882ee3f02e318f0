"""Exceptions raised by the core.

Each subclasses the built-in whose meaning it shares, so generic handlers still work::

    StoqException (Exception)
    ├── StoqConfigError (StoqException, ValueError)      bad configuration: names file, key, expectation
    ├── StoqPluginException (StoqException)              a plugin could not be used
    │   ├── StoqPluginNotFound (StoqPluginException, LookupError)
    │   ├── StoqPluginLoadError (StoqPluginException)    import or construction failed; cause chained
    │   └── StoqDuplicatePlugin (StoqPluginException)    one name, two sources
    └── StoqPluginTimeout (StoqException, TimeoutError)  a plugin call passed its deadline

    ProviderStopped (BaseException)                      run mode stopped: a provider's put refused
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Sequence


__all__ = [
    "ProviderStopped",
    "StoqConfigError",
    "StoqDuplicatePlugin",
    "StoqException",
    "StoqPluginException",
    "StoqPluginLoadError",
    "StoqPluginNotFound",
    "StoqPluginTimeout",
]


class StoqException(Exception):
    """Base of every exception the core raises."""


class StoqConfigError(StoqException, ValueError):
    """Configuration that cannot be used; the message names the file, key and expectation."""


class StoqPluginException(StoqException):
    """A plugin could not be used; ``plugin_name`` says which."""

    def __init__(self, message: str, plugin_name: Optional[str] = None) -> None:
        super().__init__(message)
        self.plugin_name = plugin_name


class StoqPluginNotFound(StoqPluginException, LookupError):
    """No installed entry point or plugin folder provides the name."""

    def __init__(self, plugin_name: str, close_matches: Sequence[str] = ()) -> None:
        hint = f"; did you mean {', '.join(close_matches)}?" if close_matches else ""
        super().__init__(f"plugin {plugin_name!r} is not installed{hint}", plugin_name)
        self.close_matches = list(close_matches)


class StoqPluginLoadError(StoqPluginException):
    """The plugin was found but importing or constructing it failed."""


class StoqDuplicatePlugin(StoqPluginException):
    """Two sources provide the same plugin name."""


class StoqPluginTimeout(StoqException, TimeoutError):
    """A plugin call ran past its deadline."""


class ProviderStopped(BaseException):
    """Raised by run mode's queue ``put`` once run mode has stopped: ends a provider's
    ``ingest`` (the item it offered is nacked when it is a ``Delivery``). A ``BaseException``,
    like ``GeneratorExit``, so that a provider's ``except Exception`` around its ``put`` does
    not keep it offering items nobody will take; clean up in ``finally``."""
