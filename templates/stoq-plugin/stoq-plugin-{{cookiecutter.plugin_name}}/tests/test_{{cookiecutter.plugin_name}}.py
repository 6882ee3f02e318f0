{%- set roles = cookiecutter.__roles.split(',') -%}
{%- set name = cookiecutter.plugin_name -%}
{%- import 'stoq.jinja' as stoq -%}
{%- set suites = stoq.suites -%}
{%- set conformance = [] -%}
{%- for role in roles %}{% set _ = conformance.append(suites[role]) %}{% endfor -%}
{%- set harness = conformance | list -%}
{%- if roles | select('in', ['worker', 'dispatcher', 'deep_dispatcher', 'provider', 'archiver']) | list %}{% set _ = harness.append('run_plugin') %}{% endif -%}
{%- if roles | select('in', ['worker', 'deep_dispatcher', 'decorator']) | list %}{% set _ = harness.append('walk') %}{% endif -%}
"""Tests for the ``{{ name }}`` plugin: the stoq conformance suite, then its own behaviour."""

from __future__ import annotations
{% if 'connector' in roles %}
import json
{%- endif %}
from pathlib import Path
{%- if 'provider' in roles %}
from typing import Any, ClassVar, Dict
{%- endif %}
{%- if 'archiver' in roles %}

import pytest
{%- endif %}

{% if 'deep_dispatcher' in roles -%}
from stoq import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin
{% endif -%}
{{ stoq.wrapped('from stoq.testing import ', harness | sort(case_sensitive=True), bare=True) }}

SAMPLE = Path(__file__).parent / "data" / "sample.txt"


{{ stoq.wrapped('class Test' ~ cookiecutter.__class_name ~ 'Conformance', conformance, ':') }}
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "{{ name }}"
    samples = ("data/sample.txt",)
{%- if 'provider' in roles %}
    plugin_opts: ClassVar[Dict[str, Any]] = {"paths": [str(SAMPLE)]}
{%- endif %}
{%- if 'worker' in roles %}


def test_scan_reports_size_lines_and_preview() -> None:
    """The worker describes the sample file as Python's own byte functions see it."""
    content = SAMPLE.read_bytes()
    response = run_plugin("{{ name }}", "scan", SAMPLE)
    assert response.results == {
        "size": len(content),
        "lines": len(content.splitlines()),
        "preview": content[:32].decode("utf-8"),
    }


def test_preview_bytes_option_limits_the_preview() -> None:
    """``preview_bytes`` sets how much of the payload is shown."""
    response = run_plugin("{{ name }}", "scan", b"abcdef", plugin_opts={"preview_bytes": 3})
    assert response.results["preview"] == "abc"


def test_full_scan_puts_results_under_the_plugin_name(stoq_factory) -> None:
    """Through the engine, the results land in the root payload's first worker round."""
    stoq = stoq_factory(always_dispatch=["{{ name }}"])
    response = stoq.scan(SAMPLE.read_bytes())
    assert response.errors == []
    [(depth, result)] = list(walk(response))
    assert depth == 0
    assert result.workers[0]["{{ name }}"]["size"] == SAMPLE.stat().st_size
{%- endif %}
{%- if 'dispatcher' in roles %}


def test_text_is_dispatched_to_the_text_workers() -> None:
    """A text sample goes to every worker named in ``text_workers``."""
    opts = {"text_workers": ["first", "second"]}
    response = run_plugin("{{ name }}", "get_dispatches", SAMPLE, plugin_opts=opts)
    assert response.plugin_names == ["first", "second"]
    assert response.meta["printable_ratio"] == 1.0


def test_binary_is_not_dispatched() -> None:
    """Every byte value once is mostly unprintable, so nothing is asked for."""
    opts = {"text_workers": ["first"]}
    response = run_plugin("{{ name }}", "get_dispatches", bytes(range(256)), plugin_opts=opts)
    assert response.plugin_names == []
    assert response.meta["printable_ratio"] < 0.95
{%- endif %}
{%- if 'deep_dispatcher' in roles %}


