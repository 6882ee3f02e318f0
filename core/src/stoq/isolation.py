"""``isolation = "process"``: a plugin that runs in its own child process.

The only way to stop runaway native code (regex engines, decompressors, parsers) is to kill
the process it runs in. The engine talks to an ``IsolatedPlugin`` proxy that has the plugin's
roles; each call is sent to the child over a pipe. At the deadline the child is killed; past
``memory_limit`` (an address-space limit set in the child) its allocation fails and the child
is replaced. Either way the call becomes an Error and the next call gets a fresh child.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import traceback
from typing import Any, Dict, Optional, Tuple, Type

from stoq.config import StoqConfigParser
from stoq.exceptions import StoqPluginTimeout
from stoq.plugins import ROLES, BasePlugin, roles_of

__all__ = ["IsolatedPluginError", "isolated", "parse_size"]

log = logging.getLogger("stoq")

#: Seconds a child gets to import and start its plugin.
STARTUP_TIMEOUT = 120.0
#: Methods forwarded to the child, per role. ``ingest`` stays in the parent (it feeds a queue).
_FORWARDED = {
    "worker": ("scan",),
    "dispatcher": ("get_dispatches",),
    "deep_dispatcher": ("get_deep_dispatches",),
    "archiver": ("archive", "get"),
    "connector": ("save",),
    "decorator": ("decorate",),
}
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class IsolatedPluginError(Exception):
    """The isolated call failed in the child; the message is already ``Type: message``."""


def parse_size(value: Any) -> Optional[int]:
    """``memory_limit`` as bytes: an integer, or text such as ``512M`` / ``2GiB``."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip().lower().replace("ib", "").replace("b", "")
    number, unit = (text[:-1], text[-1]) if text and text[-1] in _UNITS else (text, "")
    try:
        return int(float(number) * _UNITS[unit])
    except ValueError:
        raise ValueError(
            f"memory_limit {value!r}: expected bytes, e.g. 536870912 or '512M'"
        ) from None


def _child_main(
    conn: Any,
    origin: Any,
    sections: Dict[str, Dict[str, str]],
    options: Dict[str, Any],
    memory_limit: Optional[int],
) -> None:
    """The child: build the plugin, then answer calls until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_limit:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    config = StoqConfigParser()
    config.read_dict(sections)
    try:
        instance = _resolve(origin)(config, options)
        instance.start()
    except Exception as exc:  # noqa: BLE001 - the parent reports it as a load error
        conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        return
    conn.send(("ok", None, ""))
    while True:
        message = conn.recv()
        if message is None:
            instance.stop()
            return
        method, args = message
        try:
            result = getattr(instance, method)(*args)
            conn.send(("ok", result, ""))
        except MemoryError:
            conn.send(("memory", None, ""))
            return
        except Exception as exc:  # noqa: BLE001 - the parent reports it as the call's error
            conn.send(
                ("error", " ".join(f"{type(exc).__name__}: {exc}".split()), traceback.format_exc())
            )


def _resolve(origin: Any) -> Type[BasePlugin]:
    """The plugin class in the child: pickled by reference, or re-imported from a v2 folder."""
    if isinstance(origin, tuple):
        from pathlib import Path

        from stoq.loader import import_folder_module, plugin_class_in

        name, stoq_file, module = origin
        return plugin_class_in(import_folder_module(name, Path(stoq_file), module), name)
    plugin_class: Type[BasePlugin] = origin
    return plugin_class


class _IsolatedBase:
    """Holds the child process and forwards calls to it."""

    isolated = True

    def __init__(
        self, config: StoqConfigParser, options: Dict[str, Any], origin: Any, timeout: float
    ) -> None:
        BasePlugin.__init__(self, config, options)  # type: ignore[arg-type]
        self._origin = origin
        self._sections = {s: dict(config.items(s)) for s in config.sections()}
        self._timeout = timeout
        self._memory_limit = parse_size(options.get("memory_limit"))
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._conn: Any = None

    def start(self) -> None:
        self._spawn()

    def stop(self) -> None:
        if self._process is not None and self._process.is_alive():
            try:
                self._conn.send(None)
                self._process.join(5)
            except (BrokenPipeError, OSError):
                pass
        self._discard()

    def _spawn(self) -> None:
        parent_end, child_end = self._context.Pipe()
        options = dict(self.plugin_opts)  # type: ignore[attr-defined]
        self._process = self._context.Process(
            target=_child_main,
            args=(child_end, self._origin, self._sections, options, self._memory_limit),
            name=f"stoq-isolated-{self.plugin_name}",  # type: ignore[attr-defined]
            daemon=True,
        )
        self._process.start()
        child_end.close()
        self._conn = parent_end
        self._receive(STARTUP_TIMEOUT, "starting")

    def _discard(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._conn.close()
        self._process = self._conn = None

    def _receive(self, timeout: float, what: str) -> Any:
        if not self._conn.poll(timeout):
            self._discard()
            raise StoqPluginTimeout(f"isolated process killed after {timeout:g}s while {what}")
        try:
            kind, value, trace = self._conn.recv()
        except (EOFError, OSError):
            self._process.join(1)
            code = self._process.exitcode
            self._discard()
            raise IsolatedPluginError(
                f"isolated process died (exit code {code}) while {what}"
            ) from None
        if kind == "memory":
            self._discard()
            raise MemoryError(f"memory_limit {self._memory_limit} bytes exceeded; process replaced")
        if kind == "error":
            log.error("isolated plugin %r failed while %s:\n%s", self.plugin_name, what, trace)  # type: ignore[attr-defined]
            raise IsolatedPluginError(value)
        return value

    def _call(self, method: str, *args: Any) -> Any:
        if self._process is None or not self._process.is_alive():
            self._discard()
            self._spawn()
        self._conn.send((method, args))
        return self._receive(self._timeout, f"calling {method}")


def isolated(
    plugin_class: Type[BasePlugin],
    origin: Any,
    config: StoqConfigParser,
    options: Dict[str, Any],
    timeout: float,
) -> BasePlugin:
    """A proxy with ``plugin_class``'s roles whose calls run in a child process."""
    roles = [r for r in roles_of(plugin_class) if r != "provider"]
    methods: Dict[str, Any] = {}
    for role in roles:
        for name in _FORWARDED[role]:
            methods[name] = (lambda method: lambda self, *args: self._call(method, *args))(name)
    bases: Tuple[type, ...] = (_IsolatedBase, *(ROLES[r] for r in roles))
    proxy_class = type(f"Isolated{plugin_class.__name__}", bases, methods)
    return proxy_class(config, options, origin, timeout)  # type: ignore[no-any-return]
