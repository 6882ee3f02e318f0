"""Run mode: providers in threads feed a bounded queue (``stoq.item_source``); each item is
scanned as a request.

With ``consumers == 1`` items are scanned in this process; with more, a pool of consumer
processes (``stoq.consumers``) scans them, each with its own plugin instances. An item a
provider wrapped in a ``Delivery`` is settled here, in the parent, once its fate is known:
``ack`` after every connector saved its response, ``nack`` with the reason otherwise (SPEC
§5.5, at-least-once). Consumers only ever see the item and its scan id.
"""

from __future__ import annotations

import itertools
import pickle
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from stoq import metrics
from stoq.consumers import DONE, ConsumerPool, logging_setup, stoq_for
from stoq.crashsite import describe, lost
from stoq.data_classes import Error, Payload, RequestMeta, StoqResponse
from stoq.exceptions import StoqConfigError
from stoq.invoke import one_line
from stoq.item_source import ItemSource
from stoq.log import get_logger
from stoq.plugins import DeferredPayload, Delivery
from stoq.request import RequestArgs, deferred_by
from stoq.serialize import jsonable

if TYPE_CHECKING:
    from stoq.core import Stoq

__all__ = ["run_providers"]

log = get_logger("stoq")

#: What a consumer is sent: a provider's item (unwrapped from its Delivery) and its scan id.
Work = Tuple[Any, Optional[str]]
#: A consumer's answer: (had errors, connector failures, the response (pickled) when sent back,
#: and why the item must not be acknowledged, or None).
Outcome = Tuple[bool, int, Optional["_Packed"], Optional[str]]
#: Reason given to ``nack`` for items still queued when run mode stops.
STOPPED = "run mode stopped before this item was scanned"


def _unwrap(item: Any) -> Tuple[Work, Optional[Delivery]]:
    """The work to send to a consumer, and the Delivery to settle (None for a bare item)."""
    if isinstance(item, Delivery):
        return (item.item, item.scan_id), item
    return (item, None), None


class _Packed:
    """A provider's item on its way to a consumer process, or a response on its way back,
    pickled and unpickled by run mode itself, so that one that does not pickle, or does not
    unpickle, is that item's Error. Inside the pool's own sending and receiving, an item that
    did not pickle ended run mode and one that did not unpickle left it waiting forever."""

    __slots__ = ("data",)

    def __init__(self, item: Any) -> None:
        self.data = pickle.dumps(item, pickle.HIGHEST_PROTOCOL)

    def __repr__(self) -> str:
        return f"<{len(self.data)} bytes pickled>"


def _scan_for_pool(stoq: Stoq, work: Work, args: RequestArgs, send_back: bool) -> Outcome:
    """In a consumer: scan one item; tell the parent its outcome, to count and settle it (and
    the response itself when the parent has connectors of its own to run)."""
    item, scan_id = work
    unreadable = None
    if isinstance(item, _Packed):
        try:
            item = pickle.loads(item.data)
        except Exception as exc:  # noqa: BLE001 - whatever the item's own unpickling raises
            unreadable = f"provider item cannot be read in a consumer process: {one_line(exc)}"
            log.error("run mode: %s", unreadable)
            item = Error(unreadable, None, None, "load")
    fixed = RequestArgs(
        args.request_meta,
        args.add_start_dispatch,
        args.add_start_deep_dispatch,
        args.errors,
        scan_id,
    )
    outcome = stoq.request_item(item, fixed)
    if metrics.enabled():
        metrics.observe(outcome.response)
    return (
        bool(outcome.response.errors),
        len(outcome.save_failures),
        _packed_response(outcome.response) if send_back else None,
        unreadable or outcome.unscanned,
    )


