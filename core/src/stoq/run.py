"""Run mode: providers in threads feed a bounded queue; each item is scanned as a request."""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Any, List, Optional

from stoq.data_classes import Error, Payload, RequestMeta, StoqResponse
from stoq.invoke import invoke
from stoq.plugins import ArchiverPlugin, ProviderPlugin

if TYPE_CHECKING:
    from stoq.core import Stoq

__all__ = ["run_providers"]

log = logging.getLogger("stoq")

#: Put on the queue by each provider thread when its ``ingest`` returns or fails.
_DONE = object()


def _ingest(stoq: Stoq, name: str, provider: ProviderPlugin, work: queue.Queue) -> None:
    try:
        provider.ingest(work)
    except Exception:
        stoq.provider_failures += 1
        log.exception("provider %r failed; its remaining work is lost", name)
    finally:
        work.put(_DONE)


def _to_payload(stoq: Stoq, item: Any, errors: List[Error]) -> Optional[Payload]:
    """A provider item is a Payload, or ``{source_archiver: task}`` resolved through ``get``."""
    if isinstance(item, Payload):
        return item
    if isinstance(item, dict) and len(item) == 1:
        (name, task), = item.items()
        archiver = stoq.plugin_for_role(errors, name, ArchiverPlugin, "archive", None)
        if archiver is None:
            return None
        return invoke(errors, "archive", name, None, stoq.timeout_for(name), archiver.get, Payload, task)
    errors.append(Error(f"provider item {type(item).__name__} is neither a Payload nor"
                        " {archiver_name: task}", None, None, "load"))
    return None


def run_providers(
    stoq: Stoq,
    request_meta: Optional[RequestMeta],
    add_start_dispatch: Optional[List[str]],
    add_start_deep_dispatch: Optional[List[str]],
) -> None:
    """Scan until every provider has finished and the queue is drained, or ``stoq.stop()``."""
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
    work: queue.Queue = queue.Queue(maxsize=stoq.settings.max_queue)
    for name, provider in started:
        threading.Thread(
            target=_ingest, args=(stoq, name, provider, work), name=f"stoq-provider-{name}", daemon=True
        ).start()
    remaining = len(started)
    while remaining and not stoq.stopping.is_set():
        try:
            item = work.get(timeout=0.2)
        except queue.Empty:
            continue
        if item is _DONE:
            remaining -= 1
            continue
        item_errors: List[Error] = []
        payload = _to_payload(stoq, item, item_errors)
        if payload is None:
            meta = request_meta or RequestMeta()
            stoq.report_unscanned(StoqResponse([], meta, item_errors))
            continue
        stoq.scan_payload(payload, request_meta, add_start_dispatch, add_start_deep_dispatch)
