"""Tests for the ``jinja`` plugin: the stoq conformance suite, then its own behaviour.

Responses are real scans (through the engine, with the plugin as decorator or connector);
templates are written by the tests as a user would write them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from stoq import RequestMeta
from stoq.testing import ConnectorConformance, DecoratorConformance, make_stoq, windows_pe

PE = windows_pe()
MARKDOWN = """\
# stoQ scan {{ response.scan_id }}
| payload | size | sha256 |
| --- | --- | --- |
{% for r in response.results -%}
| {{ r.payload_meta.extra_data.filename | default("-") }} | {{ r.size }} | `{{ r.sha256 }}` |
{% endfor %}"""


class TestJinjaPluginConformance(ConnectorConformance, DecoratorConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "jinja"
    samples = (PE,)


def write(tmp_path: Path, text: str, name: str = "report.md.j2") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_decorator_renders_the_default_summary(stoq_factory) -> None:
    """Without a template the summary names the scan, each payload and the workers that ran."""
    stoq = stoq_factory(decorators=["jinja"], always_dispatch=[])
    response = stoq.scan(PE)
    rendered = response.decorators["jinja"]["rendered"]
    assert response.decorators["jinja"]["truncated"] is False
    sha256 = hashlib.sha256(PE).hexdigest()
    assert rendered.splitlines() == [
        f"scan {response.scan_id} at {response.time}: 1 payload(s), 0 error(s)",
        f"- {response.results[0].payload_id} ({len(PE)} bytes, sha256 {sha256})",
    ]


def test_connector_appends_each_rendering_to_the_output_file(tmp_path: Path) -> None:
    """A user's Markdown template, two scans, one file: both reports, in order."""
    output = tmp_path / "reports.md"
    options = {"jinja": {"template": write(tmp_path, MARKDOWN), "output": str(output)}}
    with make_stoq(connectors=["jinja"], plugin_opts=options) as stoq:
        first = stoq.scan(PE)
        second = stoq.scan(b"second payload")
    text = output.read_text(encoding="utf-8")
    assert text.count("# stoQ scan ") == 2
    assert text.index(first.scan_id) < text.index(second.scan_id)
    assert f"| - | {len(PE)} | `{hashlib.sha256(PE).hexdigest()}` |" in text


def test_connector_with_no_output_writes_to_standard_output(capsys, tmp_path: Path) -> None:
    """``output`` empty: the rendering is the standard output stream (as under ``stoq run``)."""
    template = write(tmp_path, "{{ response.scan_id }} {{ response.results[0].size }}\n")
    with make_stoq(connectors=["jinja"], plugin_opts={"jinja": {"template": template}}) as stoq:
        response = stoq.scan(b"12345")
    assert capsys.readouterr().out == f"{response.scan_id} 5\n"


def test_template_sees_the_response_as_printed_json(tmp_path: Path) -> None:
    """``response`` is the JSON data: ``tojson`` of it parses back to the printed response."""
    template = write(tmp_path, "{{ response | tojson }}")
    options = {"jinja": {"template": template}}
    with make_stoq(decorators=["jinja"], plugin_opts=options) as stoq:
        response = stoq.scan(b"data")
    rendered = json.loads(response.decorators["jinja"]["rendered"])
    printed = json.loads(str(response))
    assert rendered["scan_id"] == printed["scan_id"]
    assert rendered["results"] == printed["results"]


def test_autoescape_option_escapes_markup(tmp_path: Path) -> None:
    """With ``autoescape`` a filename holding markup is escaped in an HTML report."""
    template = write(tmp_path, "<td>{{ response.request_meta.source }}</td>", "r.html.j2")
    for escape, expected in ((True, "<td>&lt;b&gt;x&lt;/b&gt;</td>"), (False, "<td><b>x</b></td>")):
        options = {"jinja": {"template": template, "autoescape": escape}}
        with make_stoq(decorators=["jinja"], plugin_opts=options) as stoq:
            response = stoq.scan(b"x", request_meta=RequestMeta(source="<b>x</b>"))
        assert response.decorators["jinja"]["rendered"] == expected


def test_max_chars_cuts_the_decorator_rendering(tmp_path: Path) -> None:
    """A long rendering is cut at ``max_chars`` and says it was."""
    template = write(tmp_path, "{% for i in range(1000) %}line {{ i }}\n{% endfor %}")
    options = {"jinja": {"template": template, "max_chars": 50}}
    with make_stoq(decorators=["jinja"], plugin_opts=options) as stoq:
        response = stoq.scan(b"x")
    assert len(response.decorators["jinja"]["rendered"]) == 50
    assert response.decorators["jinja"]["truncated"] is True


@pytest.mark.parametrize(
    ("text", "message"),
    [("{% for x in %}", "line 1"), (None, "does not exist")],
    ids=["syntax-error", "missing-file"],
)
def test_bad_template_is_one_load_error(tmp_path: Path, text, message: str) -> None:
    """A template that does not compile or exist: one load error, the scan still completes."""
    template = write(tmp_path, text) if text is not None else str(tmp_path / "nowhere.j2")
    with make_stoq(decorators=["jinja"], plugin_opts={"jinja": {"template": template}}) as stoq:
        response = stoq.scan(b"x")
    [error] = response.errors
    assert (error.plugin_name, error.stage) == ("jinja", "load")
    assert message in error.error
    assert response.results[0].size == 1


def test_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    """A template reaching for ``__subclasses__`` fails that rendering, as a decorate error."""
    template = write(tmp_path, "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with make_stoq(decorators=["jinja"], plugin_opts={"jinja": {"template": template}}) as stoq:
        response = stoq.scan(b"x")
    [error] = response.errors
    assert (error.plugin_name, error.stage) == ("jinja", "decorate")
    assert "SecurityError" in error.error or "UndefinedError" in error.error


def test_runtime_error_in_template_is_a_decorate_error(tmp_path: Path) -> None:
    """Division by zero while rendering: one error, the response intact."""
    template = write(tmp_path, "{{ response.results | length / 0 }}")
    with make_stoq(decorators=["jinja"], plugin_opts={"jinja": {"template": template}}) as stoq:
        response = stoq.scan(b"x")
    [error] = response.errors
    assert error.stage == "decorate"
    assert "ZeroDivisionError" in error.error


def test_connector_owns_standard_output_only_without_an_output_file(tmp_path: Path) -> None:
    """No ``output``: the rendering is the response stream (``writes_stdout``); a file: not."""
    with make_stoq() as stoq:
        assert stoq.load_plugin("jinja").writes_stdout is True
    options = {"jinja": {"output": str(tmp_path / "out.txt")}}
    with make_stoq(plugin_opts=options) as stoq:
        assert stoq.load_plugin("jinja").writes_stdout is False
