"""Tests for the ``onenote`` plugin: the stoq conformance suite, then its own behaviour.

The section is one-extract's own ``tests/files/example.one`` (a schedule with an embedded PNG).
A second embedded file is added the way MS-ONESTORE lays out a FileDataStoreObject: header
GUID, 64-bit length, 12 unused and reserved bytes, the data, padding, footer GUID.
"""

from __future__ import annotations

import json
import struct
from typing import List

import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk

EXAMPLE = pinned_sample(
    "one_extract-0.1.4.tar.gz",
    "one_extract-0.1.4/tests/files/example.one",
    "48e7fc11c3fd42270f58d16f4ba5dde87fa86522be1052695f5d44b086544710",
).read_bytes()
PNG_OFFSET = 28808
FILE_DATA_HEADER = bytes.fromhex("E716E3BD65261145A4C48D4D0B7A9EAC")
FILE_DATA_FOOTER = bytes.fromhex("22A7FB71790F0B4ABB13899256426B24")
HTA = b'<html><script language="VBScript">CreateObject("WScript.Shell").Run "calc"</script></html>'


def _file_data_store_object(data: bytes) -> bytes:
    padding = b"\0" * (-len(data) % 8)
    return (
        FILE_DATA_HEADER
        + struct.pack("<Q", len(data))
        + bytes(12)
        + data
        + padding
        + FILE_DATA_FOOTER
    )


WITH_HTA = EXAMPLE + _file_data_store_object(HTA)


def _hostile_variants(content: bytes) -> List[bytes]:
    """Truncations at several offsets (inside the embedded PNG too) and bit-flipped copies."""
    cuts = [content[:n] for n in (16, 100, PNG_OFFSET + 18, PNG_OFFSET + 200, len(content) - 1)]
    flipped = []
    for step in (97, 509, 2053):
        damaged = bytearray(content)
        for offset in range(step, len(damaged), step):
            damaged[offset] ^= 0xFF
        flipped.append(bytes(damaged))
    return cuts + flipped


class TestOnenotePluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples."""

    plugin_name = "onenote"
    samples = (EXAMPLE, WITH_HTA)


def test_embedded_image_is_extracted_with_its_offset() -> None:
    """example.one's PNG comes out whole; its place in the section is in the child's meta."""
    response = run_plugin("onenote", "scan", EXAMPLE)
    assert response.errors == []
    [child] = response.extracted
    assert child.content.startswith(b"\x89PNG\r\n\x1a\n") and child.content.endswith(
        b"IEND\xaeB`\x82"
    )
    assert child.payload_meta.extra_data == {"index": 0, "offset": PNG_OFFSET, "truncated": False}
    assert response.results["files"] == [
        {"index": 0, "offset": PNG_OFFSET, "size": len(child.content)}
    ]
    assert response.results["encrypted"] is False


def test_page_titles_are_listed_with_dates() -> None:
    """The section's page title and its creation date."""
    titles = run_plugin("onenote", "scan", EXAMPLE).results["titles"]
    assert {t["title"] for t in titles} == {"Daily Work Schedule"}
    assert titles[0]["created"] == "2013-12-26T02:33:10Z"


def test_every_embedded_file_is_extracted() -> None:
    """With an HTA attached as well, both files come out, in order."""
    response = run_plugin("onenote", "scan", WITH_HTA)
    assert [c.content for c in response.extracted][1] == HTA
    assert [f["index"] for f in response.results["files"]] == [0, 1]


@pytest.mark.parametrize(
    ("opts", "skipped"),
    [({"max_files": 1}, [None, "max_files"]), ({"max_file_size": 1000}, ["max_file_size", None])],
)
def test_file_limits_skip_and_say_so(opts: dict, skipped: list) -> None:
    """A limit keeps a file listed, marked skipped, and named in ``limits_hit``."""
    response = run_plugin("onenote", "scan", WITH_HTA, plugin_opts=opts)
    files = response.results["files"]
    assert [f.get("skipped") for f in files] == skipped
    assert len(response.extracted) == 1
    [hit] = response.results["limits_hit"]
    [reason] = [s for s in skipped if s]
    [offset] = [f["offset"] for f in files if f.get("skipped")]
    assert hit == f"{reason}: file at offset {offset} not extracted"


def test_truncated_file_is_extracted_as_far_as_it_goes_and_flagged() -> None:
    """Cut inside the PNG: the part there is comes out, flagged truncated with the declared size."""
    response = run_plugin("onenote", "scan", EXAMPLE[: PNG_OFFSET + 200])
    [entry] = response.results["files"]
    assert entry["truncated"] is True and entry["declared_size"] == 1906
    assert entry["size"] == 200 - 36
    [child] = response.extracted
    assert child.payload_meta.extra_data["truncated"] is True


def test_file_cut_inside_its_header_is_an_error() -> None:
    """Cut inside the length field: the file cannot be read, which is an error, not silence."""
    response = run_plugin("onenote", "scan", EXAMPLE[: PNG_OFFSET + 18])
    assert response.errors == [f"file at offset {PNG_OFFSET} could not be read"]
    assert response.results["errors"] == response.errors
    assert response.extracted == []


def test_password_protected_section_is_reported_not_opened() -> None:
    """A section carrying the password key-encryptor marker, without a password option."""
    marker = b"http://schemas.microsoft.com/office/2006/keyEncryptor/password"
    response = run_plugin("onenote", "scan", EXAMPLE + marker)
    assert response.results == {"encrypted": True, "error": "password protected"}
    assert response.errors == ["password protected"]


@pytest.mark.parametrize("content", [b"", b"\xe4\x52\x5c\x7b", b"%PDF-1.7\n", bytes(64)])
def test_other_formats_say_not_onenote(content: bytes) -> None:
    """Not a OneNote section: one error field."""
    assert run_plugin("onenote", "scan", content).results == {
        "error": "not a OneNote section (no .one file header)"
    }


@pytest.mark.parametrize("sample", [EXAMPLE, WITH_HTA], ids=["example", "with-hta"])
def test_damaged_sections_give_a_result_never_a_crash(sample: bytes) -> None:
    """Truncated and bit-flipped copies: every call returns JSON-safe results."""
    for variant in _hostile_variants(sample):
        response = run_plugin("onenote", "scan", variant)
        assert response.results is not None
        json.dumps(response.results)


def test_full_scan_extracts_the_image_as_a_child(stoq_factory) -> None:
    """Through the engine the PNG is a child of the section, extracted by onenote."""
    stoq = stoq_factory(always_dispatch=["onenote"])
    response = stoq.scan(EXAMPLE)
    assert response.errors == []
    [(_, root), (depth, child)] = list(walk(response))
    assert root.workers[0]["onenote"]["files"][0]["offset"] == PNG_OFFSET
    assert depth == 1 and child.extracted_by == "onenote"


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real OneNote sections end in a result or an Error, in budget and memory."""
    check_hostile_corpus("onenote", [WITH_HTA])
