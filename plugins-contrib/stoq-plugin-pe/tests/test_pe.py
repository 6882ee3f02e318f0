"""Tests for the ``pe`` worker on real executables: structure, extraction, limits, signatures."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import zipfile
from collections import Counter

import pefile
import pytest
from pe_samples import dotnet_dll, launcher, signed_dll, tls_dll

from stoq.testing import WorkerConformance, check_hostile_corpus, run_plugin, walk


def entropy(data: bytes) -> float:
    """Shannon entropy in bits per byte, computed here independently of pefile."""
    return -sum(n / len(data) * math.log2(n / len(data)) for n in Counter(data).values())


def scan(data: bytes, **options: object):
    return run_plugin("pe", "scan", data, plugin_opts=options or None)


class TestPePluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on real PE files."""

    plugin_name = "pe"
    samples = (launcher(), signed_dll(), dotnet_dll())


def test_headers_of_the_launcher() -> None:
    """t64.exe is a 64-bit console executable for AMD64 with distlib's version block."""
    results = scan(launcher().read_bytes()).results
    assert results["machine"] == "AMD64"
    assert results["is_64bit"] is True
    assert results["is_dll"] is False
    assert results["subsystem"] == "WINDOWS_CUI"
    assert results["timestamp"]["utc"].startswith("2022-08-06")
    assert results["version_info"]["OriginalFilename"] == "t64.exe"
    assert results["dotnet"] is False
    assert results["authenticode"] is None


def test_sections_carry_their_own_entropy() -> None:
    """Each section's entropy is that of its raw bytes in the file."""
    data = launcher().read_bytes()
    sections = scan(data).results["sections"]
    assert [s["name"] for s in sections][:2] == [".text", ".rdata"]
    for section in sections:
        raw = data[section["raw_offset"] : section["raw_offset"] + section["raw_size"]]
        assert section["entropy"] == pytest.approx(entropy(raw), abs=1e-3)


def test_imphash_is_the_md5_of_the_reported_imports() -> None:
    """imphash = md5 of "dll.function" pairs, lower case, DLL extension dropped, in order."""
    results = scan(signed_dll().read_bytes()).results
    pairs = [
        f"{dll.rsplit('.', 1)[0]}.{name}".lower()
        for dll, names in results["imports"].items()
        for name in names
    ]
    assert results["imphash"] == hashlib.md5(",".join(pairs).encode()).hexdigest()
    assert "VCRUNTIME140.dll" in results["imports"]


def test_exports_of_the_dll() -> None:
    """msvcp140_1.dll exports its memory-resource functions by name, ordinals from 1."""
    exports = scan(signed_dll().read_bytes()).results["exports"]
    assert exports["dll_name"] == "MSVCP140_1.dll"
    names = [f["name"] for f in exports["functions"]]
    assert "null_memory_resource" in names
    assert [f["ordinal"] for f in exports["functions"]] == list(range(1, len(names) + 1))


def test_rich_header_lists_the_linker_tools() -> None:
    """Visual Studio builds carry a rich header; each entry counts objects of one tool build."""
    rich = scan(launcher().read_bytes()).results["rich_header"]
    assert rich["entries"]
    assert all(entry["count"] > 0 for entry in rich["entries"])


def test_microsoft_signature_verifies() -> None:
    """The Microsoft DLL's Authenticode signature is reported with signer, issuer and dates."""
    signature = scan(signed_dll().read_bytes()).results["authenticode"]
    assert signature["verifies"] is True
    assert signature["verification"] == ["OK"]
    assert "O=Microsoft Corporation" in signature["signer"]
    assert "Microsoft Windows Third Party Component CA" in signature["issuer"]
    assert signature["not_before"] < signature["not_after"]
    chain = signature["signatures"][0]["certificates"]
    assert any("Microsoft Root Certificate Authority" in c["issuer"] for c in chain)


def test_one_changed_byte_breaks_the_signature() -> None:
    """Changing a byte of code leaves the signature in place but it no longer verifies."""
    data = bytearray(signed_dll().read_bytes())
    data[0x800] ^= 0xFF
    signature = scan(bytes(data)).results["authenticode"]
    assert signature["verifies"] is False
    assert "BAD_DIGEST" in signature["verification"]


