"""A pool of consumer processes, each with its own ``Stoq`` and plugin instances.

Run mode (``Stoq.run`` with ``consumers > 1``) and ``stoq scan -j N`` both use it. The parent
hands one item at a time to an idle consumer over that consumer's own pipe, so it always knows
what each consumer holds: a consumer that dies is replaced, and the item it held comes back as
lost (with the exit code) instead of vanishing or hanging the pool.

A consumer reads its next item from the pipe when it has answered the last; meanwhile the next
one waits there, sent ahead while the consumer scans, unless it is too large for the pipe to
hold (``_Consumer.ahead``): such an item goes to a consumer with nothing in hand, which reads it
at once, so the parent never blocks sending it.
"""

from __future__ import annotations

import contextlib
import faulthandler
import multiprocessing
import os
import selectors
import signal
import socket
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Deque,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
)

from stoq import crashsite, metrics
from stoq.deadline import fork_safe_threads
from stoq.log import get_logger
from stoq.plugins import BasePlugin
from stoq.stdout import protect, protected

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from stoq.core import Stoq

__all__ = ["DONE", "ConsumerPool", "Handler"]

log = get_logger("stoq")

#: Returned by a feed when no item will ever come again.
DONE = object()
#: Items sent to each consumer ahead of its answers, so it never waits on the parent. A stop
#: finishes what was sent: the item being scanned and the one queued behind it.
PREFETCH = 2
#: The send buffer asked for each consumer's pipe (the system may grant less): what it holds
#: is how large an item may be to wait there while the consumer scans.
PIPE_BUFFER = 1024 * 1024
#: Seconds a consumer gets to finish its item after being told to stop, before it is killed.
STOP_GRACE = 30.0

#: ``handler(stoq, item, *handler_args)`` runs in the consumer; its (picklable) return value
#: goes back to the parent. It must be a module-level function.
Handler = Callable[..., Any]
#: A function and its arguments, run first in each consumer (e.g. logging set-up).
Setup = Tuple[Callable[..., None], Tuple[Any, ...]]
#: ``(key, result, None)`` for an answered item, ``(key, where, exit_code)`` for a lost one:
#: ``where`` is the ``(plugin, method)`` its consumer was calling when it died, or None.
Event = Tuple[Any, Any, Optional[int]]
#: What the parent's feed returns: ``(key, item)``, ``None`` (nothing yet) or ``DONE``.
Feed = Callable[[float], Any]
#: Plugins the parent started that a forked consumer adopts: ``{name: (instance, deadline)}``
#: (``Stoq.preload_plugins``).
Shared = Mapping[str, Tuple[BasePlugin, float]]


