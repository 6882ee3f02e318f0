"""Tests for the ``macho`` worker on the Mach-O files in delocate's source distribution.

delocate's ``make_libs.sh`` built ``liba_both.dylib`` with ``lipo -create liba.dylib
libam1.dylib``: the fat file's slices must be exactly those two files.
"""

from __future__ import annotations

import hashlib
import json
import random
import struct

import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk

SDIST = "delocate-0.13.0.tar.gz"
DATA = "delocate-0.13.0/delocate/tests/data/"
SHA256 = {
    "liba_both.dylib": "5d4bb5ec85d2ebd0bddddecbc0cfd37cc3edeb1dab438ea50d7ba56a8428ab9f",
    "liba.dylib": "53e364ebb1184346142b2319dbceaa17037a3cc3268ca672707db0171a27b18d",
    "libam1.dylib": "d10d980fc056ea293b86d5affc4373009370a193ce3a7a9da0dc30234f6ed484",
    "test-lib": "d74ff263bb650a8b0213eebe26f3f5a1e0c44571e8234a839e7df978e234f4b9",
}


def sample(name: str) -> bytes:
    return pinned_sample(SDIST, DATA + name, SHA256[name]).read_bytes()


def scan(data: bytes, **options: object):
    return run_plugin("macho", "scan", data, plugin_opts=options or None)


class TestMachoPluginConformance(WorkerConformance):
    plugin_name = "macho"
    samples = tuple(
        pinned_sample(SDIST, DATA + name, SHA256[name])
        for name in ("liba_both.dylib", "libam1.dylib")
    )


def test_fat_slices_are_the_files_lipo_joined() -> None:
    """Each slice is listed with its CPU and extracted byte for byte as the original file."""
    response = scan(sample("liba_both.dylib"))
    assert response.results["fat"] is True
    assert [s["cpu_type"] for s in response.results["slices"]] == ["X86_64", "ARM64"]
    digests = [hashlib.sha256(e.content).hexdigest() for e in response.extracted]
    assert digests == [SHA256["liba.dylib"], SHA256["libam1.dylib"]]
    assert [e.payload_meta.extra_data["macho_slice"]["index"] for e in response.extracted] == [0, 1]


def test_thin_arm64_dylib_with_an_adhoc_signature() -> None:
    """libam1.dylib: an arm64 dylib for macOS 11, linker-signed ad hoc, no entitlements."""
    results = scan(sample("libam1.dylib")).results
    assert results["fat"] is False
    assert results["cpu_type"] == "ARM64" and results["file_type"] == "DYLIB"
    assert results["platform"] == {"platform": "MACOS", "minos": "11.0.0"}
    assert results["dylibs"][1:] == ["/usr/lib/libc++.1.dylib", "/usr/lib/libSystem.B.dylib"]
    assert "CODE_SIGNATURE" in results["load_commands"]
    signature = results["code_signature"]
    assert signature["valid_structure"] is True
    assert signature["identifier"] == "libam1.dylib"
    assert signature["adhoc"] is True
    assert signature["entitlements"] is None


def test_unsigned_executable() -> None:
    results = scan(sample("test-lib")).results
    assert results["file_type"] == "EXECUTE"
    assert results["entry_point"] is not None
    assert results["code_signature"] is None
    assert "libc.dylib" in results["dylibs"]


def test_slice_limits_are_reported() -> None:
    """Past ``max_slices`` or above ``max_slice_size`` a slice is listed, not extracted."""
    response = scan(sample("liba_both.dylib"), max_slices=1)
    assert len(response.extracted) == 1
    assert response.results["slices"][1]["not_extracted"] == "max_slices"
    response = scan(sample("liba_both.dylib"), max_slice_size=40000)
    assert [s.get("not_extracted") for s in response.results["slices"]] == [None, "max_slice_size"]


def test_not_macho_gives_nothing() -> None:
    """Another format is not an error: the worker has nothing to say about it."""
    assert scan(b"\x7fELF and then some") is None


def test_java_class_file_is_not_a_fat_binary() -> None:
    """CAFEBABE followed by a class-file version (0x41 = Java 21) is not taken for fat."""
    assert scan(bytes.fromhex("CAFEBABE00000041") + b"\0" * 100) is None