def test_the_signature_is_not_the_overlay_but_data_after_it_is() -> None:
    """The certificate table is not overlay; bytes appended after it are, and are extracted."""
    data = signed_dll().read_bytes()
    assert scan(data).results["overlay"] is None
    response = scan(data + b"appended after the signature")
    assert response.results["overlay"] == {"offset": len(data), "size": 28}
    assert response.extracted[-1].content == b"appended after the signature"


def test_appended_zip_is_extracted_as_the_overlay() -> None:
    """A zip appended to an executable comes back as one payload, with its offset."""
    data = launcher().read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hidden.txt", "found me")
    response = scan(data + buffer.getvalue())
    assert response.results["overlay"] == {"offset": len(data), "size": len(buffer.getvalue())}
    [carried] = [e for e in response.extracted if "pe_overlay" in e.payload_meta.extra_data]
    assert carried.content == buffer.getvalue()
    assert carried.payload_meta.extra_data["pe_overlay"]["offset"] == len(data)


def test_resources_are_listed_and_extracted() -> None:
    """Every resource is listed; each is extracted with its bytes at the listed offset."""
    data = launcher().read_bytes()
    response = scan(data)
    listed = response.results["resources"]
    assert [r["type"] for r in listed].count("RT_ICON") == 7
    assert len(response.extracted) == len(listed) == 10
    for entry, payload in zip(listed, response.extracted):
        assert payload.content == data[entry["offset"] : entry["offset"] + entry["size"]]
    manifest = response.extracted[[r["type"] for r in listed].index("RT_MANIFEST")]
    assert b"<assembly" in manifest.content


def test_extraction_count_limit_reports_what_it_skipped() -> None:
    """Past ``max_extracted`` resources are listed, not extracted, and named as skipped."""
    response = scan(launcher().read_bytes(), max_extracted=3)
    assert len(response.extracted) == 3
    skipped = response.results["not_extracted"]
    assert len(skipped) == 7
    assert {s["reason"] for s in skipped} == {"max_extracted"}
    assert len(response.results["resources"]) == 10


def test_extraction_size_limit_reports_what_it_skipped() -> None:
    """Resources larger than ``max_extracted_size`` are skipped with their size."""
    response = scan(launcher().read_bytes(), max_extracted_size=1000)
    assert all(len(e.content) <= 1000 for e in response.extracted)
    skipped = response.results["not_extracted"]
    assert skipped and all(s["size"] > 1000 for s in skipped)
    assert len(response.extracted) + len(skipped) == 10


def test_extraction_can_be_turned_off() -> None:
    response = scan(launcher().read_bytes(), extract_resources=False)
    assert response.extracted == []
    assert len(response.results["resources"]) == 10


def test_dotnet_assembly_is_flagged() -> None:
    """A .NET assembly has a CLR header; a native DLL has none."""
    assert scan(dotnet_dll().read_bytes()).results["dotnet"] is True
    assert scan(signed_dll().read_bytes()).results["dotnet"] is False


def test_full_scan_extracts_resources_as_children(stoq_factory) -> None:
    """Through the engine, each resource becomes a child payload extracted by ``pe``."""
    stoq = stoq_factory()
    response = stoq.scan(launcher().read_bytes(), add_start_dispatch=["pe"])
    assert response.errors == []
    found = list(walk(response))
    assert found[0][1].workers[0]["pe"]["machine"] == "AMD64"
    children = [r for depth, r in found if depth == 1]
    assert {r.extracted_by for r in children} == {"pe"}
    assert len(children) == 10


def test_tls_callbacks_are_read_from_the_callback_array() -> None:
    """vcamp140.dll's TLS callback array is empty; two addresses written into it are listed.

    The array is zero-terminated and holds virtual addresses (image base included).
    """
    data = bytearray(tls_dll().read_bytes())
    assert scan(bytes(data)).results["tls_callbacks"] == []
    pe = pefile.PE(data=bytes(data), fast_load=True)
    pe.parse_data_directories([pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_TLS"]])
    array = pe.DIRECTORY_ENTRY_TLS.struct.AddressOfCallBacks - pe.OPTIONAL_HEADER.ImageBase
    offset = pe.get_offset_from_rva(array)
    base = pe.OPTIONAL_HEADER.ImageBase
    struct.pack_into("<QQQ", data, offset, base + 0x1000, base + 0x1010, 0)
    assert scan(bytes(data)).results["tls_callbacks"] == [base + 0x1000, base + 0x1010]


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real PEs end in a result or an Error, in budget and memory."""
    check_hostile_corpus("pe", [launcher().read_bytes()])
