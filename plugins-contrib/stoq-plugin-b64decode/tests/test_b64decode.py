"""Tests for the ``b64decode`` plugin: the stoq conformance suite, then its own behaviour.

Inputs are made here: a real PE the machine ships (``stoq.testing.windows_pe``) encoded with
the standard library's ``base64`` the ways mail, scripts and PEM files carry it.
"""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path
from typing import List

from stoq.testing import WorkerConformance, check_hostile_corpus, run_plugin, walk, windows_pe
from stoq_plugin_b64decode.plugin import _RUN, _matches

PE = windows_pe()
LETTER = (
    b"Dear customer,\n\nplease run the attached update.\n\n"
    + base64.encodebytes(PE)
    + b"\nRegards,\nIT\nsha256: "
    + hashlib.sha256(PE).hexdigest().encode()
    + b"\n"
)


class TestB64decodePluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "b64decode"
    samples = (LETTER, base64.b64encode(base64.b64encode(PE)))


def test_wrapped_base64_pe_inside_text_is_decoded_exactly() -> None:
    """MIME-wrapped base64 (76-character lines) in a letter decodes to the very PE."""
    response = run_plugin("b64decode", "scan", LETTER)
    [child] = response.extracted
    assert child.content == PE
    offset = LETTER.index(base64.encodebytes(PE)[:16])
    assert response.results["decoded"] == [
        {"offset": offset, "length": len(base64.b64encode(PE)), "size": len(PE)}
    ]
    assert child.payload_meta.extra_data == {"encoded_offset": offset, "encoding": "base64"}


def test_one_line_base64_in_a_script_is_decoded() -> None:
    """A single long line inside a JavaScript string literal."""
    script = b'var blob = "' + base64.b64encode(PE[:4096]) + b'";\nsave(atob(blob));\n'
    response = run_plugin("b64decode", "scan", script)
    assert [child.content for child in response.extracted] == [PE[:4096]]


def test_hashes_identifiers_and_short_runs_are_not_decoded() -> None:
    """A hex digest, an all-lowercase word chain and a short token are not base64 findings."""
    text = (
        hashlib.sha512(PE).hexdigest().encode()
        + b"\nabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\n"
        + base64.b64encode(b"short one")
        + b"\n"
    )
    response = run_plugin("b64decode", "scan", text)
    assert response.results["decoded"] == []
    assert response.extracted == []


def test_min_length_option_admits_shorter_runs() -> None:
    """With ``min_length`` 16 a 24-character run is decoded."""
    token = base64.b64encode(b"Secret token 18b")
    response = run_plugin("b64decode", "scan", b"key=" + token, plugin_opts={"min_length": 16})
    assert [child.content for child in response.extracted] == [b"Secret token 18b"]


def test_max_decodes_bounds_the_count_and_reports_the_rest() -> None:
    """Past ``max_decodes`` each further run is listed as skipped with its offset."""
    runs = [base64.b64encode(PE[i * 100 : i * 100 + 90]) for i in range(5)]
    response = run_plugin("b64decode", "scan", b"\n\n".join(runs), plugin_opts={"max_decodes": 2})
    assert len(response.extracted) == 2
    assert response.results["runs"]["skipped"] == 3
    assert [s["reason"] for s in response.results["skipped"]] == ["max_decodes reached"] * 3


def test_max_size_refuses_a_large_run() -> None:
    """A run that would decode past ``max_size`` is reported, not decoded."""
    response = run_plugin("b64decode", "scan", base64.b64encode(PE), plugin_opts={"max_size": 1024})
    assert response.extracted == []
    assert response.results["skipped"] == [
        {"offset": 0, "length": len(base64.b64encode(PE)), "reason": "larger than max_size"}
    ]


def test_encodings_glued_on_one_line_decode_separately() -> None:
    """Two encodings glued together end the first run at its padding: both decode."""
    glued = base64.b64encode(PE[:100]) + base64.b64encode(PE[100:200])
    response = run_plugin("b64decode", "scan", glued)
    assert [child.content for child in response.extracted] == [PE[:100], PE[100:200]]


def test_padding_inside_wrapped_lines_is_invalid_not_a_crash() -> None:
    """Padding at the end of a wrapped line that is not the last is counted invalid."""
    first, second = base64.b64encode(PE[:100]), base64.b64encode(PE[100:200])
    lines = first + b"\n" + second[: len(first)]
    assert first.endswith(b"=") and len(second) >= len(first)
    response = run_plugin("b64decode", "scan", lines)
    assert response.results["runs"]["invalid"] == 1
    assert response.extracted == []