def _packed_response(response: StoqResponse) -> _Packed:
    """The response for the parent's own connectors. Values a plugin wrote that do not pickle
    (a v2 plugin's objects, which the JSON output writes as text) travel in the form the JSON
    output gives them; the consumer's connectors already had the response as it was."""
    try:
        return _Packed(response)
    except Exception:  # noqa: BLE001 - whatever pickling a plugin's object raises
        for record in response.results:
            record.workers = jsonable(record.workers)
            record.archivers = jsonable(record.archivers)
            record.dispatch_meta = jsonable(record.dispatch_meta)
            record.deep_dispatch_meta = jsonable(record.deep_dispatch_meta)
            record.plugins_run = jsonable(record.plugins_run)
            meta = record.payload_meta
            meta.extra_data, meta.dispatch_to = (
                jsonable(meta.extra_data),
                jsonable(meta.dispatch_to),
            )
        response.decorators = jsonable(response.decorators)
        response.request_meta.extra_data = jsonable(response.request_meta.extra_data)
        return _Packed(response)


def _unpacked_response(
    packed: _Packed, payload_id: Optional[str], scan_id: Optional[str], args: RequestArgs
) -> StoqResponse:
    """In the parent: a consumer's response; one that cannot be unpickled (a plugin's object
    that refuses) is an error response instead (the consumer's connectors had the response)."""
    try:
        response: StoqResponse = pickle.loads(packed.data)
        return response
    except Exception as exc:  # noqa: BLE001 - whatever a plugin's object raises when rebuilt
        text = f"the response cannot be read in run mode's parent: {one_line(exc)}"
        log.error("run mode: %s (scan %s)", text, scan_id)
        error = Error(text, None, payload_id, "scan")
        return StoqResponse([], args.request_meta or RequestMeta(), [error], scan_id=scan_id)


def _settle(stoq: Stoq, delivery: Optional[Delivery], reason: Optional[str]) -> None:
    """Tell a Delivery's provider ``ack`` (reason None) or ``nack``; a bare item needs nothing.

    A provider that fails to hear it is counted as a provider failure: the queue redelivers
    the message, so the worst outcome is a second scan under the same scan id.
    """
    if delivery is None:
        return
    try:
        if reason is None:
            delivery.acknowledger.ack(delivery.tag)
        else:
            delivery.acknowledger.nack(delivery.tag, reason)
    except Exception:
        stoq.provider_failures += 1
        verb = "ack" if reason is None else "nack"
        log.exception("provider failed to %s %r (scan %s)", verb, delivery.tag, delivery.scan_id)


def _verdict(unscanned: Optional[str], connector_failures: int) -> Optional[str]:
    """Why an item must not be acknowledged, or None when every connector saved it."""
    if unscanned is not None:
        return unscanned
    if connector_failures:
        return f"{connector_failures} connector save(s) failed"
    return None


def _nack_unstarted(stoq: Stoq, source: Optional[ItemSource]) -> None:
    """When run mode ends, providers may queue nothing more, and items still queued (at
    stop) are nacked, never acknowledged."""
    for item in source.close() if source is not None else []:
        _settle(stoq, _unwrap(item)[1], STOPPED)


def _unsendable(
    stoq: Stoq, args: RequestArgs, work: Work, delivery: Optional[Delivery], exc: Exception
) -> None:
    """An item that does not pickle cannot reach a consumer: its response holds the Error,
    and its Delivery is nacked; run mode goes on with the next item."""
    item, scan_id = work
    reason = f"provider item cannot be sent to a consumer process: {one_line(exc)}"
    log.error("run mode: %s (%s)", reason, _describe(item))
    name = deferred_by(item) if isinstance(item, DeferredPayload) else None
    payload_id = item.payload_id if isinstance(item, Payload) else None
    meta = args.request_meta or RequestMeta()
    error = Error(reason, name, payload_id, "load")
    stoq.report_unscanned(StoqResponse([], meta, [error], scan_id=scan_id))
    _settle(stoq, delivery, reason)


def _describe(item: Any) -> str:
    """What is kept of an item in flight, to report it if its consumer dies. Never raises: a
    deferred item's ``repr`` and the values in a payload's meta are plugin code."""
    try:
        if isinstance(item, Payload):
            fields = {
                "payload_id": item.payload_id,
                "size": len(item.content),
                **item.payload_meta.extra_data,
            }
            return ", ".join(f"{k}={v!r}" for k, v in fields.items())[:300]
        return (f"task={item!r}" if isinstance(item, dict) else repr(item))[:300]
    except Exception as exc:  # noqa: BLE001 - a description must not stop run mode
        return f"{type(item).__name__} item (its description failed: {one_line(exc)})"


