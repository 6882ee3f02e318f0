"""One request's life, top to bottom (SPEC §5.1): provider item → payload → the payloads'
workflow (``stoq.workflow``) → response → decorate → save → outcome.

Decorators and connectors are called inside the failure boundary, as every plugin is: a
failing one becomes an ``Error`` and the others still run.
"""

from __future__ import annotations

from stoq import tracing
from stoq.data_classes import (
    ArchiverResponse,
    DecoratorResponse,
    Error,
    Payload,
    RequestMeta,
    StoqResponse,
    new_id,
)
from stoq.invoke import PluginCall, PluginCalls, checked_results, invoke, normalise_errors, unusable
from stoq.log import current_scan, get_logger
from stoq.plugins import ArchiverPlugin, ConnectorPlugin, DecoratorPlugin, DeferredPayload
from stoq.request_cache import lookup, request_key, store
from stoq.settings import CoreSettings
from stoq.timings import add as add_time
from stoq.timings import clock, micro
from stoq.workflow import Request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence

__all__ = [
    "Outcome",
    "RequestArgs",
    "decorate",
    "deferred_by",
    "payload_for_item",
    "run_request",
    "save",
]

log = get_logger("stoq")


class RequestArgs:
    """What the caller says about one request (picklable: it travels to consumer processes).

    Plain classes here, not dataclasses: ``dataclasses`` imports ``inspect``, ``ast`` and
    ``dis``, and generates each class's methods at import, a sixth of ``stoq scan``'s start.
    """

    __slots__ = (
        "add_start_deep_dispatch",
        "add_start_dispatch",
        "errors",
        "request_meta",
        "scan_id",
    )

    def __init__(
        self,
        request_meta: Optional[RequestMeta] = None,
        add_start_dispatch: Optional[List[str]] = None,
        add_start_deep_dispatch: Optional[List[str]] = None,
        errors: Optional[List[Error]] = None,
        scan_id: Optional[str] = None,
    ) -> None:
        self.request_meta = request_meta
        self.add_start_dispatch = add_start_dispatch
        self.add_start_deep_dispatch = add_start_deep_dispatch
        #: Errors found before the scan started (e.g. the root input was cut at its size limit).
        self.errors: List[Error] = [] if errors is None else errors
        #: The response's id, when the caller fixes it (a provider's redelivered message).
        self.scan_id = scan_id


class Outcome:
    """How one request ended: its response, and the connectors that failed to save it."""

    __slots__ = ("response", "save_failures", "unscanned")

    def __init__(
        self,
        response: StoqResponse,
        save_failures: Optional[List[Error]] = None,
        unscanned: Optional[str] = None,
    ) -> None:
        self.response = response
        self.save_failures: List[Error] = [] if save_failures is None else save_failures
        #: Why a provider's item did not become a payload (it is then not acknowledged).
        self.unscanned = unscanned

    @property
    def failed(self) -> bool:
        """Whether anything went wrong (what the CLI's exit status and run mode's nack read)."""
        return bool(self.response.errors or self.save_failures)


def run_request(
    calls: PluginCalls, settings: CoreSettings, payload: Payload, args: RequestArgs
) -> Outcome:
    """Scan ``payload`` and everything extracted from it; decorate; save; report the outcome."""
    started = clock()
    scan_id = new_id() if args.scan_id is None else args.scan_id
    token = current_scan.set(scan_id)  # log lines name the scan (--log-format json)
    try:
        if tracing.ON:
            with tracing.request_span(scan_id):
                return _run(calls, settings, payload, args, scan_id, started)
        return _run(calls, settings, payload, args, scan_id, started)
    finally:
        current_scan.reset(token)


def _run(
    calls: PluginCalls,
    settings: CoreSettings,
    payload: Payload,
    args: RequestArgs,
    scan_id: str,
    started: float,
) -> Outcome:
    """The request itself, inside the scan id's logging context (and span, when tracing)."""
    request_meta = RequestMeta() if args.request_meta is None else args.request_meta
    key = None if calls.cache is None else request_key(calls, settings, payload, args, request_meta)
    response = None if key is None else lookup(calls, key, payload, request_meta, scan_id)
    if response is None:
        request = Request(calls, settings, request_meta, args)
        request.run(payload)
        response = StoqResponse(request.results, request_meta, request.errors, None, None, scan_id)
        if key is not None:
            store(calls, settings, key, response)
    if settings.decorators:
        decorate(calls, settings.decorators, response)
    response.timings["total"] = micro(clock() - started)
    return Outcome(
        response, save(calls, settings.connectors, response) if settings.connectors else []
    )


