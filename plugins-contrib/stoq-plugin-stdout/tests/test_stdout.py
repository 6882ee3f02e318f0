"""Behaviour of the ``stdout`` connector: what it writes, how it is laid out, when it flushes."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any, ClassVar, Dict, Optional

import pytest

from stoq import Payload, RequestMeta, StoqPluginLoadError, WorkerResponse
from stoq.plugins import WorkerPlugin
from stoq.testing import ConnectorConformance, make_stoq
from stoq_plugin_stdout.plugin import StdoutPlugin

SYSTEM_BINARY = Path(shutil.which("ls") or "/bin/ls").resolve()


class BytesWorker(WorkerPlugin):
    """Reports the first bytes of the payload as bytes, and a line break inside a string."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse({"head": payload.content[:4], "note": "two\nlines"})


def scan_to_stdout(contents: list, **options: Any) -> list:
    """Scan each content with the stdout connector; return the responses as dicts."""
    with make_stoq(
        plugins={"bytes_worker": BytesWorker},
        plugin_opts={"stdout": options},
        always_dispatch=["bytes_worker"],
        connectors=["stdout"],
    ) as stoq:
        return [json.loads(str(stoq.scan(content))) for content in contents]


def test_compact_output_is_one_json_line_per_response(capsys) -> None:
    """By default every response is one line of JSON, equal to the response itself."""
    expected = scan_to_stdout([b"first", SYSTEM_BINARY.read_bytes(), b""])
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == expected
    assert [r["results"][0]["size"] for r in expected] == [5, SYSTEM_BINARY.stat().st_size, 0]


def test_line_breaks_and_bytes_in_results_stay_inside_the_line(capsys) -> None:
    """A result holding a newline or raw bytes is escaped, never split across lines."""
    scan_to_stdout([b"\x7fELF and more"])
    (line,) = capsys.readouterr().out.splitlines()
    worker = json.loads(line)["results"][0]["workers"][0]["bytes_worker"]
    assert worker == {"head": "\x7fELF", "note": "two\nlines"}


@pytest.mark.parametrize("indent", [2, "4"])
def test_indent_lays_the_json_out_over_several_lines(capsys, indent: Any) -> None:
    """An integer indent (or its text from an INI file) gives indented JSON."""
    (response,) = scan_to_stdout([b"data"], indent=indent)
    out = capsys.readouterr().out
    assert out == json.dumps(response, indent=int(indent), ensure_ascii=False) + "\n"


@pytest.mark.parametrize("value", ["compact", "none", "None", ""])
def test_compact_spellings_give_one_line(capsys, value: str) -> None:
    """``compact``, ``none`` and an empty value all mean one line per response."""
    scan_to_stdout([b"a", b"b"], indent=value)
    assert len(capsys.readouterr().out.splitlines()) == 2


@pytest.mark.parametrize("value", [-1, "wide", True, 1.5])
def test_a_bad_indent_is_a_load_error_naming_the_option(value: Any) -> None:
    """An indent that is not a whole number or 'compact' stops the plugin from loading."""
    with (
        make_stoq(plugin_opts={"stdout": {"indent": value}}) as stoq,
        pytest.raises(StoqPluginLoadError, match="option 'indent' must be a whole number"),
    ):
        stoq.load_plugin("stdout")


def test_each_response_is_flushed_when_saved(monkeypatch) -> None:
    """The response reaches the file under stdout at once, not when a buffer fills."""
    sink = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(sink, encoding="utf-8"))
    (response,) = scan_to_stdout([b"flush me"])
    assert json.loads(sink.getvalue().decode()) == response


def test_plugin_class_is_the_entry_point() -> None:
    """The installed entry point ``stdout`` loads this class."""
    with make_stoq() as stoq:
        assert isinstance(stoq.load_plugin("stdout"), StdoutPlugin)


class TestStdoutConformance(ConnectorConformance):
    plugin_name = "stdout"
    samples = (SYSTEM_BINARY,)


class TestStdoutIndentedConformance(ConnectorConformance):
    plugin_name = "stdout"
    plugin_opts: ClassVar[Dict[str, Any]] = {"indent": 2}
    samples = (SYSTEM_BINARY,)
