"""Providers feed run mode: they put payloads, deferred payloads or archiver tasks on a queue.

A provider backed by a queue that redelivers (Redis Streams, RabbitMQ, NATS JetStream) wraps
each message in a ``Delivery`` and is told its fate: ``ack`` once the response was saved by
every connector, ``nack`` with the reason otherwise (SPEC §5.5, at-least-once). A provider
that puts bare items (every v2 provider) is never called back.
"""

from __future__ import annotations

from stoq.plugins.base import BasePlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from queue import Queue  # for the annotation only: run mode imports it when it runs
    from typing import Any, Optional, Tuple

    from stoq.data_classes import Payload
    from stoq.plugins.acknowledger import Acknowledger

__all__ = ["Acknowledger", "DeferredPayload", "Delivery", "ProviderPlugin"]


class Delivery:
    """One message a provider wants to hear back about.

    ``item`` is what a provider may queue (a ``Payload`` or ``{archiver_name: task}``), or an
    ``Error`` when the provider gives up on the message (e.g. delivered too often): the core
    then saves a response holding only that error, and acks it once saved. ``tag`` is the
    provider's handle for the message (a stream entry id, a delivery tag). ``scan_id`` fixes
    the response's id: derive it from the message, so a redelivery gives the same id and
    connectors can write idempotently.
    """

    __slots__ = ("acknowledger", "item", "scan_id", "tag")

    def __init__(
        self, item: Any, tag: Any, acknowledger: Acknowledger, scan_id: Optional[str] = None
    ) -> None:
        self.item = item
        self.tag = tag
        self.acknowledger = acknowledger
        self.scan_id = scan_id

    def __eq__(self, other: object) -> bool:
        """Field by field, as the dataclass it was (a plain class: no ``dataclasses`` at start)."""
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"{type(self).__qualname__}(item={self.item!r}, tag={self.tag!r},"
            f" acknowledger={self.acknowledger!r}, scan_id={self.scan_id!r})"
        )

    def _values(self) -> Tuple[Any, ...]:
        return (self.item, self.tag, self.acknowledger, self.scan_id)


class DeferredPayload:
    """An item whose Payload is made by ``load()`` in the process that scans it.

    Run mode hands each item to a consumer process. A ``Payload`` is read by the provider in
    the parent, waits in the queue (up to ``max_queue`` of them, each with its bytes) and is
    copied through a pipe; a provider of local files queues a DeferredPayload instead (where
    the file is), and only the consumer scanning it reads the bytes. A subclass keeps plain
    attributes that pickle (the item crosses to the consumer), sets ``plugin_name`` and
    implements ``load``. ``load`` runs within the provider's deadline; if it raises, hangs or
    returns anything but a Payload, the item's response holds that ``Error`` (stage ``load``).
    """

    #: The provider that queued the item: the Error a failing ``load`` becomes names it.
    plugin_name: str = "provider"

    def load(self) -> Payload:
        raise NotImplementedError(f"{type(self).__name__} must implement load()")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in getattr(self, "__dict__", {}).items())
        return f"{type(self).__name__}({fields})"


class ProviderPlugin(BasePlugin):
    """Implement ``ingest``; put ``Payload`` or ``DeferredPayload`` objects or
    ``{archiver_name: task}`` dicts, or ``Delivery`` objects to be told (``ack``/``nack``)
    when each was saved."""

    def ingest(self, queue: Queue[Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement ingest()")


def __getattr__(name: str) -> Any:
    """``Acknowledger`` from here, as before it had a module of its own (see there why)."""
    if name == "Acknowledger":
        from stoq.plugins.acknowledger import Acknowledger

        return Acknowledger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
