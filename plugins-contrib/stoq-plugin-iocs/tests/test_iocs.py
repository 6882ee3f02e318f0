"""Tests for the ``iocs`` plugin: the stoq conformance suite, then its own behaviour."""

from __future__ import annotations

import hashlib
import random
import socket
import subprocess
import sys
from typing import Any, Dict

import pytest

from stoq.testing import WorkerConformance, run_plugin

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
REPORT = f"""Threat report.
Payload fetched from hxxps://evil[.]example[.]com/stage2?id=7, then http://cdn.example.org/a.js.
Replies go to billing[@]phish.co.uk; our contact is soc@example.net.
C2 at 198.51.100[.]23 and 2001:db8::7; not addresses: 10.0.0.300, 1.2.3.4.5, version 1.2.3.
Dropped report.exe and invoice.zip.
md5 {hashlib.md5(b"").hexdigest()} sha1 {hashlib.sha1(b"").hexdigest()}
sha256 {EMPTY_SHA256} sha512 {hashlib.sha512(b"").hexdigest()}
padding {"0" * 64}
""".encode()


def scan(content: bytes, **options: Any) -> Any:
    return run_plugin("iocs", "scan", content, plugin_opts=options)


class TestIocsPluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "iocs"
    samples = (REPORT, REPORT.decode().encode("utf-16"))


def test_every_kind_is_found_and_look_alikes_are_dropped() -> None:
    results = scan(REPORT).results
    assert results["urls"] == [
        "https://evil.example.com/stage2?id=7",
        "http://cdn.example.org/a.js",
    ]
    assert results["domains"] == ["evil.example.com", "cdn.example.org", "invoice.zip"]
    assert results["emails"] == ["billing@phish.co.uk", "soc@example.net"]
    assert results["ipv4"] == ["198.51.100.23"]
    assert results["ipv6"] == ["2001:db8::7"]
    assert results["md5"] == [hashlib.md5(b"").hexdigest()]
    assert results["sha1"] == [hashlib.sha1(b"").hexdigest()]
    assert results["sha256"] == [EMPTY_SHA256]
    assert results["sha512"] == [hashlib.sha512(b"").hexdigest()]
    assert "skipped" not in results


def test_defanged_indicators_are_refanged_and_listed() -> None:
    results = scan(REPORT).results
    assert results["defanged"] == [
        "198.51.100.23",
        "billing@phish.co.uk",
        "evil.example.com",
        "https://evil.example.com/stage2?id=7",
    ]


@pytest.mark.parametrize(
    ("written", "url"),
    [
        ("hxxp://a.example.com/x", "http://a.example.com/x"),
        ("http://a(.)example(.)com/x", "http://a.example.com/x"),
        ("http://a[dot]example[dot]com/x", "http://a.example.com/x"),
        ("hxxps[:]//a.example.com/x", "https://a.example.com/x"),
        ("fxp://files.example.com/x", "ftp://files.example.com/x"),
    ],
)
def test_defanged_spellings(written: str, url: str) -> None:
    assert scan(written.encode()).results["urls"] == [url]


def test_utf16_text_is_read() -> None:
    results = scan(REPORT.decode().encode("utf-16")).results
    assert results["emails"] == ["billing@phish.co.uk", "soc@example.net"]


def test_input_is_bounded_and_the_rest_reported() -> None:
    content = b"x" * 100 + b" http://late.example.com/"
    results = scan(content, max_bytes=100).results
    assert results["urls"] == []
    assert results["skipped"] == ["25 bytes beyond max_bytes (100) not read"]


def test_max_per_kind_is_honoured_and_reported() -> None:
    content = " ".join(f"192.0.2.{n}" for n in range(1, 11)).encode()
    results = scan(content, max_per_kind=3).results
    assert results["ipv4"] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert results["skipped"] == ["7 more ipv4 beyond max_per_kind (3)"]


def test_a_value_past_max_per_kind_is_counted_once_however_often_it_repeats() -> None:
    """Four distinct addresses, the last one five times: one more, not five."""
    content = " ".join(["192.0.2.1", "192.0.2.2", "192.0.2.3"] + ["192.0.2.9"] * 5).encode()
    results = scan(content, max_per_kind=3).results
    assert results["ipv4"] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert results["skipped"] == ["1 more ipv4 beyond max_per_kind (3)"]


def test_the_public_suffix_list_is_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network at run time: a scan works with sockets refused."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("network used")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert scan(b"see www.example.co.uk").results["domains"] == ["www.example.co.uk"]


def test_binary_noise_gives_a_result(stoq_factory) -> None:
    stoq = stoq_factory(always_dispatch=["iocs"])
    response = stoq.scan(bytes(range(256)) * 64)
    assert response.errors == []
    assert response.results[0].workers[0]["iocs"]["urls"] == []


def test_refang_shortcut_changes_nothing() -> None:
    """Text without a bracket or 'xp' skips the refang pass: on strings built from every
    defanged spelling and its pieces, refang gives exactly what the full pass gives."""
    from stoq_plugin_iocs import patterns

    pieces = ["hxxp", "HXXPS", "fxp", "FxP", "[.]", "(.)", "{dot}", "[://]", "[:]", "[colon]"]
    pieces += ["[@]", "(at)", "evil", "com", " ", "\n", "x", "p", "X", ".", "/", "("]
    rng = random.Random(15)
    changed = 0
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 10)))
        full = patterns._DEFANG.sub(lambda m: patterns._FANGED[m.lastgroup or ""], text)
        assert patterns.refang(text) == full, text
        changed += full != text
    assert changed > 1000  # the corpus does exercise the full pass


def hostile_runs() -> Dict[str, bytes]:
    """Text built to make the patterns backtrack: long runs of what every pattern partly matches."""
    return {
        "dotted-labels": b"a." * 200_000,
        "dotted-digits": b"1." * 200_000,
        "scheme-no-host": b"http://" * 50_000,
        "one-long-host": b"http://" + b"a" * 500_000 + b".com",
        "defanged-dots": b"[.]" * 150_000,
        "at-signs": b"a@" * 200_000,
        "hex-run": b"0" * 1_000_000,
        "colons": b"1:" * 200_000,
        "hxxp-prefixes": b"hxxp" * 100_000,
        "undecodable": bytes(range(256)) * 2_000,
    }


def test_hostile_corpus() -> None:
    """Hostile variants of a real report, and the runs above, each end in a result or an
    Error, in budget."""
    from stoq.testing import check_hostile_corpus

    runs = hostile_runs()
    outcomes = check_hostile_corpus("iocs", [REPORT], extra=runs)
    assert set(runs) <= set(outcomes)


def test_patterns_are_compiled_when_first_used() -> None:
    """Importing compiles none; text without a dot, colon, @ or bracket needs none; a pattern
    used is compiled and finds what ``re`` does."""
    code = (
        "from stoq_plugin_iocs import patterns as p\n"
        "def compiled():\n"
        "    return sorted(n for n, v in vars(p).items() if isinstance(v, p._Lazy) and len(vars(v)) > 1)\n"
        "print(compiled())\n"
        "for kind in p.KINDS: p.find('hello stoq, nothing here\\n', kind, 10)\n"
        "p.refang('hello stoq'); print(compiled())\n"
        "print(p.find('see http://example.com/x', 'urls', 10), compiled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[]", "[]", "(['http://example.com/x'], 1) ['_URL']"]
