"""OpenTelemetry spans for requests, payloads and plugin calls (SPEC §14), when wanted.

Off unless ``enable()`` is called (``stoq scan``/``stoq run --trace``, or an application) and
the ``opentelemetry-api`` package is installed; until then nothing of OpenTelemetry is
imported and each hook costs one test of a module global. Spans go to whatever tracer
provider the application (or ``opentelemetry-instrument``) configured: stoQ makes spans, the
operator chooses the exporter.

Spans: ``stoq.request`` (``stoq.scan_id``), ``stoq.payload`` (``stoq.sha256``,
``stoq.payload_id``, ``stoq.size``) and ``stoq.plugin`` (``stoq.plugin``, ``stoq.stage``,
``stoq.sha256`` of the payload it works on); a plugin call's failure marks its span as an error.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, List, Optional

__all__ = ["enable", "enabled", "payload_span", "plugin_span", "request_span"]

_tracer: Optional[Any] = None
#: Whether spans are made: the engine's hooks read this one global (no call on the hot path).
ON = False
#: The SHA-256 of the payload being worked on, for the plugin spans below it.
_sha256: ContextVar[Optional[str]] = ContextVar("stoq_trace_sha256", default=None)


def enable() -> bool:
    """Turn spans on; False (and a no-op) when ``opentelemetry-api`` is not installed."""
    global _tracer, ON
    try:
        from opentelemetry import trace
    except ImportError:
        return False
    from stoq.__about__ import __version__

    _tracer = trace.get_tracer("stoq", __version__)
    ON = True
    return True


def disable() -> None:
    global _tracer, ON
    _tracer, ON = None, False


def enabled() -> bool:
    return ON


@contextlib.contextmanager
def request_span(scan_id: str) -> Iterator[None]:
    assert _tracer is not None
    with _tracer.start_as_current_span("stoq.request", attributes={"stoq.scan_id": scan_id}):
        yield


@contextlib.contextmanager
def payload_span(sha256: str, payload_id: str, size: int) -> Iterator[None]:
    assert _tracer is not None
    attributes = {"stoq.sha256": sha256, "stoq.payload_id": payload_id, "stoq.size": size}
    token = _sha256.set(sha256)
    try:
        with _tracer.start_as_current_span("stoq.payload", attributes=attributes):
            yield
    finally:
        _sha256.reset(token)


@contextlib.contextmanager
def plugin_span(plugin: str, stage: str, errors: List[Any]) -> Iterator[None]:
    """A span around one call; marked as an error when the call added Errors."""
    assert _tracer is not None
    from opentelemetry.trace import Status, StatusCode

    attributes = {"stoq.plugin": plugin, "stoq.stage": stage}
    sha256 = _sha256.get()
    if sha256 is not None:
        attributes["stoq.sha256"] = sha256
    before = len(errors)
    with _tracer.start_as_current_span("stoq.plugin", attributes=attributes) as span:
        yield
        if len(errors) > before:
            span.set_status(Status(StatusCode.ERROR, errors[-1].error))
