"""Building a ``Stoq`` for a test: exactly the plugins and options it names, nothing else.

A developer's ``$STOQ_HOME/stoq.toml`` must not change what a test sees, so the instance is
built with ``STOQ_HOME`` pointing at an empty folder and no profile.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Mapping, Optional, Type

from stoq.core import Stoq
from stoq.plugins import BasePlugin

__all__ = ["make_stoq"]


@contextmanager
def _empty_stoq_home() -> Iterator[None]:
    """Point ``STOQ_HOME`` at an empty folder while the Stoq reads its configuration."""
    previous = os.environ.get("STOQ_HOME")
    with tempfile.TemporaryDirectory(prefix="stoq-testing-home-") as home:
        os.environ["STOQ_HOME"] = home
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("STOQ_HOME", None)
            else:
                os.environ["STOQ_HOME"] = previous


def make_stoq(
    plugins: Optional[Mapping[str, Type[BasePlugin]]] = None,
    plugin_opts: Optional[Mapping[str, Mapping[str, Any]]] = None,
    **stoq_kwargs: Any,
) -> Stoq:
    """A ``Stoq`` with no user configuration and no profile.

    ``plugins`` maps names to plugin classes that are built in place (no installation needed);
    any other name a test uses is loaded from its entry point as usual. ``plugin_opts`` maps
    plugin names to options; other keyword arguments go to ``Stoq`` unchanged.
    """
    stoq_kwargs.setdefault("profile", None)
    opts: Dict[str, Dict[str, Any]] = {k: dict(v) for k, v in (plugin_opts or {}).items()}
    with _empty_stoq_home():
        stoq = Stoq(plugin_opts=opts, **stoq_kwargs)
        stoq.plugins.is_available("")  # discover now: $STOQ_HOME/plugins is a plugin folder
    for name, plugin_class in (plugins or {}).items():
        if not (isinstance(plugin_class, type) and issubclass(plugin_class, BasePlugin)):
            raise TypeError(
                f"make_stoq(plugins=...): {name!r} maps to {plugin_class!r}, expected a"
                " subclass of stoq.plugins.BasePlugin"
            )
        stoq.plugins.build(name, plugin_class)
    return stoq