class LengthWorker(WorkerPlugin):
    """A worker built in the test (not installed) so the deep dispatcher has results to see."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> WorkerResponse:
        return WorkerResponse({"length": len(payload.content)})


def test_msg_option_is_read_with_a_fallback() -> None:
    """Without ``msg`` the seed's fallback text is used; with it, the given text."""
    default = run_plugin("{{ name }}", "get_deep_dispatches", SAMPLE)
    given = run_plugin("{{ name }}", "get_deep_dispatches", SAMPLE, plugin_opts={"msg": "hello"})
    assert default.meta["msg"] == "Useful content here"
    assert given.meta["msg"] == "hello"


def test_followup_workers_run_after_the_first_round(stoq_factory) -> None:
    """Once a worker has run, the deep dispatcher adds the ``followup`` workers."""
    stoq = stoq_factory(
        plugins={"length": LengthWorker, "length_again": LengthWorker},
        always_dispatch=["length"],
        deep_dispatchers=["{{ name }}"],
        plugin_opts={"{{ name }}": {"followup": ["length_again"]}},
    )
    response = stoq.scan(SAMPLE.read_bytes())
    [(_, result)] = list(walk(response))
    assert result.plugins_run["workers"] == [["length"], ["length_again"]]
    assert result.deep_dispatch_meta["{{ name }}"]["workers_seen"] == ["length"]
    assert result.workers[1]["length_again"] == {"length": SAMPLE.stat().st_size}
{%- endif %}
{%- if 'provider' in roles %}


def test_ingest_queues_each_file_with_its_name(data_dir: Path) -> None:
    """Each path in ``paths`` becomes one payload carrying the file's bytes and name."""
    files = sorted(data_dir.iterdir())
    items = run_plugin("{{ name }}", "ingest", plugin_opts={"paths": [str(f) for f in files]})
    assert [item.content for item in items] == [f.read_bytes() for f in files]
    assert [item.payload_meta.extra_data["filename"] for item in items] == [f.name for f in files]
{%- endif %}
{%- if 'archiver' in roles %}


def test_archive_then_get_returns_the_same_bytes(tmp_path: Path) -> None:
    """What ``archive`` stores, ``get`` fetches back by the SHA-256 it returned."""
    opts = {"archive_dir": str(tmp_path)}
    stored = run_plugin("{{ name }}", "archive", SAMPLE, plugin_opts=opts)
    fetched = run_plugin("{{ name }}", "get", stored.results["sha256"], plugin_opts=opts)
    assert fetched.content == SAMPLE.read_bytes()
    assert Path(stored.results["path"]).parent == tmp_path


def test_get_refuses_a_task_that_is_not_a_sha256(tmp_path: Path) -> None:
    """A task that could name another file (``../x``) is an error, not a read."""
    with pytest.raises(ValueError, match="SHA-256"):
        run_plugin("{{ name }}", "get", "../passwd", plugin_opts={"archive_dir": str(tmp_path)})
{%- endif %}
{%- if 'connector' in roles %}


def test_save_appends_one_json_line_per_response(stoq_factory, tmp_path: Path) -> None:
    """Each finished request is written as one line of JSON, in order."""
    output = tmp_path / "responses.jsonl"
    stoq = stoq_factory(connectors=["{{ name }}"], plugin_opts={"{{ name }}": {"output": str(output)}})
    first, second = stoq.scan(b"first"), stoq.scan(SAMPLE.read_bytes())
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [line["scan_id"] for line in lines] == [first.scan_id, second.scan_id]
    assert lines[1]["results"][0]["size"] == SAMPLE.stat().st_size
{%- endif %}
{%- if 'decorator' in roles %}


def test_decorate_summarises_the_request(stoq_factory) -> None:
    """The decorator's results count the request's payloads, bytes and errors."""
    stoq = stoq_factory(decorators=["{{ name }}"])
    response = stoq.scan(SAMPLE.read_bytes())
    sizes = [result.size for _, result in walk(response)]
    assert response.decorators["{{ name }}"] == {"payloads": 1, "bytes": sum(sizes), "errors": 0}
{%- endif %}
