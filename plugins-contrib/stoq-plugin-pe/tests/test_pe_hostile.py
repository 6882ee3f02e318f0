"""Hostile and broken PE files: each gives results and/or an error, never an exception or a hang."""

from __future__ import annotations

import os
import random
import struct
import time

import pytest
from pe_samples import launcher, signed_dll

from stoq.testing import run_plugin


def scan(data: bytes):
    started = time.monotonic()
    response = run_plugin("pe", "scan", data)
    assert time.monotonic() - started < 10
    return response


@pytest.mark.parametrize("data", [b"", b"ELF", b"\x00" + os.urandom(4096)])
def test_not_a_pe_gives_nothing(data: bytes) -> None:
    """Content without the MZ signature is another format: no results and no error."""
    assert run_plugin("pe", "scan", data) is None


@pytest.mark.parametrize("data", [b"MZ", b"MZ" + os.urandom(4096), b"MZ" + b"\0" * 62])
def test_damaged_headers_are_one_error(data: bytes) -> None:
    """MZ, but no PE header pefile can find: an error and no results."""
    response = scan(data)
    assert response.results is None
    assert [e for e in response.errors if "damaged PE headers" in str(e)]


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.25, 0.5, 0.75, 0.95])
def test_truncated_file_says_how_much_is_missing(fraction: float) -> None:
    """A PE cut short still reports its headers, and how far the sections reach past the end."""
    data = signed_dll().read_bytes()
    cut = data[: int(len(data) * fraction)]
    response = scan(cut)
    if response.results is None:  # cut inside the headers
        assert response.errors
        return
    assert response.results["machine"] == "AMD64"
    assert response.results["truncated_by"] > 0


def test_huge_section_count_is_survived() -> None:
    """A header that declares 65,535 sections is read within bounds."""
    data = bytearray(launcher().read_bytes())
    pe_offset = struct.unpack_from("<I", data, 0x3C)[0]
    struct.pack_into("<H", data, pe_offset + 6, 0xFFFF)
    response = scan(bytes(data))
    assert response.results is not None or response.errors


@pytest.mark.parametrize("index", range(16))
def test_huge_data_directory_is_survived(index: int) -> None:
    """Each data directory declared as 2 GiB long: an error for that table, the rest reported."""
    data = bytearray(signed_dll().read_bytes())
    pe_offset = struct.unpack_from("<I", data, 0x3C)[0]
    directories = pe_offset + 24 + 112  # PE32+ optional header before its directories
    struct.pack_into("<II", data, directories + index * 8, 0x1000, 0x7FFFFFFF)
    response = scan(bytes(data))
    assert response.results is not None
    assert response.results["machine"] == "AMD64"


def test_corrupted_headers_never_raise() -> None:
    """Random bytes changed in the first kilobyte: every variant returns a response."""
    original = launcher().read_bytes()
    rng = random.Random(14)
    for _ in range(60):
        data = bytearray(original)
        for _ in range(rng.randint(1, 16)):
            data[rng.randrange(1024)] = rng.randrange(256)
        response = scan(bytes(data))
        assert response is None or response.results is not None or response.errors
