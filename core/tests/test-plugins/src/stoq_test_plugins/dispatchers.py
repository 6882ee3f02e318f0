"""Dispatchers and deep dispatchers for the engine's tests."""

from typing import Optional

from stoq.data_classes import DeepDispatcherResponse, DispatcherResponse, Payload, RequestMeta
from stoq.plugins import DeepDispatcherPlugin, DispatcherPlugin


class SimpleDispatcher(DispatcherPlugin):
    """Dispatches to its ``workers`` option (default simple_worker) and ``if_installed``."""

    def get_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DispatcherResponse]:
        workers = self.plugin_opts.get("workers", ["simple_worker"])
        optional = self.plugin_opts.get("if_installed", [])
        return DispatcherResponse(list(workers), {"why": "configured"}, if_installed=optional)


class NoneDispatcher(DispatcherPlugin):
    """Has nothing to add."""

    def get_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DispatcherResponse]:
        return None


class RotatingDeepDispatcher(DeepDispatcherPlugin):
    """Asks for a different worker on every pass: w0, w1, w2, ... (none of which exist)."""

    def __init__(self, config, plugin_opts) -> None:
        super().__init__(config, plugin_opts)
        self.calls = 0

    def get_deep_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DeepDispatcherResponse]:
        name = f"rotating_{self.calls}"
        self.calls += 1
        return DeepDispatcherResponse([name], meta={"pass": self.calls})


class SameDeepDispatcher(DeepDispatcherPlugin):
    """Asks for the same worker (``worker`` option, default second_worker) every time."""

    def get_deep_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DeepDispatcherResponse]:
        seen = sorted(k for round_ in payload.worker_results for k in round_)
        return DeepDispatcherResponse(
            [self.plugin_opts.get("worker", "second_worker")], meta={"saw": seen}
        )
