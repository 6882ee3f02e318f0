"""One conformance class per role. Combine them for a plugin that serves several roles::

class TestFiledirConformance(ProviderConformance, ArchiverConformance, ConnectorConformance):
    plugin_name = "filedir"
"""

from __future__ import annotations

import pickle
import queue
import threading
from typing import Any, ClassVar, List, Optional, Tuple

from stoq.core import Stoq
from stoq.data_classes import (
    ArchiverResponse,
    DecoratorResponse,
    DeepDispatcherResponse,
    DispatcherResponse,
    Error,
    Payload,
    RequestMeta,
    WorkerResponse,
)
from stoq.exceptions import ProviderStopped
from stoq.plugins import Acknowledger, DeferredPayload, Delivery, ProviderPlugin
from stoq.testing._checks import (
    errors_problem,
    extracted_problem,
    json_problem,
    names_problem,
    optional_names_problem,
    payload_meta_problem,
    type_problem,
)
from stoq.testing._conformance import PluginConformance
from stoq.testing._inputs import ConformanceInput

__all__ = [
    "ArchiverConformance",
    "ConnectorConformance",
    "DecoratorConformance",
    "DeepDispatcherConformance",
    "DispatcherConformance",
    "ProviderConformance",
    "WorkerConformance",
]


class _PayloadRole(PluginConformance):
    """Roles whose method takes ``(payload, request_meta)``."""

    def run_on(
        self, stoq: Stoq, method: str, conformance_input: ConformanceInput, expected: type
    ) -> Any:
        content = conformance_input.load()
        where = conformance_input.describe(content)
        payload = Payload(content, conformance_input.payload_meta())
        result = self.call(stoq, method, where, payload, RequestMeta())
        self.check(type_problem(result, expected), method, where)
        if result is not None:
            self.check(errors_problem(result.errors), method, where)
        return result, where

    def check_dispatch(
        self, stoq: Stoq, method: str, conformance_input: ConformanceInput, expected: type
    ) -> None:
        result, where = self.run_on(stoq, method, conformance_input, expected)
        if result is None:
            return
        self.check(json_problem(result.meta, "meta"), method, where)
        available = set(stoq.plugins.sources) | set(stoq.plugins.loaded)
        self.check(
            names_problem(result.plugin_names, available, self.external_plugins, result.errors),
            method,
            where,
        )
        optional = getattr(result, "if_installed", [])
        self.check(optional_names_problem(optional), method, where)


class WorkerConformance(_PayloadRole):
    """A worker's ``scan``: right type, JSON results, well-formed extracted payloads."""

    role = "worker"

    def test_scan(self, conformance_stoq: Stoq, conformance_input: ConformanceInput) -> None:
        result, where = self.run_on(conformance_stoq, "scan", conformance_input, WorkerResponse)
        if result is not None:
            self.check(json_problem(result.results, "results"), "scan", where)
            self.check(extracted_problem(result.extracted), "scan", where)


class DispatcherConformance(_PayloadRole):
    """A dispatcher's ``get_dispatches``: right type, JSON meta, only names that exist."""

    role = "dispatcher"

    def test_get_dispatches(
        self, conformance_stoq: Stoq, conformance_input: ConformanceInput
    ) -> None:
        self.check_dispatch(
            conformance_stoq, "get_dispatches", conformance_input, DispatcherResponse
        )


class DeepDispatcherConformance(_PayloadRole):
    """A deep dispatcher's ``get_deep_dispatches``, checked like a dispatcher's."""

    role = "deep_dispatcher"

    def test_get_deep_dispatches(
        self, conformance_stoq: Stoq, conformance_input: ConformanceInput
    ) -> None:
        self.check_dispatch(
            conformance_stoq, "get_deep_dispatches", conformance_input, DeepDispatcherResponse
        )


class ArchiverConformance(_PayloadRole):
    """An archiver's ``archive``: right type and JSON results for every input."""

    role = "archiver"

    def test_archive(self, conformance_stoq: Stoq, conformance_input: ConformanceInput) -> None:
        result, where = self.run_on(
            conformance_stoq, "archive", conformance_input, ArchiverResponse
        )
        if result is not None:
            self.check(json_problem(result.results, "results"), "archive", where)


class _ResponseRole(PluginConformance):
    """Roles whose method takes a finished ``StoqResponse`` (one per input, scanned for real)."""

    def response_for(self, stoq: Stoq, conformance_input: ConformanceInput) -> Any:
        content = conformance_input.load()
        response = stoq.scan(content, conformance_input.payload_meta())
        return response, f"the response for {conformance_input.describe(content)}"


class DecoratorConformance(_ResponseRole):
    """A decorator's ``decorate``: right type and JSON results."""

    role = "decorator"

    def test_decorate(self, conformance_stoq: Stoq, conformance_input: ConformanceInput) -> None:
        response, where = self.response_for(conformance_stoq, conformance_input)
        result = self.call(conformance_stoq, "decorate", where, response)
        self.check(type_problem(result, DecoratorResponse), "decorate", where)
        if result is not None:
            self.check(errors_problem(result.errors), "decorate", where)
            self.check(json_problem(result.results, "results"), "decorate", where)


