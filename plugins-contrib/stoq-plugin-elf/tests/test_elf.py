"""Tests for the ``elf`` worker on the system's binaries and on ELF files gcc builds here."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, elf_binary, run_plugin, walk

LS = Path(shutil.which("ls") or "/bin/ls").resolve()


def scan(data: bytes, **options: object):
    return run_plugin("elf", "scan", data, plugin_opts=options or None)


def readelf(*args: str) -> str:
    """binutils' readelf, the reference this plugin's answers are checked against."""
    tool = shutil.which("readelf")
    assert tool, "readelf (binutils) is needed by these tests"
    return subprocess.run([tool, "-W", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A shared library with two exported functions, and a static, stripped executable."""
    gcc = shutil.which("gcc")
    assert gcc, "gcc is needed by these tests"
    folder = tmp_path_factory.mktemp("elf")
    source = folder / "lib.c"
    source.write_text(
        "int stoq_add(int a, int b) { return a + b; }\nint stoq_twice(int a) { return 2 * a; }\n"
    )
    main = folder / "main.c"
    main.write_text("int main(void) { return 7; }\n")
    subprocess.run([gcc, "-shared", "-fPIC", "-o", folder / "libstoq.so", source], check=True)
    subprocess.run([gcc, "-static", "-s", "-o", folder / "static", main], check=True)
    return {name: (folder / name).read_bytes() for name in ("libstoq.so", "static")}


class TestElfPluginConformance(WorkerConformance):
    plugin_name = "elf"
    samples = (LS,)


def test_system_binary_matches_readelf() -> None:
    """Class, machine, interpreter and needed libraries are those readelf reports for ls."""
    results = scan(elf_binary()).results
    header = readelf("-h", str(LS))
    assert results["class"] == re.search(r"Class:\s+(\S+)", header).group(1)
    assert results["interpreter"] == re.search(
        r"interpreter: (\S+)\]", readelf("-l", str(LS))
    ).group(1)
    assert results["needed"] == re.findall(r"\(NEEDED\).*\[(.+)\]", readelf("-d", str(LS)))
    assert results["build_id"] == re.search(r"Build ID: (\w+)", readelf("-n", str(LS))).group(1)
    assert results["packed_hints"] == []


def test_sections_match_readelf_with_entropy() -> None:
    """Every section readelf lists is reported, each with its raw bytes' entropy."""
    results = scan(elf_binary()).results
    names = [s["name"] for s in results["sections"] if s["name"]]
    listed = re.findall(r"^\s*\[\s*\d+\]\s+(\S+)\s", readelf("-S", str(LS)), re.MULTILINE)
    assert names == [n for n in listed if n != "NULL"]
    text = next(s for s in results["sections"] if s["name"] == ".text")
    assert 5.0 < text["entropy"] < 7.0


def test_shared_library_exports_its_functions(built: dict) -> None:
    """gcc's shared object is a DYN without an interpreter, exporting both functions."""
    results = scan(built["libstoq.so"]).results
    assert results["type"] == "DYN"
    assert results["interpreter"] is None
    names = {s["name"] for s in results["symbols"]["names"]}
    assert {"stoq_add", "stoq_twice"} <= names


def test_symbol_limit_is_reported(built: dict) -> None:
    """``max_symbols`` bounds the list; ``count`` still says how many there were."""
    results = scan(built["libstoq.so"], max_symbols=2).results
    assert len(results["symbols"]["names"]) == 2
    assert results["symbols"]["count"] > 2


def test_static_stripped_executable(built: dict) -> None:
    """A static executable has no interpreter and needs no library."""
    results = scan(built["static"]).results
    assert results["type"] == "EXEC" or results["type"] == "DYN"
    assert results["interpreter"] is None
    assert results["needed"] == []


def test_compressed_code_is_a_packed_hint() -> None:
    """Replacing the code segment with compressed bytes raises its entropy past the hint."""
    data = bytearray(elf_binary())
    code = next(
        s
        for s in scan(bytes(data)).results["segments"]
        if s["type"] == "LOAD" and "X" in s["flags"]
    )
    noise = zlib.compress(os.urandom(code["size"]))[: code["size"]]
    data[code["offset"] : code["offset"] + len(noise)] = noise
    hints = scan(bytes(data)).results["packed_hints"]
    assert any("entropy" in hint for hint in hints)


def test_not_elf_gives_nothing() -> None:
    """Another format is not an error: the worker has nothing to say about it."""
    assert run_plugin("elf", "scan", b"MZ not an elf") is None


def test_magic_with_a_damaged_header_is_one_error() -> None:
    response = scan(b"\x7fELF" + b"\xff" * 12)
    assert response.results is None
    assert "damaged ELF header" in str(response.errors[0])


@pytest.mark.parametrize("size", [4, 16, 52, 64, 200, 4096, 50000])
def test_truncated_binary_gives_results_or_an_error(size: int) -> None:
    """ls cut short: LIEF reads what is there, or the worker says it cannot."""
    response = scan(elf_binary()[:size])
    assert response.results is not None or response.errors


def test_corrupted_binaries_never_raise() -> None:
    """Random bytes changed in the headers and tables: a response every time, quickly."""
    original = elf_binary()
    rng = random.Random(14)
    for _ in range(100):
        data = bytearray(original)
        for _ in range(rng.randint(1, 24)):
            data[rng.randrange(512)] = rng.randrange(256)
        started = time.monotonic()
        response = scan(bytes(data))
        assert time.monotonic() - started < 10
        assert response is None or response.results is not None or response.errors


def test_full_scan(stoq_factory) -> None:
    stoq = stoq_factory()
    response = stoq.scan(elf_binary(), add_start_dispatch=["elf"])
    assert response.errors == []
    [(_depth, result)] = list(walk(response))
    assert result.workers[0]["elf"]["machine"] == "X86_64"


@pytest.mark.parametrize(("field", "offset"), [("e_phnum", 56), ("e_shnum", 60)])
def test_huge_declared_counts(field: str, offset: int) -> None:
    """A header declaring 65,535 program or section headers is read within bounds, quickly."""
    data = bytearray(elf_binary())
    data[offset : offset + 2] = b"\xff\xff"
    started = time.monotonic()
    response = scan(bytes(data))
    assert time.monotonic() - started < 10
    assert response.results is not None or response.errors


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real ELF executables end in a result or an Error, in budget and memory."""
    check_hostile_corpus("elf", [LS.read_bytes()])
