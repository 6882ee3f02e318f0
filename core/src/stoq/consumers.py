"""Run mode on every core: a pool of consumer processes, each with its own plugin instances.

The parent owns the providers and hands one item at a time to an idle consumer over that
consumer's own pipe, so it always knows what each consumer holds. A consumer that dies is
replaced, and the item it held is reported to the connectors as an error, never lost silently.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from stoq.data_classes import Error, Payload, RequestMeta, StoqResponse
from stoq.run import DONE, ItemSource, scan_item

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from stoq.core import Stoq

__all__ = ["ConsumerPool"]

log = logging.getLogger("stoq")

#: Seconds a consumer gets to finish after being told to stop, before it is terminated.
STOP_GRACE = 30.0


def _consumer_main(
    conn: Connection,
    init_kwargs: Dict[str, Any],
    logging_setup: Optional[Tuple[Any, ...]],
    request_meta: Optional[RequestMeta],
    add_start_dispatch: Optional[List[str]],
    add_start_deep_dispatch: Optional[List[str]],
) -> None:
    """A consumer: build a Stoq, scan each item received, report (had errors, connector failures)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    from stoq.core import Stoq
    from stoq.log import configure_logging

    if logging_setup is not None:
        configure_logging(*logging_setup)
    stoq = Stoq(**init_kwargs)
    try:
        while True:
            item = conn.recv()
            if item is None:
                return
            failures = stoq.connector_failures
            response = scan_item(
                stoq, item, request_meta, add_start_dispatch, add_start_deep_dispatch
            )
            conn.send((bool(response.errors), stoq.connector_failures - failures))
    finally:
        stoq.close()


def _describe(item: Any) -> Dict[str, Any]:
    """What is kept of an item in flight, to report it if its consumer dies."""
    if isinstance(item, Payload):
        return {
            "payload_id": item.payload_id,
            "size": len(item.content),
            "extra_data": item.payload_meta.extra_data,
        }
    return {"task": repr(item)[:200]}


@dataclass
class _Consumer:
    process: BaseProcess
    conn: Connection
    holding: Optional[Dict[str, Any]] = None


class ConsumerPool:
    """``consumers`` processes scanning the items an ItemSource yields."""

    def __init__(
        self,
        stoq: Stoq,
        request_meta: Optional[RequestMeta],
        add_start_dispatch: Optional[List[str]],
        add_start_deep_dispatch: Optional[List[str]],
    ) -> None:
        from stoq import log as stoq_log

        self._stoq = stoq
        self._request_meta = request_meta
        self._context = multiprocessing.get_context("spawn")
        logging_setup = (
            (stoq_log.configured_level(), stoq.settings.log_dir)
            if stoq_log.configured_level()
            else None
        )
        self._args = (
            stoq.init_kwargs,
            logging_setup,
            request_meta,
            add_start_dispatch,
            add_start_deep_dispatch,
        )

    def _start(self) -> _Consumer:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=_consumer_main, args=(child_end, *self._args), name="stoq-consumer", daemon=True
        )
        process.start()
        child_end.close()
        return _Consumer(process, parent_end)

    def run(self, source: ItemSource) -> None:
        consumers = [self._start() for _ in range(self._stoq.settings.consumers)]
        exhausted = False
        while True:
            stopping = self._stoq.stopping.is_set()
            busy = [c for c in consumers if c.holding is not None]
            if (stopping or exhausted) and not busy:
                break
            idle = [c for c in consumers if c.holding is None]
            while idle and not (stopping or exhausted):
                item = source.next_item(timeout=0 if busy else 0.1)
                if item is DONE:
                    exhausted = True
                elif item is not None:
                    consumer = idle.pop()
                    consumer.holding = _describe(item)
                    consumer.conn.send(item)
                    busy.append(consumer)
                    continue
                break
            wait([c.conn for c in busy] + [c.process.sentinel for c in consumers], timeout=0.1)
            consumers = [self._collect(c) for c in consumers]
        self._shutdown(consumers)

    def _collect(self, consumer: _Consumer) -> _Consumer:
        """Read a finished consumer's report, or replace a dead one; returns the live consumer."""
        if consumer.holding is not None and consumer.conn.poll():
            try:
                had_errors, connector_failures = consumer.conn.recv()
            except (EOFError, OSError):
                pass  # died while answering: handled below
            else:
                self._stoq.responses_with_errors += int(had_errors)
                self._stoq.connector_failures += connector_failures
                consumer.holding = None
        if consumer.process.is_alive():
            return consumer
        consumer.process.join()
        code = consumer.process.exitcode
        log.error(
            "consumer process %s died (exit code %s); starting another", consumer.process.pid, code
        )
        self._stoq.consumer_deaths += 1
        if consumer.holding is not None:
            self._report_lost(consumer, code)
        consumer.conn.close()
        return self._start()

    def _report_lost(self, consumer: _Consumer, code: Optional[int]) -> None:
        held = consumer.holding or {}
        error = Error(
            f"consumer process {consumer.process.pid} died (exit code {code}) while scanning this"
            f" item ({', '.join(f'{k}={v!r}' for k, v in held.items())})",
            None,
            held.get("payload_id"),
            "scan",
        )
        self._stoq.report_unscanned(StoqResponse([], self._request_meta or RequestMeta(), [error]))

    def _shutdown(self, consumers: List[_Consumer]) -> None:
        for consumer in consumers:
            with contextlib.suppress(OSError):  # includes BrokenPipeError: it already exited
                consumer.conn.send(None)
        for consumer in consumers:
            consumer.process.join(STOP_GRACE)
            if consumer.process.is_alive():
                consumer.process.terminate()
                consumer.process.join()
            consumer.conn.close()
