"""Tests for the ``ole`` plugin: the stoq conformance suite, then its own behaviour."""

from __future__ import annotations

import io
import json
import struct
import time
import zipfile
from pathlib import Path
from typing import List

import olefile
import pytest

from stoq.data_classes import PayloadMeta
from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk

OLETOOLS = "oletools-0.60.2.zip"
TEST_DATA = "oletools-0.60.2/tests/test-data/"


def _oletools_sample(member: str, sha256: str) -> bytes:
    return pinned_sample(OLETOOLS, TEST_DATA + member, sha256).read_bytes()


#: Word 97 document with an OLE Package object holding a shortcut, calc.lnk.
LNK_DOC = _oletools_sample(
    "oleobj/sample_with_lnk_file.doc",
    "2f226f9332ebeadde64984238600ff62f75c7407f2c508e1ce953d4e1c9422b2",
)
#: Word 97 document with an OLE Package object holding simple-text-file.txt.
TEXT_DOC = _oletools_sample(
    "oleobj/embedded-simple-2007.doc",
    "046d782f71172d119204f9d7be45eb478413da3afbe97af6b787aa5cf6fa25ad",
)
#: An OOXML document encrypted with a password: an OLE container with EncryptedPackage.
ENCRYPTED_DOCX = _oletools_sample(
    "encrypted/encrypted.docx", "539e4557975be726d0fc8d7813dba5470dd703272957b4476296f976b5678900"
)
#: Excel 97 workbook with an Auto_Open macro, encrypted with Excel's built-in VelvetSweatshop.
VELVET_XLS = _oletools_sample(
    "encrypted/autostart-encrypt-standardpassword.xls",
    "607f6f160adfe499195942273d7f66a2feb442aa3e63a988ac2e5bb1dde1ca05",
)
#: The same for an Excel 2007 macro workbook: OOXML inside an encrypted OLE container.
VELVET_XLSM = _oletools_sample(
    "encrypted/autostart-encrypt-standardpassword.xlsm",
    "70494fcc2d9ddbbe748cdccdcc8a4800f287a73db89f84c90e6599a86bdee0b9",
)
#: Word 97 document, no objects: olefile's own test file.
OLEFILE_DOC = pinned_sample(
    "olefile-0.47.zip",
    "olefile-0.47/tests/images/test-ole-file.doc",
    "a9645cd22f59f2314d0d0cf7ded60a536fb8422ed6b26115d2faa5442fad3336",
).read_bytes()
#: The VBA project inside a .docm, an OLE file of its own with form storages.
VBA_PROJECT = zipfile.ZipFile(
    io.BytesIO(
        _oletools_sample(
            "oleform/oleform-PR314.docm",
            "075069f5d309eeb2b2e65387b6417fd75c7bf8de56e401468146688d82cfb40f",
        )
    )
).read("word/vbaProject.bin")


DOC_SUMMARY = "\x05DocumentSummaryInformation"
SUMMARY = "\x05SummaryInformation"