def _consumer_main(
    conn: Connection,
    site: Any,
    factory: Callable[..., Stoq],
    init_kwargs: Dict[str, Any],
    shared: Shared,
    protect_stdout: bool,
    setup: Optional[Setup],
    handler: Handler,
    handler_args: Tuple[Any, ...],
) -> None:
    """A consumer: build a Stoq (with the plugins the parent started, when forked), run
    ``handler`` on each item received, send back its result."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    # A parent running an event loop (the HTTP server) has a signal wakeup fd: a signal in the
    # consumer (the deadline's SIGALRM) must not be written to the parent's loop.
    signal.set_wakeup_fd(-1)
    crashsite.watch(site)
    faulthandler.enable()  # a native crash prints the Python stack (the plugin's line) on stderr
    if protect_stdout:
        protect()
    if setup is not None:
        setup[0](*setup[1])
    stoq = factory(**init_kwargs)
    stoq.plugins.adopt(shared)
    try:
        while True:
            item = _next(conn)
            if item is None:
                return
            conn.send(handler(stoq, item, *handler_args))
    finally:
        stoq.close()


def _next(conn: Connection) -> Any:
    """The next item, read when the last one is done (None: the parent is gone)."""
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


def _start_method() -> Any:
    """Fork while this process has a single thread: the consumer inherits every module already
    imported (plugins included) and starts in milliseconds. With other threads running (run
    mode's providers, a library's native threads), forking could copy a lock in a held state,
    so spawn a fresh interpreter instead. The deadline watchdog does not count: it is safe to
    fork. (Run mode's parent has one from loading its providers; spawning its two consumers
    cost ~0.25 s of CPU more than forking them: every import and plugin start again.)
    """
    try:
        tasks = {int(task) for task in os.listdir("/proc/self/task")}  # native threads too
    except OSError:  # not Linux
        return multiprocessing.get_context("spawn")
    single = len(tasks - fork_safe_threads()) == 1
    return multiprocessing.get_context("fork" if single else "spawn")


class _Consumer:
    """One consumer process and its pipe (a plain class: ``dataclasses`` imports ``inspect``,
    ~30M instructions of the parent's start)."""

    __slots__ = ("ahead", "conn", "inflight", "process", "site")

    def __init__(self, process: BaseProcess, conn: Connection, site: Any) -> None:
        self.process = process
        self.conn = conn
        #: The plugin call it is in (``stoq.crashsite``), readable after it dies.
        self.site = site
        #: ``(key, item)`` sent and not yet answered, oldest (the one being scanned) first.
        self.inflight: Deque[Tuple[Any, Any]] = deque()
        #: The largest pickled item sent ahead of its answers: half what the pipe holds.
        self.ahead = _pipe_capacity(conn) // 2


def _pipe_capacity(conn: Connection) -> int:
    """Bytes the parent's end of a consumer's pipe (a Unix socket) takes without a reader:
    its send buffer, raised to PIPE_BUFFER where the system allows (Linux: 208 KiB unless
    ``net.core.wmem_max`` is higher). 8 KiB if it cannot be read."""
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as end:
            with contextlib.suppress(OSError):
                end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, PIPE_BUFFER)
            return int(end.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
    except OSError:
        return 8192


class ConsumerPool:
    """``size`` consumer processes running ``handler`` on the items a feed yields."""

    def __init__(
        self,
        size: int,
        init: Tuple[Callable[..., Stoq], Dict[str, Any]],
        handler: Handler,
        handler_args: Tuple[Any, ...] = (),
        setup: Optional[Setup] = None,
        shared: Optional[Shared] = None,
    ) -> None:
        self._size = size
        self._init = init
        self._shared = shared or {}
        self._args = (protected(), setup, handler, handler_args)
        #: Items sent to a consumer that died before starting them: they go out again first.
        self._retry: Deque[Tuple[Any, Any]] = deque()
        #: An item taken from the feed, pickled, too large to wait behind a busy consumer's
        #: item: it goes to the next consumer with nothing in hand.
        self._held: Optional[Tuple[Tuple[Any, Any], memoryview]] = None
        #: Consumers that died and were replaced.
        self.deaths = 0
        #: Consumers started ahead of ``process`` (``start``).
        self._early: List[_Consumer] = []

    def start(self) -> None:
        """Start the consumer processes now, from the calling thread. A caller that will run
        ``process`` in a thread of its own (the HTTP server) calls this first, while its
        process may still have one thread: the consumers are then forked and inherit the
        plugins started before (``shared``) instead of being spawned to import and start
        everything again. Consumers that replace dead ones are started from ``process``."""
        while len(self._early) < self._size:
            self._early.append(self._start())

    def _start(self) -> _Consumer:
        context = _start_method()
        shared = self._shared if context.get_start_method() == "fork" else {}
        parent_end, child_end = context.Pipe()
        site = crashsite.slot(context)
        process = context.Process(
            target=_consumer_main,
            args=(child_end, site, *self._init, shared, *self._args),
            name="stoq-consumer",
            daemon=True,
        )
        process.start()
        child_end.close()
        return _Consumer(process, parent_end, site)

    def process(self, feed: Feed, stopping: Callable[[], bool] = lambda: False) -> Iterator[Event]:
        """Yield ``(key, result, None)`` per item, or ``(key, where, exit_code)`` if it was lost
        (``where``: the plugin call its consumer died in, or None).

        Ends when the feed returns ``DONE`` and every item is answered, or when ``stopping()``
        turns true (items already sent are still answered). Consumers stop when it ends.

        One selector, kept for the pool's life, watches every consumer's pipe and exit
        sentinel: building one per wait (``multiprocessing.connection.wait``, and again in each
        ``Connection.poll``) and asking every consumer ``is_alive()`` per answer cost the parent
        ~0.7M instructions per item, as much as ~2 % of the scan itself.
        """
        self.start()
        early, self._early = self._early, []
        selector = selectors.DefaultSelector()
        consumers = [self._watch(selector, consumer) for consumer in early]
        exhausted = False
        try:
            while True:
                halt = stopping() or exhausted
                busy = any(c.inflight for c in consumers)
                if halt and not busy and not self._taken():
                    return
                ended = set()
                for consumer in consumers:
                    while len(consumer.inflight) < PREFETCH and (self._taken() or not halt):
                        entry = self._next(feed, 0 if busy else 0.1)
                        if entry is None or entry is DONE:
                            exhausted = halt = exhausted or entry is DONE
                            break
                        (key, item), message = entry
                        if consumer.inflight and len(message) > consumer.ahead:
                            self._held = entry  # it would fill the pipe: wait for an idle one
                            break
                        consumer.inflight.append((key, item))
                        busy = True
                        if not self._send(consumer, message):
                            ended.add(consumer)
                            break
                events: List[Event] = []
                ready = selector.select(0.1)
                for key, _ in ready:
                    consumer = key.data
                    if key.fileobj is not consumer.conn or not self._answer(consumer, events):
                        ended.add(consumer)  # exited, or its pipe broke
                if not ready:  # a process of its own may hold its pipes open: ask the system
                    ended.update(c for c in consumers if not c.process.is_alive())
                consumers = [
                    self._replace(selector, c, events) if c in ended else c for c in consumers
                ]
                yield from events
        finally:
            selector.close()
            self._shutdown(consumers)

    def _taken(self) -> bool:
        """Whether items taken from the feed wait to be sent (they go out even at a stop)."""
        return bool(self._retry) or self._held is not None

    def _next(self, feed: Feed, timeout: float) -> Any:
        """``((key, item), pickled item)`` to send next: an item held back, one a dead
        consumer never started, else the feed's (``None`` or ``DONE`` as the feed says)."""
        if self._held is not None:
            entry, self._held = self._held, None
            return entry
        entry = self._retry.popleft() if self._retry else feed(timeout)
        if entry is None or entry is DONE:
            return entry
        return entry, ForkingPickler.dumps(entry[1])

    @staticmethod
    def _watch(selector: selectors.BaseSelector, consumer: _Consumer) -> _Consumer:
        selector.register(consumer.conn, selectors.EVENT_READ, consumer)
        selector.register(consumer.process.sentinel, selectors.EVENT_READ, consumer)
        return consumer

    @staticmethod
    def _send(consumer: _Consumer, message: memoryview) -> bool:
        """Send a pickled item; False if the consumer died since its last answer (a broken
        pipe). The item stays in ``inflight``: the replacement gets it, like every item sent
        and not started."""
        try:
            consumer.conn.send_bytes(message)
        except OSError:
            return False
        return True

    @staticmethod
    def _answer(consumer: _Consumer, events: List[Event]) -> bool:
        """Take one answer from a consumer whose pipe is readable; False if the pipe ended."""
        try:
            result = consumer.conn.recv()
        except (EOFError, OSError):
            return False
        events.append((consumer.inflight.popleft()[0], result, None))
        return True

    def _replace(
        self, selector: selectors.BaseSelector, consumer: _Consumer, events: List[Event]
    ) -> _Consumer:
        """A consumer that exited (or whose pipe broke) gives its last answers, and is replaced."""
        while consumer.inflight and consumer.conn.poll() and self._answer(consumer, events):
            pass  # answers it sent before it died
        consumer.process.join(STOP_GRACE)
        if consumer.process.is_alive():  # its pipe broke, so it can no longer answer
            consumer.process.kill()
            consumer.process.join()
        code = consumer.process.exitcode
        where = crashsite.last_call(consumer.site)
        log.error(
            "consumer process %s died (exit code %s)%s; starting another",
            consumer.process.pid,
            code,
            crashsite.describe(where),
        )
        self.deaths += 1
        if metrics.enabled():
            metrics.consumer_restarted()
        if consumer.inflight:
            events.append((consumer.inflight.popleft()[0], where, code))
            self._retry.extendleft(reversed(consumer.inflight))  # sent, never started
        selector.unregister(consumer.conn)
        selector.unregister(consumer.process.sentinel)
        consumer.conn.close()
        return self._watch(selector, self._start())

    def _shutdown(self, consumers: List[_Consumer]) -> None:
        for consumer in consumers:
            with contextlib.suppress(OSError):  # a consumer that just died has no pipe
                consumer.conn.send(None)
        for consumer in consumers:
            consumer.process.join(STOP_GRACE)
            if consumer.process.is_alive():
                consumer.process.kill()
                consumer.process.join()
            consumer.conn.close()


def logging_setup() -> Optional[Setup]:
    """Repeat the parent's ``configure_logging`` in consumers (None if it was never called)."""
    from stoq.log import configure_logging, configured, log_format

    settings = configured()
    return (configure_logging, (*settings, log_format())) if settings is not None else None


def stoq_for(stoq: Stoq) -> Tuple[Callable[..., Stoq], Dict[str, Any]]:
    """What rebuilds ``stoq`` in another process: its class, its resolved settings and options.

    The settings are the one place role lists live, so a list changed after construction
    (``stoq.always_dispatch = [...]``) reaches every consumer.
    """
    kwargs: Dict[str, Any] = dict(stoq.settings.as_dict())
    kwargs.update(
        base_dir=stoq.base_dir,
        config_file=str(stoq.config.path) if stoq.config.path else None,
        plugin_opts=stoq.plugin_opts,
        profile=None,
    )
    return type(stoq), kwargs
