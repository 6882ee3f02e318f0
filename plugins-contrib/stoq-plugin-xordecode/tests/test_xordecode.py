"""Tests for the ``xordecode`` plugin: the stoq conformance suite, then its own behaviour.

Inputs are made here by XORing a real PE the machine ships (``stoq.testing.windows_pe``) and
real text with keys of several lengths.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from stoq.testing import (
    WorkerConformance,
    check_hostile_corpus,
    elf_binary,
    run_plugin,
    walk,
    windows_pe,
)
from stoq_plugin_xordecode import plugin
from stoq_plugin_xordecode.plugin import PLAINTEXTS, _minimal_key, _shifted_difference, xor

PE = windows_pe()
DOS_STUB_OFFSET = PE.index(b"This program cannot be run in DOS mode")


def reference_xor(data: bytes, key: bytes) -> bytes:
    """XOR byte by byte, the obvious way, to check the plugin's fast XOR against."""
    return bytes(byte ^ key[index % len(key)] for index, byte in enumerate(data))


class TestXordecodePluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "xordecode"
    samples = (reference_xor(PE, b"\x5a"), reference_xor(PE, b"k3y!"))


@pytest.mark.parametrize(
    "key", [b"\x5a", b"\xff", b"k3y", b"\x00\x41", b"k3y!", b"\x01\x02\x03\x04\x05\x06\x07\x08"]
)
def test_pe_xored_with_a_short_key_is_recovered(key: bytes) -> None:
    """The key is found from the DOS stub and the decoded payload is the very PE."""
    response = run_plugin("xordecode", "scan", reference_xor(PE, key))
    assert response.results["keys"] == [
        {
            "key": key.hex(),
            "length": len(key),
            "offset": DOS_STUB_OFFSET,
            "plaintext": "This program cannot be run in DOS mode",
        }
    ]
    [child] = response.extracted
    assert child.content == PE
    assert child.payload_meta.extra_data == {"xor_key": key.hex(), "encoding": "xor"}


def test_a_key_is_reported_in_its_shortest_form() -> None:
    """``abab`` repeats ``ab``: the key is reported with length 2."""
    response = run_plugin("xordecode", "scan", reference_xor(PE, b"\x10\x20\x10\x20"))
    assert [k["key"] for k in response.results["keys"]] == ["1020"]


def test_url_in_xored_text_finds_the_key() -> None:
    """A script XORed with a 3-byte key is found from its ``https://``."""
    text = b"payload = fetch('https://downloads.example.org/stage2.bin')\n" * 3
    response = run_plugin("xordecode", "scan", reference_xor(text, b"\x13\x37\x42"))
    assert [child.content for child in response.extracted] == [text]
    assert response.results["keys"][0]["plaintext"] == "https://"


def test_key_longer_than_max_key_length_is_not_found() -> None:
    """``max_key_length`` bounds the search: a 6-byte key needs at least 6."""
    data = reference_xor(PE, b"abcdef")
    assert run_plugin("xordecode", "scan", data, plugin_opts={"max_key_length": 5}).extracted == []
    found = run_plugin("xordecode", "scan", data, plugin_opts={"max_key_length": 6})
    assert [child.content for child in found.extracted] == [PE]


def test_plaintext_in_the_clear_gives_no_key() -> None:
    """An unencoded PE has the plaintext under key zero: nothing to decode, no loop."""
    response = run_plugin("xordecode", "scan", PE)
    assert response.results == {"keys": []}
    assert response.extracted == []


def test_fast_xor_matches_the_byte_by_byte_reference() -> None:
    """The big-integer XOR agrees with the obvious loop, leading zero bytes included."""
    data = b"\x00\x00" + os.urandom(10000)
    assert xor(data, b"\x00\x9c\x01") == reference_xor(data, b"\x00\x9c\x01")


def test_random_and_uniform_data_give_no_key_quickly() -> None:
    """4 MiB of random bytes and 4 MiB of zeros: no key, within seconds."""
    for data in (os.urandom(4 << 20), bytes(4 << 20)):
        started = time.monotonic()
        response = run_plugin("xordecode", "scan", data)
        assert time.monotonic() - started < 10
        assert response.results == {"keys": []}


def test_truncated_xored_pe_before_the_stub_gives_no_key() -> None:
    """Cut before the DOS stub there is no known plaintext left; cut after it still decodes."""
    data = reference_xor(PE, b"\x77")
    assert run_plugin("xordecode", "scan", data[: DOS_STUB_OFFSET + 10]).extracted == []
    cut = run_plugin("xordecode", "scan", data[:200])
    assert [child.content for child in cut.extracted] == [PE[:200]]


def test_max_size_skips_large_payloads_and_says_so() -> None:
    """A payload over ``max_size`` is not searched; the result says why."""
    response = run_plugin(
        "xordecode", "scan", reference_xor(PE, b"\x5a"), plugin_opts={"max_size": 1000}
    )
    assert response.results == {"keys": [], "skipped": "payload larger than max_size"}


