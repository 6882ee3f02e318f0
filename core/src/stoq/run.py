"""Run mode: providers in threads feed a bounded queue; each item is scanned as a request.

With ``consumers == 1`` items are scanned in this process; with more, a pool of consumer
processes (``stoq.consumers``) scans them, each with its own plugin instances.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from stoq.consumers import DONE, ConsumerPool, logging_setup, stoq_for
from stoq.data_classes import Error, Payload, RequestMeta, StoqResponse
from stoq.invoke import invoke
from stoq.plugins import ArchiverPlugin, ProviderPlugin

if TYPE_CHECKING:
    from stoq.core import Stoq

__all__ = ["ItemSource", "run_providers", "scan_item"]

log = logging.getLogger("stoq")

#: Put on the queue by each provider thread when its ``ingest`` returns or fails.
_PROVIDER_DONE = object()


def _to_payload(stoq: Stoq, item: Any, errors: List[Error]) -> Optional[Payload]:
    """A provider item is a Payload, or ``{source_archiver: task}`` resolved through ``get``."""
    if isinstance(item, Payload):
        return item
    if isinstance(item, dict) and len(item) == 1:
        ((name, task),) = item.items()
        call = stoq.call_for(errors, name, ArchiverPlugin, "get", "archive", None)
        if call is None:
            return None
        payload: Optional[Payload] = invoke(errors, "archive", None, call, Payload, task)
        return payload
    errors.append(
        Error(
            f"provider item {type(item).__name__} is neither a Payload nor {{archiver_name: task}}",
            None,
            None,
            "load",
        )
    )
    return None


def scan_item(
    stoq: Stoq,
    item: Any,
    request_meta: Optional[RequestMeta],
    add_start_dispatch: Optional[List[str]],
    add_start_deep_dispatch: Optional[List[str]],
) -> StoqResponse:
    """Scan one provider item; an item that yields no payload still reaches the connectors."""
    errors: List[Error] = []
    payload = _to_payload(stoq, item, errors)
    if payload is None:
        response = StoqResponse([], request_meta or RequestMeta(), errors)
        stoq.report_unscanned(response)
        return response
    return stoq.scan_payload(payload, request_meta, add_start_dispatch, add_start_deep_dispatch)


class ItemSource:
    """The providers' items, pulled one at a time: ``next_item()`` until it returns ``DONE``."""

    def __init__(self, stoq: Stoq) -> None:
        self._stoq = stoq
        errors: List[Error] = []
        providers = [
            (name, stoq.plugin_for_role(errors, name, ProviderPlugin, "load", None))
            for name in stoq.settings.providers
        ]
        for error in errors:
            log.error("run mode: %s", error.error)
        started = [(n, p) for n, p in providers if p is not None]
        if not started:
            raise ValueError("run mode needs at least one provider that loads (providers = [...])")
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=stoq.settings.max_queue)
        self._remaining = len(started)
        for name, provider in started:
            threading.Thread(
                target=self._ingest,
                args=(name, provider),
                name=f"stoq-provider-{name}",
                daemon=True,
            ).start()

    def _ingest(self, name: str, provider: ProviderPlugin) -> None:
        try:
            provider.ingest(self._queue)
        except Exception:
            self._stoq.provider_failures += 1
            log.exception("provider %r failed; its remaining work is lost", name)
        finally:
            self._queue.put(_PROVIDER_DONE)

    def next_item(self, timeout: float) -> Any:
        """The next item, ``None`` if none arrived within ``timeout``, ``DONE`` when all are done."""
        while self._remaining:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                return None
            if item is not _PROVIDER_DONE:
                return item
            self._remaining -= 1
        return DONE


def _scan_for_pool(
    stoq: Stoq,
    item: Any,
    request_meta: Optional[RequestMeta],
    add_start_dispatch: Optional[List[str]],
    add_start_deep_dispatch: Optional[List[str]],
    send_back: bool,
) -> Tuple[bool, int, Optional[StoqResponse]]:
    """In a consumer: scan one item; tell the parent (had errors, connector failures, and the
    response itself when the parent has connectors of its own to run)."""
    failures = stoq.connector_failures
    response = scan_item(stoq, item, request_meta, add_start_dispatch, add_start_deep_dispatch)
    return (
        bool(response.errors),
        stoq.connector_failures - failures,
        response if send_back else None,
    )


def _describe(item: Any) -> str:
    """What is kept of an item in flight, to report it if its consumer dies."""
    if isinstance(item, Payload):
        fields = {
            "payload_id": item.payload_id,
            "size": len(item.content),
            **item.payload_meta.extra_data,
        }
        return ", ".join(f"{k}={v!r}" for k, v in fields.items())
    return f"task={item!r}"[:300]


def _run_on_pool(
    stoq: Stoq,
    request_meta: Optional[RequestMeta],
    add_start_dispatch: Optional[List[str]],
    add_start_deep_dispatch: Optional[List[str]],
) -> None:
    held: Dict[int, Tuple[Optional[str], str]] = {}
    keys = itertools.count()

    source: Optional[ItemSource] = None

    def feed(timeout: float) -> Any:
        nonlocal source
        if source is None:  # only once the consumers exist: they fork before any provider runs
            source = ItemSource(stoq)
        item = source.next_item(timeout)
        if item is None or item is DONE:
            return item
        key = next(keys)
        held[key] = (item.payload_id if isinstance(item, Payload) else None, _describe(item))
        return key, item

    # A connector built in this process (not an installed plugin, e.g. the CLI's printer)
    # cannot load in a consumer: consumers send their responses back for it to run here.
    installed = stoq.plugins.sources
    in_parent = [name for name in stoq.connectors if name not in installed]
    kwargs = stoq_for(stoq)
    kwargs["connectors"] = [name for name in stoq.connectors if name in installed]
    stoq.preload_plugins()
    pool = ConsumerPool(
        stoq.settings.consumers,
        kwargs,
        _scan_for_pool,
        (request_meta, add_start_dispatch, add_start_deep_dispatch, bool(in_parent)),
        logging_setup(),
    )
    for key, result, exit_code in pool.process(feed, stoq.stopping.is_set):
        payload_id, description = held.pop(key)
        if exit_code is None:
            had_errors, connector_failures, response = result
            stoq.responses_with_errors += int(had_errors)
            stoq.connector_failures += connector_failures
            if response is not None:
                stoq.save(response, in_parent)
            continue
        error = Error(
            f"consumer process died (exit code {exit_code}) while scanning this item ({description})",
            None,
            payload_id,
            "scan",
        )
        stoq.report_unscanned(StoqResponse([], request_meta or RequestMeta(), [error]))
    stoq.consumer_deaths += pool.deaths


def run_providers(
    stoq: Stoq,
    request_meta: Optional[RequestMeta],
    add_start_dispatch: Optional[List[str]],
    add_start_deep_dispatch: Optional[List[str]],
) -> None:
    """Scan until every provider has finished and the queue is drained, or ``stoq.stop()``."""
    if not stoq.settings.providers:
        raise ValueError("run mode needs at least one provider (providers = [...])")
    if stoq.settings.consumers > 1:
        _run_on_pool(stoq, request_meta, add_start_dispatch, add_start_deep_dispatch)
        return
    source = ItemSource(stoq)
    while not stoq.stopping.is_set():
        item = source.next_item(timeout=0.2)
        if item is DONE:
            return
        if item is not None:
            scan_item(stoq, item, request_meta, add_start_dispatch, add_start_deep_dispatch)
