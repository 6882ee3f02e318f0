"""Per-call deadlines that fire on time and cost almost nothing on the hot path.

On the main thread (the CLI, consumer processes, most applications) a call arms a real-time
interval timer (``setitimer``): its ``SIGALRM`` interrupts blocking system calls
(``time.sleep``, a socket read) and raises ``DeadlinePassed`` in the plugin. Elsewhere, or
when the application owns ``SIGALRM``, one watchdog thread per process raises it inside the late
thread with ``PyThreadState_SetAsyncExc``, which lands when the thread next runs Python code.

What lands in the plugin is ``DeadlinePassed``, a ``BaseException`` like ``KeyboardInterrupt``:
a plugin's ``except Exception`` does not catch it. It is raised again every ``REFIRE`` seconds
until the call ends, so even a bare ``except:`` in a loop cannot hold the call for long.
Native code that never returns is stopped only by process isolation. The result of a call that
finishes late is discarded.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from stoq.exceptions import StoqPluginTimeout

__all__ = ["DeadlinePassed", "call_with_deadline"]

T = TypeVar("T")

#: How often the watchdog looks (seconds); a watchdog timeout fires at most this late.
POLL_INTERVAL = 0.05
#: After the deadline, the timeout is raised again this often until the call ends.
REFIRE = 0.1

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)


class DeadlinePassed(BaseException):
    """Raised inside a plugin call at its deadline; not an ``Exception``, so plugins' broad
    handlers let it through. ``call_with_deadline`` turns it into ``timed_out``."""


_lock = threading.Lock()
#: thread ident → [deadline, next time to raise]
_active: Dict[int, List[float]] = {}
_watchdog: Optional[threading.Thread] = None
#: True while a main-thread call has the interval timer armed.
_armed = False
_HAS_TIMER = hasattr(signal, "setitimer")


def _watch() -> None:
    while True:
        time.sleep(POLL_INTERVAL)
        now = time.monotonic()
        with _lock:
            for ident, entry in _active.items():
                if now > entry[1]:
                    entry[1] = now + REFIRE
                    _set_async_exc(ident, ctypes.py_object(DeadlinePassed))


def _ensure_watchdog() -> None:
    global _watchdog
    if _watchdog is None or not _watchdog.is_alive():
        _watchdog = threading.Thread(target=_watch, name="stoq-deadline-watchdog", daemon=True)
        _watchdog.start()


def _reset_after_fork() -> None:
    """A forked child has no watchdog thread, no calls in flight and no timer armed."""
    global _lock, _watchdog, _armed
    _lock = threading.Lock()
    _active.clear()
    _watchdog = None
    _armed = False


os.register_at_fork(after_in_child=_reset_after_fork)


def _on_alarm(signum: int, frame: Any) -> None:
    if _armed:
        raise DeadlinePassed


def _timer_usable() -> bool:
    """The interval timer serves this call: main thread, no call armed, SIGALRM not taken."""
    if not _HAS_TIMER or _armed or threading.current_thread() is not threading.main_thread():
        return False
    handler = signal.getsignal(signal.SIGALRM)
    if handler is _on_alarm:
        return True
    if handler is signal.SIG_DFL:
        signal.signal(signal.SIGALRM, _on_alarm)
        return True
    return False  # the application's own handler stays in charge of SIGALRM


def _disarm() -> None:
    """Stop the timer; a SIGALRM already pending may raise once more, so retry until done."""
    global _armed
    while True:
        try:
            _armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            return
        except DeadlinePassed:
            continue


def _with_timer(timeout: float, func: Callable[..., T], *args: Any) -> T:
    global _armed
    _armed = True
    signal.setitimer(signal.ITIMER_REAL, max(timeout, 1e-6), REFIRE)
    try:
        return func(*args)
    finally:
        _disarm()


def _with_watchdog(deadline: float, func: Callable[..., T], *args: Any) -> T:
    ident = threading.get_ident()
    entry = [deadline, deadline]
    with _lock:
        if _watchdog is None:
            _ensure_watchdog()
        _active[ident] = entry
    try:
        return func(*args)
    finally:
        while True:  # a timeout landing here must not leave the entry behind
            try:
                with _lock:
                    _active.pop(ident, None)
                break
            except DeadlinePassed:
                continue
        if entry[1] != deadline:  # fired: one may still be on its way; let it land here
            _land_pending()


def _land_pending() -> None:
    """Let a timeout the watchdog raised, but that has not landed yet, land and be dropped.

    It lands at the next loop back-edge. Cancelling it instead (``PyThreadState_SetAsyncExc``
    with NULL) leaves the interpreter's eval breaker set, and under a tracer (``coverage
    run``) the thread then spins forever on its next line: that was the coverage hang.
    """
    try:
        for _ in range(100):
            pass
    except DeadlinePassed:
        pass


def call_with_deadline(
    timeout: float, func: Callable[..., T], *args: Any
) -> Tuple[Optional[T], bool]:
    """Run ``func(*args)``; return ``(result, timed_out)``. Other exceptions propagate."""
    deadline = time.monotonic() + timeout
    try:
        if _timer_usable():
            result = _with_timer(timeout, func, *args)
        else:
            result = _with_watchdog(deadline, func, *args)
    except (DeadlinePassed, StoqPluginTimeout):
        return None, True
    if time.monotonic() > deadline:
        return None, True
    return result, False