def test_max_keys_bounds_the_decodings() -> None:
    """Two regions under two keys: ``max_keys`` 1 extracts one and reports the other."""
    data = reference_xor(PE, b"\x11") + reference_xor(PE, b"\x22")
    response = run_plugin("xordecode", "scan", data, plugin_opts={"max_keys": 1})
    assert len(response.extracted) == 1
    assert response.results["skipped"] == "1 more keys past max_keys"


def test_decoded_pe_is_scanned_once_and_not_decoded_again(stoq_factory) -> None:
    """Through the engine: the decoded PE is a child whose own xordecode finds nothing."""
    stoq = stoq_factory(always_dispatch=["xordecode"])
    response = stoq.scan(reference_xor(PE, b"\xa5"))
    assert response.errors == []
    results = list(walk(response))
    assert [depth for depth, _ in results] == [0, 1]
    assert results[1][1].sha256 == hashlib.sha256(PE).hexdigest()
    assert results[1][1].workers[0]["xordecode"] == {"keys": []}


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real XOR-encoded executables end in a result or an Error, in budget and memory."""
    check_hostile_corpus("xordecode", [reference_xor(PE, b"k3y!")])


def reference_find_keys(data: bytes, max_key_length: int) -> List[Tuple[bytes, int, bytes]]:
    """``find_keys`` as it was: each shifted difference built by ``xor`` from two slices."""
    found: Dict[bytes, Tuple[int, bytes]] = {}
    for length in range(1, max_key_length + 1):
        difference = _shifted_difference(data, length)
        for text in PLAINTEXTS:
            if len(text) - length < 4:
                continue
            wanted = _shifted_difference(text, length)
            at = difference.find(wanted)
            for _ in range(64):
                if at < 0:
                    break
                phase = [data[at + j] ^ text[j] for j in range(length)]
                key = _minimal_key(bytes(phase[(j - at) % length] for j in range(length)))
                if any(key):
                    found.setdefault(key, (at, text))
                at = difference.find(wanted, at + 1)
    return [(key, at, text) for key, (at, text) in found.items()]


def _key_corpus() -> List[bytes]:
    """Real files (executables, licence texts full of URLs) plain and XORed, and edge cases."""
    real = [PE, elf_binary()[:65536]]
    docs = sorted(Path("/usr/share/doc").glob("*/copyright"))[:12]
    real += [path.read_bytes()[:32768] for path in docs]
    corpus = list(real)
    for index, key in enumerate([b"\x5a", b"\x00\x41", b"k3y", b"\x10\x20\x10\x20", b"12345678"]):
        corpus += [reference_xor(data, key) for data in real[index::3]]
    urls = b"get http://a.example/ and https://b.example/ " * 90  # past 64 hits a text
    corpus += [urls, reference_xor(urls, b"\x01\x02\x03"), reference_xor(urls, b"\xff")]
    rng = random.Random(15)
    corpus += [rng.randbytes(size) for size in range(40)] + [b"http://", b"This"]
    corpus += [reference_xor(b"x" * size + b"https://", b"\x07\x08") for size in range(12)]
    return corpus


@pytest.mark.parametrize("path", ["integers", "numpy", "numpy, one length at a time"])
def test_find_keys_matches_the_reference_on_a_corpus(path: str, monkeypatch) -> None:
    """Every way of building the differences (numpy imported or not; with numpy, every length
    at once or, as for larger payloads, one at a time in one buffer)
    finds the very keys, offsets and order that XORing two slices per key length found, for
    key lengths short and past every text."""
    if path == "integers":
        monkeypatch.delitem(sys.modules, "numpy", raising=False)
    else:
        import numpy  # noqa: F401  (imported, as entropy and fuzzyhash do in a scan)
    if path.endswith("one at a time"):
        monkeypatch.setattr(plugin, "_BLOCK_BYTES", 0)
    for data in _key_corpus():
        for max_key_length in (1, 3, 8, 40):
            expected = reference_find_keys(data, max_key_length)
            assert plugin.find_keys(data, max_key_length) == expected, (len(data), max_key_length)


def test_a_payload_of_max_size_is_searched_without_a_copy() -> None:
    """At ``max_size`` (16 MiB) the differences live in one buffer of the payload's size: a
    padded copy of the payload and a buffer per key length held beside the last one once
    took the peak from 32 to 64 MiB, payload included."""
    import tracemalloc

    import numpy  # noqa: F401  (imported, as entropy and fuzzyhash do in a scan)

    size = plugin.XordecodePlugin.DEFAULT_OPTIONS["max_size"]
    data = reference_xor(PE, b"k3y!") + random.Random(16).randbytes(size - len(PE))
    tracemalloc.start()
    try:
        found = plugin.find_keys(data, 8)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [key for key, _, _ in found] == [b"k3y!"]
    assert peak < 1.1 * size
