"""Per-call deadlines that cost almost nothing on the hot path.

A call registers ``(thread, deadline)`` in a dict under a lock — no thread hand-off, no
signal. One watchdog thread per process checks the dict a few times a second and, when a
deadline has passed, raises ``StoqPluginTimeout`` inside the late thread with
``PyThreadState_SetAsyncExc``. That stops Python code; a call stuck in native code is caught
when it returns (and its result discarded). Stopping native code needs process isolation.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from stoq.exceptions import StoqPluginTimeout

__all__ = ["call_with_deadline"]

T = TypeVar("T")

#: How often the watchdog looks (seconds); a timeout fires at most this late.
POLL_INTERVAL = 0.05

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)

_lock = threading.Lock()
#: thread ident → [deadline, fired]
_active: Dict[int, List[Any]] = {}
_watchdog: Optional[threading.Thread] = None


def _watch() -> None:
    while True:
        time.sleep(POLL_INTERVAL)
        now = time.monotonic()
        with _lock:
            for ident, entry in _active.items():
                if not entry[1] and now > entry[0]:
                    entry[1] = True
                    _set_async_exc(ident, ctypes.py_object(StoqPluginTimeout))


def _ensure_watchdog() -> None:
    global _watchdog
    if _watchdog is None or not _watchdog.is_alive():
        _watchdog = threading.Thread(target=_watch, name="stoq-deadline-watchdog", daemon=True)
        _watchdog.start()


def _reset_after_fork() -> None:
    """A forked child has no watchdog thread and no calls in flight."""
    global _lock, _watchdog
    _lock = threading.Lock()
    _active.clear()
    _watchdog = None


os.register_at_fork(after_in_child=_reset_after_fork)


def call_with_deadline(
    timeout: float, func: Callable[..., T], *args: Any
) -> Tuple[Optional[T], bool]:
    """Run ``func(*args)``; return ``(result, timed_out)``. Other exceptions propagate."""
    ident = threading.get_ident()
    deadline = time.monotonic() + timeout
    entry = [deadline, False]
    try:
        with _lock:
            if _watchdog is None:
                _ensure_watchdog()
            _active[ident] = entry
        try:
            result = func(*args)
        finally:
            with _lock:
                _active.pop(ident, None)
                if entry[1]:  # fired: cancel the exception if it has not landed yet
                    _set_async_exc(ident, ctypes.py_object())
    except StoqPluginTimeout:
        return None, True
    if time.monotonic() > deadline:
        return None, True
    return result, False