def test_truncated_base64_is_decoded_as_far_as_it_goes_or_counted_invalid() -> None:
    """A run cut mid-quantum: one leftover character is invalid, two or three decode."""
    encoded = base64.b64encode(PE[:300])
    one_over = run_plugin("b64decode", "scan", encoded[:81])
    assert one_over.results["runs"]["invalid"] == 1
    two_over = run_plugin("b64decode", "scan", encoded[:82])
    assert [child.content for child in two_over.extracted] == [PE[:61]]


def test_base64_bomb_of_many_runs_stays_bounded() -> None:
    """A megabyte of short runs: at most ``max_decodes`` children, quickly."""
    run = base64.b64encode(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    started = time.monotonic()
    response = run_plugin("b64decode", "scan", (run + b"\n\n") * 15000)
    assert time.monotonic() - started < 10
    assert len(response.extracted) == 100
    assert response.results["runs"]["skipped"] == 15000 - 100


def test_nested_base64_is_decoded_one_level_per_payload(stoq_factory) -> None:
    """Base64 of base64 of base64 of a PE: three levels, the PE at the bottom, no loop."""
    data = PE
    for _ in range(3):
        data = base64.b64encode(data)
    stoq = stoq_factory(always_dispatch=["b64decode"])
    response = stoq.scan(data)
    assert response.errors == []
    results = list(walk(response))
    assert [depth for depth, _ in results] == [0, 1, 2, 3]
    assert results[-1][1].sha256 == hashlib.sha256(PE).hexdigest()
    assert results[-1][1].workers[0]["b64decode"]["decoded"] == []


def test_recursion_limit_bounds_a_deep_base64_bomb(stoq_factory) -> None:
    """Twelve levels against max_recursion 4: the engine stops and says so."""
    data = b"The bottom of the bomb. " * 8
    for _ in range(12):
        data = base64.b64encode(data)
    stoq = stoq_factory(always_dispatch=["b64decode"], max_recursion=4)
    response = stoq.scan(data)
    assert max(depth for depth, _ in walk(response)) == 4
    assert [error.stage for error in response.errors] == ["limit"]


def test_pem_armoured_runs_are_left_to_x509_unless_asked() -> None:
    """A PEM block's body is counted as ``pem``, not decoded; ``skip_pem`` false decodes it."""
    body = base64.encodebytes(PE[:1500])
    pem = b"# bundle\n-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"
    skipped = run_plugin("b64decode", "scan", pem)
    assert skipped.extracted == []
    assert skipped.results["runs"]["pem"] == 1
    decoded = run_plugin("b64decode", "scan", pem, plugin_opts={"skip_pem": False})
    assert [child.content for child in decoded.extracted] == [PE[:1500]]


def test_payloads_over_max_input_are_not_searched_and_say_so() -> None:
    """A payload larger than ``max_input`` is left alone, with the reason in the result."""
    response = run_plugin("b64decode", "scan", LETTER, plugin_opts={"max_input": 1000})
    assert response.extracted == []
    assert response.results == {
        "decoded": [],
        "skipped": "payload larger than max_input: not searched",
    }


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real letters carrying base64 end in a result or an Error, in budget and memory."""
    check_hostile_corpus("b64decode", [LETTER])


def _run_corpus() -> List[bytes]:
    """Executables, texts and certificates the system ships, their base64 wrapped and not,
    and runs at the edges: 15 and 16 characters, at the very start and end, after padding."""
    files = (
        sorted(Path("/usr/bin").iterdir())[:30:5] + sorted(Path("/usr/share/doc").glob("*/*"))[:15]
    )
    files += sorted(Path("/etc/ssl/certs").glob("*.pem"))[:3]
    real = [path.read_bytes()[:40_000] for path in files if path.is_file()]
    corpus = real + [LETTER] + [base64.encodebytes(data[:3000]) for data in real[:8]]
    corpus += [base64.b64encode(data[:2000]) + b"==x" + data[:100] for data in real[:4]]
    edges = [b"A" * 15, b"A" * 16, b"Ab+/" * 4 + b"=", b"x" * 15 + b" " + b"Q" * 16, b""]
    corpus += edges + [b" ".join(edges), b"\n".join(edges) + b"\n" + b"zZ" * 40]
    return corpus


def test_searching_from_the_first_run_finds_what_the_whole_search_found() -> None:
    """Starting the pattern at the first 16 base64 characters in a row changes no match."""
    for content in _run_corpus():
        expected = [match.span() for match in _RUN.finditer(content)]
        assert [match.span() for match in _matches(content)] == expected
