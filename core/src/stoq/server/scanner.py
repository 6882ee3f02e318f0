"""Scans for the HTTP server, run in the core's consumer pool, never on the event loop.

One thread drives a :class:`~stoq.consumers.ConsumerPool` for the server's whole life: requests
put uploads on a queue, the pool's consumer processes scan them (so several requests use every
core and a slow scan holds one consumer, not the server), and each answer resolves the waiting
request's future on the event loop. A consumer killed by a plugin is replaced; its request gets
a stoQ response carrying the error, like every other failure. This module imports no web
framework: consumer processes import it to find the handler.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from stoq.crashsite import describe, lost
from stoq.data_classes import PayloadMeta, RequestMeta, StoqResponse
from stoq.log import get_logger
from stoq.serialize import dumps

if TYPE_CHECKING:
    from stoq.core import Stoq
    from stoq.crashsite import Where

__all__ = ["Scanner", "Upload", "scan_upload"]

log = get_logger("stoq.server")


@dataclass
class Upload:
    """One submitted file and what the submitter asked for (picklable: sent to a consumer)."""

    content: bytes
    filename: Optional[str] = None
    source: Optional[str] = None
    extra: Dict[str, str] = field(default_factory=dict)
    dispatch: List[str] = field(default_factory=list)
    deep_dispatch: List[str] = field(default_factory=list)

    def request_meta(self) -> RequestMeta:
        return RequestMeta(source=self.source, extra_data=dict(self.extra))


def scan_upload(stoq: Stoq, upload: Upload) -> str:
    """Runs in a consumer process: one request for one upload, returned as JSON text."""
    meta = PayloadMeta(extra_data={"filename": upload.filename} if upload.filename else {})
    response = stoq.scan(
        upload.content,
        meta,
        upload.request_meta(),
        upload.dispatch or None,
        upload.deep_dispatch or None,
    )
    return dumps(response)


def _lost(upload: Upload, exit_code: int, where: Where) -> str:
    """The response for an upload whose scan killed its consumer process (naming the plugin
    it died in, when it was in one)."""
    error = lost(
        f"the scan killed its consumer process (exit code {exit_code}){describe(where)};"
        " nothing was saved",
        where,
    )
    return dumps(StoqResponse(results=[], request_meta=upload.request_meta(), errors=[error]))


class Scanner:
    """The bridge between the event loop and a consumer pool running in its own thread."""

    def __init__(self, stoq: Stoq, consumers: int) -> None:
        self._stoq = stoq
        self._consumers = consumers
        self._queue: queue.Queue[Tuple[int, Upload]] = queue.Queue()
        self._waiting: Dict[int, Tuple[asyncio.AbstractEventLoop, asyncio.Future[str], Upload]] = {}
        self._keys = itertools.count()
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        from stoq.consumers import ConsumerPool, logging_setup, stoq_for

        shared = self._stoq.preload_plugins()
        pool = ConsumerPool(
            self._consumers, stoq_for(self._stoq), scan_upload, setup=logging_setup(), shared=shared
        )
        pool.start()  # before the pool's thread exists: the consumers can be forked
        self._thread = threading.Thread(
            target=self._drive, args=(pool,), name="stoq-server-pool", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Finish the scans already sent to consumers, then stop them."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    async def scan(self, upload: Upload) -> str:
        """The response JSON for ``upload``, scanned by the next free consumer."""
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the scanner is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        key = next(self._keys)
        self._waiting[key] = (loop, future, upload)
        self._queue.put((key, upload))
        return await future

    def _feed(self, timeout: float) -> Any:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def _drive(self, pool: Any) -> None:
        try:
            for key, text, exit_code in pool.process(self._feed, self._stopping.is_set):
                loop, future, upload = self._waiting.pop(key)
                answer = text if exit_code is None else _lost(upload, exit_code, text)
                loop.call_soon_threadsafe(_resolve, future, answer)
        except Exception:
            log.exception("the scanning pool stopped")
        for loop, future, _ in self._waiting.values():
            loop.call_soon_threadsafe(_fail, future)
        self._waiting.clear()


def _resolve(future: asyncio.Future[str], text: str) -> None:
    if not future.done():
        future.set_result(text)


def _fail(future: asyncio.Future[str]) -> None:
    if not future.done():
        future.set_exception(RuntimeError("the scanner stopped before this scan finished"))