def payload_for_item(
    calls: PluginCalls, settings: CoreSettings, item: Any, errors: List[Error]
) -> Optional[Payload]:
    """A provider item is a Payload, a DeferredPayload made by its ``load()`` here (in the
    process that scans it), or ``{source_archiver: task}`` resolved through ``get``.

    The archiver must be one of the configured ``source_archivers``; anything else is an Error
    for that item, never a silent success.
    """
    if isinstance(item, Payload):
        return item
    if isinstance(item, DeferredPayload):
        return _load(calls, item, errors)
    if isinstance(item, dict) and len(item) == 1:
        ((name, task),) = item.items()
        if name not in settings.source_archivers:
            configured = ", ".join(settings.source_archivers) or "none"
            errors.append(
                Error(
                    f"provider task names archiver {name!r}, which is not a configured source"
                    f" archiver (source_archivers: {configured})",
                    str(name),
                    None,
                    "load",
                )
            )
            return None
        call = calls.prepare(errors, name, ArchiverPlugin, "get", "archive", None)
        if call is None:
            return None
        if calls.plugins.is_folder_plugin(name) and not isinstance(task, ArchiverResponse):
            task = ArchiverResponse(task)  # v2's get(task) received ArchiverResponse(task)
        payload: Optional[Payload] = invoke(errors, "archive", None, call, Payload, task)
        if payload is None and not errors:
            errors.append(Error("get() returned no payload for the task", name, None, "archive"))
        return payload
    errors.append(
        Error(
            f"provider item {type(item).__name__} is neither a Payload, a DeferredPayload nor"
            " {archiver_name: task}",
            None,
            None,
            "load",
        )
    )
    return None


def deferred_by(item: DeferredPayload) -> str:
    """The provider a deferred item names, for its errors (its class if it names none)."""
    try:
        name = item.plugin_name
    except Exception:  # noqa: BLE001 - plugin code (a property); the class names it then
        name = None
    return name if isinstance(name, str) else type(item).__name__


def _load(calls: PluginCalls, item: DeferredPayload, errors: List[Error]) -> Optional[Payload]:
    """``item.load()`` within its provider's deadline; None (with the Error) if no Payload."""
    name = deferred_by(item)
    call = PluginCall(name, item.load, calls.plugins.timeout_of(name))
    payload: Optional[Payload] = invoke(errors, "load", None, call, Payload)
    if payload is None and not errors:
        errors.append(Error("load() returned no payload", name, None, "load"))
    return payload


def decorate(calls: PluginCalls, decorators: Sequence[str], response: StoqResponse) -> None:
    """Each decorator, in order, sees the response with the earlier decorators' results."""
    timings: Dict[str, Dict[str, float]] = {}
    for name in decorators:
        started = clock()
        result = calls(
            response.errors,
            name,
            DecoratorPlugin,
            "decorate",
            "decorate",
            None,
            DecoratorResponse,
            response,
        )
        add_time(timings, "decorate", name, started)
        if result is None:
            continue
        try:
            if result.results is not None:
                response.decorators[name] = checked_results(result.results)
            response.errors.extend(normalise_errors(result.errors, name, None, "decorate"))
        except Exception as exc:  # noqa: BLE001 - the failure boundary
            unusable(response.errors, name, None, "decorate", exc)
    if timings:
        response.timings.update(timings)


def save(calls: PluginCalls, connectors: Sequence[str], response: StoqResponse) -> List[Error]:
    """Send a finished response to each connector; returns the failures (each also logged).

    A failure never keeps the response from the other connectors.
    """
    failures: List[Error] = []
    for name in connectors:
        calls(failures, name, ConnectorPlugin, "save", "save", None, None, response)
    for error in failures:
        log.error(
            "scan %s: connector %r failed: %s", response.scan_id, error.plugin_name, error.error
        )
    return failures
