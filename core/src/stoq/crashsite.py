"""Which plugin call a consumer process is in, kept where its parent can still read it after
the process dies (a native crash, the kernel's out-of-memory killer, ``os._exit``).

Each consumer gets a small block of shared memory (``slot()``); ``invoke`` and the plugin
loader write ``"<plugin> <method>"`` into it around every plugin call and empty it after. When
a consumer dies, the parent reads the block and names that plugin in the lost item's Error,
where before it could only say that the process died. Two writes of a few bytes a call, and
none at all outside consumer processes (``current`` stays None there).
"""

from __future__ import annotations

from stoq.data_classes import Error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional, Tuple

    #: The ``(plugin, method)`` a consumer was calling when it died, or None.
    Where = Optional[Tuple[str, str]]

__all__ = ["current", "describe", "label", "last_call", "lost", "slot", "watch"]

#: Room for a plugin name and a method name.
SIZE = 256

#: This process's block, when it is a consumer (``watch``); None everywhere else.
current: Any = None


def slot(context: Any) -> Any:
    """A new block for one consumer, made with its multiprocessing ``context``."""
    import ctypes  # here: every scan imports this module, few make consumers

    return context.RawArray(ctypes.c_char, SIZE)


def watch(block: Any) -> None:
    """In a consumer process: record plugin calls in ``block``."""
    global current
    current = block


def label(plugin_name: str, method: str) -> bytes:
    """What a call writes: the plugin's name and method, cut to fit (the last byte stays 0)."""
    return f"{plugin_name} {method}".encode("utf-8", "replace")[: SIZE - 1]


def last_call(block: Any) -> Where:
    """``(plugin, method)`` the consumer was calling when it stopped, or None."""
    text = block.value.decode("utf-8", "replace")
    if not text:
        return None
    plugin, _, method = text.rpartition(" ")  # a method name has no space; a plugin's may
    return plugin, method


def describe(where: Where) -> str:
    """`` in plugin 'x' (scan)``, or nothing when no plugin call was under way."""
    return f" in plugin {where[0]!r} ({where[1]})" if where else ""


def lost(text: str, where: Where, payload_id: Optional[str] = None) -> Error:
    """The Error of an item whose consumer died: the plugin it died in is the Error's plugin."""
    return Error(text, where[0] if where else None, payload_id, "scan")
