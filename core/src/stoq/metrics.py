"""Prometheus metrics for run mode (SPEC §14), counted in every consumer process.

``stoq run --metrics-port PORT`` calls ``serve()`` before any consumer starts: it makes a
folder for ``prometheus_client``'s multi-process mode, names it in the environment (consumer
processes, forked or spawned, inherit it) and serves the merged metrics over HTTP. Each
process then records every finished request with ``observe()``, read from the response alone
(its timings, errors and sizes). Without ``--metrics-port`` nothing here is imported
(``prometheus_client`` is the ``metrics`` extra).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Optional, Tuple

__all__ = ["consumer_restarted", "enabled", "observe", "queue_depth", "serve"]

#: Set by ``serve()``; its presence turns metrics on in this process and its children.
ENV = "PROMETHEUS_MULTIPROC_DIR"
_FLAG = "STOQ_METRICS"

#: Plugin call durations, seconds: from a hash's microseconds to a sandbox's minutes.
BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)

_metrics: Optional[Tuple[int, _Metrics]] = None


def enabled() -> bool:
    return os.environ.get(_FLAG) == "1" and bool(os.environ.get(ENV))


class _Metrics:
    """The metric objects, made once per process (after the environment names the folder)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        # Not the default registry: the endpoint reads every process's files, and a forked
        # consumer makes its own objects under the same names.
        registry = CollectorRegistry()
        self.requests = Counter(
            "stoq_requests", "Requests finished", ["outcome"], registry=registry
        )
        self.payloads = Counter("stoq_payloads", "Payloads scanned", registry=registry)
        self.bytes = Counter(
            "stoq_payload_bytes", "Bytes of the payloads scanned", registry=registry
        )
        self.errors = Counter(
            "stoq_errors", "Errors in responses", ["stage", "plugin"], registry=registry
        )
        self.limit_hits = Counter(
            "stoq_limit_hits", "Errors at stage limit", ["plugin"], registry=registry
        )
        self.timeouts = Counter(
            "stoq_timeouts", "Calls past their deadline", ["plugin"], registry=registry
        )
        self.calls = Histogram(
            "stoq_plugin_call_seconds",
            "Duration of plugin calls",
            ["stage", "plugin"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.request_seconds = Histogram(
            "stoq_request_seconds", "Duration of whole requests", buckets=BUCKETS, registry=registry
        )
        self.cache_hits = Counter(
            "stoq_cache_hits",
            "Worker calls answered by the result cache",
            ["plugin"],
            registry=registry,
        )
        self.restarts = Counter(
            "stoq_consumer_restarts",
            "Consumer processes that died and were replaced",
            registry=registry,
        )
        self.queue = Gauge(
            "stoq_queue_depth",
            "Items waiting in the provider queue",
            multiprocess_mode="livemax",
            registry=registry,
        )
        self.up = Gauge(
            "stoq_consumer_up",
            "1 per live stoq process recording metrics (label pid)",
            multiprocess_mode="liveall",
            registry=registry,
        )
        self.up.set(1)


def _get() -> _Metrics:
    """This process's metrics (a forked consumer makes its own)."""
    global _metrics
    if _metrics is None or _metrics[0] != os.getpid():
        _metrics = (os.getpid(), _Metrics())
    return _metrics[1]


def serve(port: int, host: str = "") -> str:
    """Start the HTTP endpoint in this process; returns the multi-process folder (removed at
    exit by ``stop()``)."""
    folder = tempfile.mkdtemp(prefix="stoq-metrics-")
    os.environ[ENV] = folder
    os.environ[_FLAG] = "1"
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    start_http_server(port, addr=host, registry=registry)
    return folder


def stop(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def observe(response: Any) -> None:
    """Count one finished request (a ``StoqResponse``) in this process's metric files."""
    metrics = _get()
    metrics.requests.labels("failed" if response.errors else "ok").inc()
    total = response.timings.get("total")
    if total is not None:
        metrics.request_seconds.observe(total)
    for result in response.results:
        metrics.payloads.inc()
        metrics.bytes.inc(result.size)
        for stage, plugins in result.timings.items():
            for plugin, seconds in plugins.items():
                metrics.calls.labels(stage, plugin).observe(seconds)
        for plugin in result.from_cache:
            metrics.cache_hits.labels(plugin).inc()
    for stage, plugins in response.timings.items():
        if isinstance(plugins, dict):
            for plugin, seconds in plugins.items():
                metrics.calls.labels(stage, plugin).observe(seconds)
    for error in response.errors:
        plugin = error.plugin_name or ""
        metrics.errors.labels(error.stage or "", plugin).inc()
        if error.stage == "limit":
            metrics.limit_hits.labels(plugin).inc()
        elif error.stage == "timeout":
            metrics.timeouts.labels(plugin).inc()


def consumer_restarted(count: int = 1) -> None:
    _get().restarts.inc(count)


def queue_depth(depth: int) -> None:
    _get().queue.set(depth)
