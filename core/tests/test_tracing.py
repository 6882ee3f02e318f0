"""SPEC §14: OpenTelemetry spans per request, payload and plugin call, only when enabled."""

from __future__ import annotations

import subprocess
import sys
from typing import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from stoq import tracing


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    from opentelemetry import trace

    trace.set_tracer_provider(provider)
    assert tracing.enable()
    yield memory
    tracing.disable()


def test_spans_for_request_payloads_and_plugin_calls(build, exporter) -> None:
    stoq = build(
        always_dispatch=["extract_worker", "raise_worker"], dispatchers=["none_dispatcher"]
    )
    response = stoq.scan(b"root\nchild")
    spans = exporter.get_finished_spans()
    by_name = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    (request,) = by_name["stoq.request"]
    assert request.attributes["stoq.scan_id"] == response.scan_id
    payloads = by_name["stoq.payload"]
    assert [p.attributes["stoq.sha256"] for p in payloads] == [r.sha256 for r in response.results]
    assert all(p.parent.span_id == request.context.span_id for p in payloads)
    calls = by_name["stoq.plugin"]
    seen = {
        (c.attributes["stoq.plugin"], c.attributes["stoq.stage"], c.attributes["stoq.sha256"])
        for c in calls
    }
    for result in response.results:
        for plugin, stage in [
            ("none_dispatcher", "dispatch"),
            ("extract_worker", "scan"),
            ("raise_worker", "scan"),
        ]:
            assert (plugin, stage, result.sha256) in seen
    payload_ids = {p.context.span_id for p in payloads}
    assert all(c.parent.span_id in payload_ids for c in calls)
    failed = [c for c in calls if c.attributes["stoq.plugin"] == "raise_worker"]
    assert all(c.status.status_code is StatusCode.ERROR for c in failed)
    assert "raise_worker always fails" in failed[0].status.description


def test_without_enabling_no_span_is_made(build) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracing.disable()
    build(always_dispatch=["simple_worker"]).scan(b"x")
    assert memory.get_finished_spans() == ()


def test_opentelemetry_is_not_imported_unless_enabled() -> None:
    script = (
        "import sys, stoq, stoq.cli; stoq.Stoq(always_dispatch=['simple_worker']).scan(b'x'); "
        "print(any(m.startswith('opentelemetry') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