class ConnectorConformance(_ResponseRole):
    """A connector's ``save``: it accepts every response without raising, in time."""

    role = "connector"

    def test_save(self, conformance_stoq: Stoq, conformance_input: ConformanceInput) -> None:
        response, where = self.response_for(conformance_stoq, conformance_input)
        result = self.call(conformance_stoq, "save", where, response)
        self.check(type_problem(result, type(None)), "save", where)


class ProviderConformance(PluginConformance):
    """A provider's ``ingest``: it returns in time and queues only Payloads, deferred payloads
    that pickle and load, or archiver tasks.

    A provider that listens forever (a queue consumer) sets ``endless = True``: its items are
    checked after ``ingest_seconds`` and the thread is left to the process.
    """

    role = "provider"
    endless: ClassVar[bool] = False
    ingest_seconds: ClassVar[float] = 10.0

    def test_ingest(self, conformance_stoq: Stoq) -> None:
        items: queue.Queue[Any] = queue.Queue()
        alive, failure = self._ingest_into(conformance_stoq, items, "conformance")
        if failure is not None:
            self.fail(f"ingest() raised {type(failure).__name__}: {failure}")
        if alive and not self.endless:
            self.fail(
                f"ingest() did not return within {self.ingest_seconds:g}s; set endless = True on"
                " the test class if it listens forever"
            )
        for index, item in enumerate(list(items.queue)):
            self.check(self._item_problem(conformance_stoq, item), "ingest", f"queued item {index}")

    def test_ingest_ends_when_run_mode_stops(self, conformance_stoq: Stoq) -> None:
        """Once run mode stops, ``put`` raises ``ProviderStopped``: ``ingest`` must end then
        (let it through, or return), not try again. A provider that queues nothing within
        ``ingest_seconds`` (a listener with no message) has nothing to show here."""
        items = _StoppedQueue()
        alive, failure = self._ingest_into(conformance_stoq, items, "conformance-stop")
        if failure is not None:
            self.fail(
                f"ingest() raised {type(failure).__name__} after put raised ProviderStopped:"
                f" {failure}"
            )
        if alive and items.refused:
            self.fail(
                f"ingest() went on after put raised ProviderStopped ({items.refused} puts"
                " refused): let it through (it is a BaseException) and clean up in finally"
            )

    def _ingest_into(
        self, stoq: Stoq, items: queue.Queue[Any], thread_name: str
    ) -> Tuple[bool, Optional[BaseException]]:
        """Run ``ingest(items)`` in a thread for up to ``ingest_seconds``: whether it is still
        running, and what it raised (``ProviderStopped`` ends it as a return does)."""
        provider = self.load(stoq)
        if not isinstance(provider, ProviderPlugin):
            self.fail(f"is a {type(provider).__name__}, not a ProviderPlugin")
        failures: List[BaseException] = []

        def ingest() -> None:
            try:
                provider.ingest(items)
            except ProviderStopped:
                pass
            except BaseException as exc:  # noqa: BLE001 - reported in the test's thread
                failures.append(exc)

        thread = threading.Thread(
            target=ingest, name=f"{thread_name}-{self.plugin_name}", daemon=True
        )
        thread.start()
        thread.join(self.ingest_seconds)
        return thread.is_alive(), failures[0] if failures else None

    def _item_problem(self, stoq: Stoq, item: Any) -> Any:
        if isinstance(item, Delivery):  # at-least-once: the message's item, or an Error
            if not isinstance(item.acknowledger, Acknowledger):
                return f"Delivery for {item.tag!r} has no ack/nack to call back"
            if isinstance(item.item, Error):
                return None
            return self._item_problem(stoq, item.item)
        if isinstance(item, DeferredPayload):  # what a consumer process does with it
            try:
                loaded = pickle.loads(pickle.dumps(item)).load()
            except Exception as exc:  # noqa: BLE001 - reported as the item's problem
                return f"{type(item).__name__}: pickled and loaded, it raised {exc!r:.200}"
            if not isinstance(loaded, Payload):
                return (
                    f"{type(item).__name__}.load() returned {type(loaded).__name__}, not a Payload"
                )
            return self._item_problem(stoq, loaded)
        if isinstance(item, Payload):
            if not isinstance(item.content, bytes):
                return f"payload content is a {type(item.content).__name__}, expected bytes"
            return payload_meta_problem(item.payload_meta, "payload_meta")
        if isinstance(item, dict) and len(item) == 1:
            available = set(stoq.plugins.sources) | set(stoq.plugins.loaded)
            return names_problem(list(item), available, self.external_plugins, [])
        return (
            f"{type(item).__name__} ({item!r:.60}) is neither a Payload, a DeferredPayload nor"
            " {archiver_name: task}"
        )


class _StoppedQueue(queue.Queue):  # type: ignore[type-arg]
    """Run mode's queue after a stop: every ``put`` is refused with ``ProviderStopped``."""

    def __init__(self) -> None:
        super().__init__(maxsize=100)
        self.refused = 0

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        self.refused += 1
        raise ProviderStopped("run mode stopped: this item was not queued")