@pytest.mark.parametrize("size", [8, 28, 100, 20000, 50000, 100000])
def test_truncated_fat_binary(size: int) -> None:
    """A fat file cut short: slices past the end are flagged truncated or reported as errors."""
    response = scan(sample("liba_both.dylib")[:size])
    assert response.results is not None or response.errors
    for piece in (response.results or {}).get("slices", []):
        if piece["offset"] + piece["size"] > size:
            assert piece.get("truncated_by") or piece.get("not_extracted")


def test_lying_fat_header_is_bounded() -> None:
    """A slice declared 4 GiB long at a huge offset: listed, nothing extracted, no exception."""
    data = bytearray(sample("liba_both.dylib"))
    struct.pack_into(">II", data, 8 + 20 + 8, 0x7FFFFFF0, 0xFFFFFFF0)  # second slice
    response = scan(bytes(data), max_slice_size=1 << 20)
    assert response.results["slices"][1]["not_extracted"] in ("max_slice_size", "outside the file")
    assert len(response.extracted) == 1
    json.dumps(response.results)


def test_corrupted_headers_never_raise() -> None:
    original = sample("libam1.dylib")
    rng = random.Random(14)
    for _ in range(100):
        data = bytearray(original)
        for _ in range(rng.randint(1, 16)):
            data[rng.randrange(4, 2048)] = rng.randrange(256)
        response = scan(bytes(data))
        assert response.results is not None or response.errors


def test_full_scan_scans_each_slice(stoq_factory) -> None:
    """Through the engine each extracted slice comes back as a child, analysed by macho too."""
    stoq = stoq_factory(always_dispatch=["macho"])
    response = stoq.scan(sample("liba_both.dylib"))
    assert response.errors == []
    children = [r for depth, r in walk(response) if depth == 1]
    assert [c.workers[0]["macho"]["cpu_type"] for c in children] == ["X86_64", "ARM64"]


ENTITLEMENTS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>'
    b"<key>com.apple.security.get-task-allow</key><true/></dict></plist>\n"
)


def signature_with_entitlements(size: int) -> bytes:
    """A SuperBlob as codesign lays it out (cs_blobs.h): a CodeDirectory naming the signing
    identifier with the ad-hoc flag, then an entitlements blob; zero-padded to ``size``."""
    identifier = b"org.example.stoq-test\0"
    directory_body = struct.pack(">IIII", 0x20400, 0x2, 0, 8 + 16) + identifier
    directory = struct.pack(">II", 0xFADE0C02, 8 + len(directory_body)) + directory_body
    entitlements = struct.pack(">II", 0xFADE7171, 8 + len(ENTITLEMENTS)) + ENTITLEMENTS
    header_size = 12 + 2 * 8
    index = struct.pack(">IIII", 0, header_size, 5, header_size + len(directory))
    blob = directory + entitlements
    superblob = struct.pack(">III", 0xFADE0CC0, header_size + len(blob), 2) + index + blob
    assert len(superblob) <= size
    return superblob + bytes(size - len(superblob))


def test_entitlements_and_identifier_are_read_from_the_signature() -> None:
    """libam1.dylib's signature replaced, in place, by one carrying entitlements."""
    data = bytearray(sample("libam1.dylib"))
    signature = scan(bytes(data)).results["code_signature"]
    start, size = signature["offset"], signature["size"]
    data[start : start + size] = signature_with_entitlements(size)
    found = scan(bytes(data)).results["code_signature"]
    assert found["identifier"] == "org.example.stoq-test"
    assert found["adhoc"] is True
    assert found["entitlements"] == ENTITLEMENTS.decode()
    assert scan(bytes(data), max_entitlements=20).results["code_signature"]["entitlements"] == (
        ENTITLEMENTS[:20].decode()
    )


def test_signature_blob_that_lies_about_its_blobs() -> None:
    """Index entries pointing past the blob, and a huge count: no exception, nothing made up."""
    data = bytearray(sample("libam1.dylib"))
    signature = scan(bytes(data)).results["code_signature"]
    start = signature["offset"]
    struct.pack_into(">III", data, start, 0xFADE0CC0, 0xFFFFFFFF, 0xFFFFFFFF)
    struct.pack_into(">II", data, start + 12, 5, 0x7FFFFFFF)
    found = scan(bytes(data)).results["code_signature"]
    assert found["valid_structure"] is True and found["entitlements"] is None


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real Mach-O files end in a result or an Error, in budget and memory."""
    check_hostile_corpus("macho", [sample("liba_both.dylib")])