#: What the parent keeps per item in flight: payload id, description, scan id, Delivery.
_Held = Tuple[Optional[str], str, Optional[str], Optional[Delivery]]


def _run_on_pool(stoq: Stoq, args: RequestArgs) -> None:
    held: Dict[int, _Held] = {}
    keys = itertools.count()

    source: Optional[ItemSource] = None

    def feed(timeout: float) -> Any:
        nonlocal source
        if source is None:  # only once the consumers exist: they fork before any provider runs
            source = ItemSource(stoq)
        while True:
            entry = source.next_item(timeout)
            if metrics.enabled():
                metrics.queue_depth(source.depth())
            if entry is None or entry is DONE:
                return entry
            work, delivery = _unwrap(entry)
            item, scan_id = work
            try:
                packed = _Packed(item)
            except Exception as exc:  # noqa: BLE001 - whatever pickling raises for this item
                _unsendable(stoq, args, work, delivery, exc)
                continue
            key = next(keys)
            payload_id = item.payload_id if isinstance(item, Payload) else None
            held[key] = (payload_id, _describe(item), scan_id, delivery)
            return key, (packed, scan_id)

    # A connector built in this process (not an installed plugin, e.g. the CLI's printer)
    # cannot load in a consumer: consumers send their responses back for it to run here.
    installed = stoq.plugins.sources
    in_parent = [name for name in stoq.connectors if name not in installed]
    factory, kwargs = stoq_for(stoq)
    kwargs["connectors"] = [name for name in stoq.connectors if name in installed]
    pool = ConsumerPool(
        stoq.settings.consumers,
        (factory, kwargs),
        _scan_for_pool,
        (args, bool(in_parent)),
        logging_setup(),
        stoq.preload_plugins(),
    )
    try:
        for key, result, exit_code in pool.process(feed, stoq.stopping.is_set):
            payload_id, description, scan_id, delivery = held.pop(key)
            if exit_code is None:
                had_errors, connector_failures, response, unscanned = result
                stoq.responses_with_errors += int(had_errors)
                stoq.connector_failures += connector_failures
                if response is not None:
                    sent = _unpacked_response(response, payload_id, scan_id, args)
                    connector_failures += stoq.save(sent, in_parent)
                _settle(stoq, delivery, _verdict(unscanned, connector_failures))
                continue
            where = result  # the plugin call the consumer died in, or None
            error = lost(
                f"consumer process died (exit code {exit_code}){describe(where)} while scanning"
                f" this item ({description})",
                where,
                payload_id,
            )
            meta = args.request_meta or RequestMeta()
            stoq.report_unscanned(StoqResponse([], meta, [error], scan_id=scan_id))
            _settle(stoq, delivery, f"consumer process died (exit code {exit_code})")
    finally:
        _nack_unstarted(stoq, source)
    stoq.consumer_deaths += pool.deaths


def run_providers(stoq: Stoq, args: RequestArgs) -> None:
    """Scan until every provider has finished and the queue is drained, or ``stoq.stop()``."""
    if not stoq.settings.providers:
        raise StoqConfigError("run mode needs at least one provider (providers = [...])")
    if stoq.settings.consumers > 1:
        _run_on_pool(stoq, args)
        return
    source = ItemSource(stoq)
    try:
        while not stoq.stopping.is_set():
            entry = source.next_item(timeout=0.2)
            if metrics.enabled():
                metrics.queue_depth(source.depth())
            if entry is DONE:
                return
            if entry is not None:
                work, delivery = _unwrap(entry)
                _, failures, _, unscanned = _scan_for_pool(stoq, work, args, False)
                _settle(stoq, delivery, _verdict(unscanned, failures))
    finally:
        _nack_unstarted(stoq, source)