def _hostile_variants(content: bytes) -> List[bytes]:
    """Truncations at several offsets and copies with bytes flipped across the file."""
    cuts = [content[:n] for n in (8, 512, 1536, len(content) // 2, len(content) - 1)]
    flipped = []
    for step in (97, 509, 4099):
        damaged = bytearray(content)
        for offset in range(step, len(damaged), step):
            damaged[offset] ^= 0xFF
        flipped.append(bytes(damaged))
    return cuts + flipped


class TestOlePluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the real samples."""

    plugin_name = "ole"
    samples = (LNK_DOC, TEXT_DOC, ENCRYPTED_DOCX, OLEFILE_DOC, VBA_PROJECT, VELVET_XLS)


def test_metadata_is_decoded_from_the_summary_streams() -> None:
    """olefile's test document: author, times and application, as text and ISO dates."""
    results = run_plugin("ole", "scan", OLEFILE_DOC).results
    meta = results["metadata"]
    assert meta["author"] == "Laurence Ipsum"
    assert meta["create_time"] == "2014-04-11T11:15:00"
    assert meta["creating_application"] == "Microsoft Office Word"
    assert meta["codepage"] == 1252
    assert results["clsid"] == "00020906-0000-0000-C000-000000000046"
    assert "Word.Document.8" in results["clsid_name"]
    assert results["encrypted"] is False and results["packages"] == []


def _vector_bomb(path: Path) -> bytes:
    """olefile's test document whose first vector property claims 4 billion empty items."""
    path.write_bytes(OLEFILE_DOC)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        stream = bytearray(ole.openstream(DOC_SUMMARY).read())
        (start,) = struct.unpack_from("<I", stream, 44)
        (count,) = struct.unpack_from("<I", stream, start + 4)
        for index in range(count):
            (offset,) = struct.unpack_from("<I", stream, start + 12 + index * 8)
            (kind,) = struct.unpack_from("<I", stream, start + offset)
            if kind & 0x1000:
                struct.pack_into("<II", stream, start + offset, 0x1000, 0xFFFFFFF0)
                break
        else:
            raise AssertionError("no vector property to damage")
        ole.write_stream(DOC_SUMMARY, bytes(stream))
    return path.read_bytes()


def test_a_vector_count_bomb_in_the_metadata_is_refused_quickly(tmp_path: Path) -> None:
    """A property vector claiming billions of items: one error, the rest reported, no hang."""
    started = time.monotonic()
    response = run_plugin("ole", "scan", _vector_bomb(tmp_path / "bomb.doc"))
    assert time.monotonic() - started < 5
    refused = (
        "metadata: ValueError: '\\x05DocumentSummaryInformation': a vector property claims"
        " 4294967280 items in 4096 bytes; not parsed"
    )
    assert response.errors == [refused]
    assert "metadata" not in response.results
    assert response.results["entries"] and response.results["encrypted"] is False


def test_a_vector_count_bomb_in_the_summary_is_refused_by_the_encryption_check_too(
    tmp_path: Path,
) -> None:
    """Found by fuzzing: oletools' encryption check reads the summary properties through
    olefile without the metadata step's guard, and looped on a vector of 4 billion items."""
    path = tmp_path / "bomb.doc"
    path.write_bytes(OLEFILE_DOC)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        stream = bytearray(ole.openstream(SUMMARY).read())
        (start,) = struct.unpack_from("<I", stream, 44)
        (offset,) = struct.unpack_from("<I", stream, start + 12)  # the first property
        struct.pack_into("<II", stream, start + offset, 0x1000, 0xFFFFFFF0)  # VT_VECTOR|VT_EMPTY
        ole.write_stream(SUMMARY, bytes(stream))
    started = time.monotonic()
    response = run_plugin("ole", "scan", path)
    assert time.monotonic() - started < 5
    refused = (
        "'\\x05SummaryInformation': a vector property claims 4294967280 items in 4096 bytes;"
        " not parsed"
    )
    assert response.errors == [
        f"metadata: ValueError: {refused}",
        f"encrypted: ValueError: {refused}",
    ]
    assert response.results["entries"] and "encrypted" not in response.results


def test_streams_and_storages_are_listed_with_sizes_and_clsids() -> None:
    """Every entry of the shortcut document, storages with CLSIDs named by oletools."""
    entries = run_plugin("ole", "scan", LNK_DOC).results["entries"]
    by_path = {e["path"]: e for e in entries}
    assert by_path["WordDocument"] == {"path": "WordDocument", "type": "stream", "size": 4142}
    package = by_path["ObjectPool/_1573545115"]
    assert package["type"] == "storage"
    assert package["clsid"] == "0003000C-0000-0000-C000-000000000046"
    assert "OLE Package" in package["clsid_name"]


def test_embedded_package_is_extracted_with_its_names() -> None:
    """The OLE Package's calc.lnk is a child; its names go into the child's extra_data."""
    response = run_plugin("ole", "scan", LNK_DOC)
    [child] = response.extracted
    assert child.payload_meta.extra_data == {
        "filename": "calc.lnk",
        "source_path": "C:\\Users\\user\\Desktop\\calc.lnk",
        "temp_path": "C:\\Users\\user\\AppData\\Local\\Temp\\calc.lnk",
    }
    assert child.content[:4] == b"L\x00\x00\x00"  # a shell link header
    [package] = response.results["packages"]
    assert package["size"] == len(child.content) == 1220
    assert package["linked"] is False


def test_embedded_text_file_comes_out_whole() -> None:
    """A packaged text file is extracted byte for byte."""
    [child] = run_plugin("ole", "scan", TEXT_DOC).extracted
    assert child.payload_meta.extra_data["filename"] == "simple-text-file.txt"
    assert child.content == b"This is the contents of a simple ascii text file."


def test_encrypted_document_is_flagged() -> None:
    """The encrypted .docx's container says encrypted; no well-known password opens it."""
    response = run_plugin("ole", "scan", ENCRYPTED_DOCX)
    assert response.results["encrypted"] is True
    assert "EncryptedPackage" in [e["path"] for e in response.results["entries"]]
    assert response.results["decryption"] == "none of 7 passwords decrypts it"
    assert response.extracted == []


@pytest.mark.parametrize(
    ("sample", "magic"),
    [(VELVET_XLS, b"\xd0\xcf\x11\xe0"), (VELVET_XLSM, b"PK\x03\x04")],
    ids=["xls", "xlsm"],
)
def test_velvetsweatshop_workbook_is_decrypted_into_a_child(sample: bytes, magic: bytes) -> None:
    """Excel's silent default password opens the workbook; the plain document is a child."""
    response = run_plugin("ole", "scan", sample)
    assert response.results["encrypted"] is True
    [child] = response.extracted
    assert child.content.startswith(magic)
    assert child.payload_meta.extra_data == {"decrypted_with": "VelvetSweatshop"}
    assert response.results["decryption"] == {
        "password": "VelvetSweatshop",
        "size": len(child.content),
    }


def test_no_passwords_means_no_decryption_attempt() -> None:
    """passwords = [] leaves an encrypted document encrypted and says nothing more."""
    response = run_plugin("ole", "scan", VELVET_XLS, plugin_opts={"passwords": []})
    assert response.extracted == [] and "decryption" not in response.results


def test_decrypted_child_keeps_the_parent_file_name(stoq_factory) -> None:
    """Through the engine the decrypted workbook is a child named like its encrypted parent."""
    stoq = stoq_factory(always_dispatch=["ole"])
    response = stoq.scan(
        VELVET_XLS, payload_meta=PayloadMeta(extra_data={"filename": "invoice.xls"})
    )
    [(_, root), (depth, child)] = list(walk(response))
    assert root.workers[0]["ole"]["decryption"]["password"] == "VelvetSweatshop"
    assert depth == 1 and child.extracted_by == "ole"
    assert child.payload_meta.extra_data == {
        "decrypted_with": "VelvetSweatshop",
        "filename": "invoice.xls",
    }
    assert child.workers[0]["ole"]["encrypted"] is False


@pytest.mark.parametrize(
    ("opts", "reason"),
    [({"max_packages": 0}, "max_packages"), ({"max_package_size": 100}, "max_package_size")],
)
def test_package_limits_skip_and_say_so(opts: dict, reason: str) -> None:
    """A limit keeps the package listed, marked skipped, and named in ``limits_hit``."""
    response = run_plugin("ole", "scan", LNK_DOC, plugin_opts=opts)
    assert response.extracted == []
    [package] = response.results["packages"]
    assert package["skipped"] == reason
    assert response.results["limits_hit"] == [
        f"{reason}: ObjectPool/_1573545115/\x01Ole10Native not extracted"
    ]


def test_entry_limit_cuts_the_listing_and_says_how_much() -> None:
    """max_entries bounds the listing of a VBA project's many storages."""
    response = run_plugin("ole", "scan", VBA_PROJECT, plugin_opts={"max_entries": 3})
    assert len(response.results["entries"]) == 3
    total = len(run_plugin("ole", "scan", VBA_PROJECT).results["entries"])
    assert response.results["limits_hit"] == [f"max_entries 3: {total - 3} more entries not listed"]


@pytest.mark.parametrize("content", [b"", b"/etc/passwd", b"%PDF-1.7\n", b"PK\x03\x04" * 400])
def test_other_formats_say_not_ole(content: bytes) -> None:
    """Not OLE: one error field; a short payload is never taken for a file name."""
    assert run_plugin("ole", "scan", content).results == {"error": "not an OLE2 compound file"}


@pytest.mark.parametrize("sample", [LNK_DOC, OLEFILE_DOC], ids=["lnk-doc", "olefile-doc"])
def test_damaged_files_give_a_result_never_a_crash(sample: bytes) -> None:
    """Truncated and bit-flipped copies: every call returns JSON-safe results."""
    for variant in _hostile_variants(sample):
        response = run_plugin("ole", "scan", variant)
        assert response.results is not None
        json.dumps(response.results)


def test_truncated_file_is_an_error() -> None:
    """Cut after its header, the file cannot be opened: the error is a field and an Error."""
    response = run_plugin("ole", "scan", LNK_DOC[:1536])
    assert response.results["error"].startswith("cannot parse: ")
    assert response.errors == [response.results["error"]]


def test_full_scan_extracts_the_shortcut_as_a_named_child(stoq_factory) -> None:
    """Through the engine the package's file is a child whose payload_meta carries its name."""
    stoq = stoq_factory(always_dispatch=["ole"])
    response = stoq.scan(LNK_DOC)
    assert response.errors == []
    [(_, root), (depth, child)] = list(walk(response))
    assert root.workers[0]["ole"]["packages"][0]["filename"] == "calc.lnk"
    assert depth == 1 and child.extracted_by == "ole"
    assert child.payload_meta.extra_data["filename"] == "calc.lnk"


def _fat_cycle(content: bytes) -> bytes:
    """The directory's first FAT entry pointing back at itself: a chain that never ends."""
    data = bytearray(content)
    sector = 1 << struct.unpack_from("<H", data, 0x1E)[0]
    directory = struct.unpack_from("<I", data, 0x30)[0]
    fat = struct.unpack_from("<I", data, 0x4C)[0]
    struct.pack_into("<I", data, (fat + 1) * sector + 4 * directory, directory)
    return bytes(data)


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real OLE files end in a result or an Error, in budget and memory."""
    check_hostile_corpus("ole", [LNK_DOC, VELVET_XLS], extra={"fat-cycle": _fat_cycle(OLEFILE_DOC)})


def test_a_package_with_a_forged_data_size_is_an_error_naming_the_field(tmp_path: Path) -> None:
    """The shortcut package's data size raised past its stream (1220 bytes of file and 170 of
    trailing Unicode names remain): listed with the error, the rest reported, nothing extracted."""
    path = tmp_path / "forged.doc"
    path.write_bytes(LNK_DOC)
    stream_path = "ObjectPool/_1573545115/\x01Ole10Native"
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        stream = bytearray(ole.openstream(stream_path).read())
        size_at = stream.index(struct.pack("<I", 1220) + b"L\x00\x00\x00")  # then the .lnk
        struct.pack_into("<I", stream, size_at, 0x7FFFFFFF)
        ole.write_stream(stream_path, bytes(stream))
    response = run_plugin("ole", "scan", path.read_bytes())
    assert response.results["packages"] == [
        {"stream": stream_path, "error": "ValueError: data: 2147483647 bytes needed, 1390 remain"}
    ]
    assert response.extracted == [] and response.results["entries"]
