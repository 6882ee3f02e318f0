"""Per-call deadlines that fire on time and cost almost nothing on the hot path.

A call registers ``(thread, deadline)`` in a dict (one atomic assignment) and removes it under
a lock: no system call, no thread hand-off. One watchdog thread per process checks the dict a
few times a second. When a call on
the main thread is late (the CLI, consumer processes, most applications), it sends that thread
``SIGALRM`` (``pthread_kill``): the signal interrupts a blocking system call (``time.sleep``, a
socket read) and its handler raises ``DeadlinePassed`` in the plugin. A late call on another
thread, or when the application owns ``SIGALRM``, gets ``DeadlinePassed`` through
``PyThreadState_SetAsyncExc``, which lands when the thread next runs Python code.

``DeadlinePassed`` is a ``BaseException`` like ``KeyboardInterrupt``: a plugin's ``except
Exception`` does not catch it. It is raised again every ``REFIRE`` seconds until the call ends,
so even a bare ``except:`` in a loop cannot hold the call for long. Python swallows an
exception raised in a finalizer (``__del__``, a weakref callback) and hands it to
``sys.unraisablehook``; ours raises a swallowed timeout again as soon as the finalizer
returns, so a plugin whose work runs in finalizers still stops on time. Native code that never
returns is stopped only by process isolation. The result of a call that finishes late is
discarded.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import threading
import time

from stoq.exceptions import StoqPluginTimeout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Set, Tuple, TypeVar

    T = TypeVar("T")

__all__ = ["DeadlinePassed", "call_with_deadline", "fork_safe_threads"]


#: How often the watchdog looks (seconds); a timeout fires at most this late.
POLL_INTERVAL = 0.05
#: After the deadline, the timeout is raised again this often until the call ends.
REFIRE = 0.1

_get_ident, _monotonic = threading.get_ident, time.monotonic
_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)


class DeadlinePassed(BaseException):
    """Raised inside a plugin call at its deadline; not an ``Exception``, so plugins' broad
    handlers let it through. ``call_with_deadline`` turns it into ``timed_out``."""


_lock = threading.Lock()
#: thread ident → [deadline, next time to raise]
_active: Dict[int, List[float]] = {}
_watchdog: Optional[threading.Thread] = None
_main_ident = threading.main_thread().ident
#: Whether this process's SIGALRM handler is ours (decided on the first main-thread call).
_alarm_ours = False
_alarm_checked = False


def _on_alarm(signum: int, frame: Any) -> None:
    """Raise in the main thread's call if it is past its deadline (a stray signal is ignored)."""
    entry = _active.get(threading.get_ident())
    if entry is not None and time.monotonic() > entry[0]:
        raise DeadlinePassed


def _take_alarm() -> None:
    """Install the SIGALRM handler, unless the application has its own (then: async exc)."""
    global _alarm_ours, _alarm_checked
    _alarm_checked = True
    if not hasattr(signal, "pthread_kill"):  # pragma: no cover - not on Linux or macOS
        return
    handler = signal.getsignal(signal.SIGALRM)
    if handler is signal.SIG_DFL:
        signal.signal(signal.SIGALRM, _on_alarm)
        handler = _on_alarm
    _alarm_ours = handler is _on_alarm


def _unraisable(previous: Callable[[Any], Any], unraisable: Any) -> None:
    """``sys.unraisablehook``: a timeout swallowed by a finalizer of a call still running is
    raised again once the finalizer has returned (see ``_raise_after_hook``); anything else
    goes to the hook that was there before."""
    if not issubclass(unraisable.exc_type, DeadlinePassed):
        previous(unraisable)
    elif threading.get_ident() in _active and sys.getprofile() is None:
        sys.setprofile(_raise_after_hook)


def _raise_after_hook(frame: Any, event: str, arg: Any) -> None:
    """One-shot profile function: raise the timeout at the thread's first call, C call or
    return outside the hook. That is in the plugin's own code, or in its next finalizer,
    which is cut short at its first line and comes back through the hook."""
    if frame.f_code is _unraisable.__code__:
        return
    sys.setprofile(None)
    if threading.get_ident() in _active:
        raise DeadlinePassed


def _fire(ident: int) -> None:
    if not hasattr(sys.unraisablehook, "stoq_deadline"):  # installed (again) lazily
        hook = functools.partial(_unraisable, sys.unraisablehook)
        hook.stoq_deadline = True  # type: ignore[attr-defined]
        sys.unraisablehook = hook
    if ident == _main_ident and _alarm_ours and signal.getsignal(signal.SIGALRM) is _on_alarm:
        signal.pthread_kill(ident, signal.SIGALRM)
    else:
        _set_async_exc(ident, ctypes.py_object(DeadlinePassed))


def _watch() -> None:
    while True:
        time.sleep(POLL_INTERVAL)
        now = time.monotonic()
        with _lock:
            # Calls register without the lock, so read a copy (dict.copy is atomic). A call
            # leaves only under the lock: an entry still there is a call still in flight.
            for ident, entry in _active.copy().items():
                if now > entry[1] and _active.get(ident) is entry:
                    entry[1] = now + REFIRE
                    _fire(ident)


def _reset_after_fork() -> None:
    """A forked child has no watchdog thread and no calls in flight; its forking thread is
    its main thread."""
    global _lock, _watchdog, _main_ident
    _lock = threading.Lock()
    _active.clear()
    _watchdog = None
    _main_ident = threading.get_ident()


os.register_at_fork(after_in_child=_reset_after_fork)


def fork_safe_threads() -> Set[int]:
    """Native ids of this module's threads that a fork may copy: the watchdog holds no lock
    another thread needs, and the child gets a fresh lock and no watchdog (``_reset_after_fork``)."""
    watchdog = _watchdog
    if watchdog is None or not watchdog.is_alive() or watchdog.native_id is None:
        return set()
    return {watchdog.native_id}


def _start_watchdog() -> None:
    global _watchdog
    _watchdog = threading.Thread(target=_watch, name="stoq-deadline-watchdog", daemon=True)
    _watchdog.start()


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


def _prepare(ident: int) -> None:
    """The first call in this process starts the watchdog; the first on the main thread
    decides whose SIGALRM it is."""
    if not _alarm_checked and ident == _main_ident:
        _take_alarm()
    with _lock:
        if _watchdog is None:
            _start_watchdog()


def call_with_deadline(
    timeout: float, func: Callable[..., T], *args: Any
) -> Tuple[Optional[T], bool]:
    """Run ``func(*args)``; return ``(result, timed_out)``. Other exceptions propagate."""
    ident = _get_ident()
    deadline = _monotonic() + timeout
    entry = [deadline, deadline]
    if _watchdog is None or (not _alarm_checked and ident == _main_ident):
        _prepare(ident)
    try:
        # One assignment, atomic under the GIL: the watchdog reads a copy of the dict. Leaving
        # takes the lock, so that the watchdog never fires at a call that has returned.
        _active[ident] = entry
        try:
            result = func(*args)
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
    except (DeadlinePassed, StoqPluginTimeout):
        return None, True
    if _monotonic() > deadline:
        return None, True
    return result, False
