"""``isolation = "process"``: a plugin that runs in its own child process.

The only way to stop runaway native code (regex engines, decompressors, parsers) is to kill
the process it runs in. The engine talks to an ``IsolatedPlugin`` proxy that has the plugin's
roles; each call is sent to the child over a pipe. At the deadline the child is killed; past
``memory_limit`` (an address-space limit set in the child) its allocation fails and the child
is replaced. Either way the call becomes an Error and the next call gets a fresh child.

The child leads its own session (process group), and the whole group is killed: processes the
plugin started itself cannot outlive its deadline and hold the parent's output pipes open.
When the parent keeps standard output for responses (``stoq.stdout``), the child's file
descriptor 1 is its standard error, native code's output included, unless the plugin is a
connector that writes responses there.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import traceback
from typing import Any, Dict, Optional, Tuple, Type

from stoq.config import StoqConfigParser
from stoq.deadline import call_with_deadline
from stoq.exceptions import StoqPluginTimeout
from stoq.log import get_logger
from stoq.options import CoreOptions
from stoq.plugins import ROLES, BasePlugin, roles_of
from stoq.stdout import protected

__all__ = ["IsolatedPluginError", "isolated"]

log = get_logger("stoq")

#: Seconds a child gets to start an interpreter and import its plugin, before the plugin's
#: ``start()`` gets its own deadline.
SPAWN_ALLOWANCE = 30.0
#: Methods forwarded to the child, per role. ``ingest`` stays in the parent (it feeds a queue).
_FORWARDED = {
    "worker": ("scan",),
    "dispatcher": ("get_dispatches",),
    "deep_dispatcher": ("get_deep_dispatches",),
    "archiver": ("archive", "get"),
    "connector": ("save",),
    "decorator": ("decorate",),
}


class IsolatedPluginError(Exception):
    """The isolated call failed in the child; the message is already ``Type: message``."""


def hard_memory_limit() -> Optional[int]:
    """The hard address-space limit this process inherited (``ulimit -Hv``); None if none."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    return None if hard == resource.RLIM_INFINITY else hard


def _child_main(
    conn: Any,
    origin: Any,
    sections: Dict[str, Dict[str, str]],
    options: Dict[str, Any],
    memory_limit: Optional[int],
    timeout: float,
    stdout_to_stderr: bool,
) -> None:
    """The child: build the plugin, then answer calls until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setsid()  # its own process group: the parent kills the plugin's children with it
    if stdout_to_stderr:
        os.dup2(2, 1)
    config = StoqConfigParser()
    config.read_dict(sections)
    try:
        if memory_limit:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        instance = _resolve(origin)(config, options)
        _, timed_out = call_with_deadline(timeout, instance.start)
        if timed_out:
            raise StoqPluginTimeout(f"start() did not finish within {timeout:g}s")
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the parent reports a load error
        conn.send(
            ("error", " ".join(f"{type(exc).__name__}: {exc}".split()), traceback.format_exc())
        )
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
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported as the call's error
            conn.send(
                ("error", " ".join(f"{type(exc).__name__}: {exc}".split()), traceback.format_exc())
            )


def _resolve(origin: Any) -> Type[BasePlugin]:
    """The plugin class in the child: pickled by reference, or a picklable function that
    returns it (a v2 plugin folder's module is imported again from its file)."""
    plugin_class: Type[BasePlugin] = origin if isinstance(origin, type) else origin()
    return plugin_class


class _IsolatedBase:
    """Holds the child process and forwards calls to it."""

    isolated = True

    def __init__(
        self, config: StoqConfigParser, options: Dict[str, Any], origin: Any, core: CoreOptions
    ) -> None:
        BasePlugin.__init__(self, config, options)  # type: ignore[arg-type]
        self._origin = origin
        self._sections = {s: dict(config.items(s)) for s in config.sections()}
        self._timeout = core.timeout
        self._memory_limit = core.memory_limit
        hard = hard_memory_limit() if core.memory_limit else None
        if hard is not None and core.memory_limit is not None and core.memory_limit > hard:
            raise ValueError(
                f"memory_limit {core.memory_limit} bytes is above the hard address-space limit"
                f" of {hard} bytes this process inherited (ulimit -Hv); lower memory_limit or"
                " raise the hard limit"
            )
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
            args=(
                child_end,
                self._origin,
                self._sections,
                options,
                self._memory_limit,
                self._timeout,
                protected() and not getattr(self, "writes_stdout", False),
            ),
            name=f"stoq-isolated-{self.plugin_name}",  # type: ignore[attr-defined]
            daemon=True,
        )
        self._process.start()
        child_end.close()
        self._conn = parent_end
        self._receive(SPAWN_ALLOWANCE + self._timeout, "starting")

    def _discard(self) -> None:
        if self._process is not None:
            # the child's whole session: the plugin's own children die with it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
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
        with contextlib.suppress(OSError):  # it died since: the pipe's end says how, below
            self._conn.send((method, args))
        return self._receive(self._timeout, f"calling {method}")


def isolated(
    plugin_class: Type[BasePlugin],
    origin: Any,
    config: StoqConfigParser,
    options: Dict[str, Any],
    core: CoreOptions,
) -> BasePlugin:
    """A proxy with ``plugin_class``'s roles whose calls run in a child process."""
    roles = [r for r in roles_of(plugin_class) if r != "provider"]
    namespace: Dict[str, Any] = {}
    for role in roles:
        for name in _FORWARDED[role]:
            namespace[name] = (lambda method: lambda self, *args: self._call(method, *args))(name)
    if "connector" in roles:  # a connector printing responses prints them from the child
        namespace["writes_stdout"] = getattr(plugin_class, "writes_stdout", False)
    bases: Tuple[type, ...] = (_IsolatedBase, *(ROLES[r] for r in roles))
    proxy_class = type(f"Isolated{plugin_class.__name__}", bases, namespace)
    return proxy_class(config, options, origin, core)  # type: ignore[no-any-return]
