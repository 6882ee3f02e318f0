"""Tests for the ``carve`` plugin: the stoq conformance suite, then its own behaviour.

Every input is made here with real tools: a real PE and ELF the machine ships
(``stoq.testing``), zips written by ``zipfile``, 7z archives written by libarchive.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

import libarchive
import pytest

from stoq.testing import (
    WorkerConformance,
    check_hostile_corpus,
    elf_binary,
    pinned_sample,
    run_plugin,
    walk,
    windows_pe,
)
from stoq_plugin_carve.formats import SIGNATURES, zip_extents
from stoq_plugin_carve.plugin import _hits


def make_zip(members: Dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def make_7z(tmp_path: Path, members: Dict[str, bytes]) -> bytes:
    target = tmp_path / "made.7z"
    with libarchive.file_writer(str(target), "7zip") as archive:
        for name, content in members.items():
            archive.add_file_from_memory(name, len(content), content)
    return target.read_bytes()


PE = windows_pe()
ELF = elf_binary()
APPENDED_ZIP = make_zip({"readme.txt": b"hidden behind the executable\n" * 40, "tool.exe": PE})


class TestCarvePluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "carve"
    samples = (PE + APPENDED_ZIP, b"#!/bin/sh\nexit 0\n" + ELF)


def test_zip_appended_to_a_pe_is_carved_with_its_offset() -> None:
    """The hidden zip comes out byte for byte, at the end of the PE, and opens as a zip."""
    response = run_plugin("carve", "scan", PE + APPENDED_ZIP)
    assert response.results["host"] == {"type": "pe", "size": len(PE)}
    assert response.results["carved"] == [
        {"offset": len(PE), "type": "zip", "size": len(APPENDED_ZIP)}
    ]
    [child] = response.extracted
    assert child.content == APPENDED_ZIP
    assert child.payload_meta.extra_data == {"carved_offset": len(PE), "carved_type": "zip"}
    assert zipfile.ZipFile(io.BytesIO(child.content)).namelist() == ["readme.txt", "tool.exe"]


def test_executables_behind_a_stub_are_each_carved_exactly() -> None:
    """An ELF then a PE behind text: each sized from its own headers, the tail left out."""
    stub = b"#!/bin/sh\necho installing\n" * 10
    response = run_plugin("carve", "scan", stub + ELF + PE + b"trailing bytes")
    assert response.results["host"] is None
    assert response.results["carved"] == [
        {"offset": len(stub), "type": "elf", "size": len(ELF)},
        {"offset": len(stub) + len(ELF), "type": "pe", "size": len(PE)},
    ]
    assert [child.content for child in response.extracted] == [ELF, PE]


def test_7z_archive_inside_another_file_is_carved(tmp_path: Path) -> None:
    """A 7z archive is sized from its start header (next header offset and size)."""
    archive = make_7z(tmp_path, {"note.txt": b"seven zip member\n" * 30})
    response = run_plugin("carve", "scan", b"\x00" * 300 + archive + b"\x00" * 50)
    assert response.results["carved"] == [{"offset": 300, "type": "7z", "size": len(archive)}]
    assert response.extracted[0].content == archive


def test_a_file_at_offset_zero_is_the_host_and_nothing_inside_it_is_carved() -> None:
    """A zip storing a PE uncompressed: the PE's signature lies inside the host zip."""
    stored = make_zip({"tool.exe": PE}, zipfile.ZIP_STORED)
    assert stored.find(b"MZ") > 0
    response = run_plugin("carve", "scan", stored)
    assert response.results["host"] == {"type": "zip", "size": len(stored)}
    assert response.results["carved"] == []
    assert response.results["hits"]["inside"] >= 1


def test_overlapping_hits_belong_to_the_first_carved_file() -> None:
    """A PE inside an appended zip is carved as part of the zip, never twice."""
    stored = make_zip({"tool.exe": PE, "again.exe": PE}, zipfile.ZIP_STORED)
    response = run_plugin("carve", "scan", b"header\n" * 20 + stored)
    assert [entry["type"] for entry in response.results["carved"]] == ["zip"]
    assert response.results["hits"]["inside"] >= 2
    assert len(response.extracted) == 1


def test_max_carves_bounds_the_extraction_and_reports_the_rest() -> None:
    """Past ``max_carves`` each further file is listed as skipped with the reason."""
    response = run_plugin("carve", "scan", b"x" * 100 + PE * 5, plugin_opts={"max_carves": 2})
    assert len(response.extracted) == 2
    assert response.results["hits"]["skipped"] == 3
    assert {entry["reason"] for entry in response.results["skipped"]} == {"max_carves reached"}
    assert [entry["offset"] for entry in response.results["skipped"]] == [
        100 + 2 * len(PE),
        100 + 3 * len(PE),
        100 + 4 * len(PE),
    ]


def test_max_size_refuses_a_large_embedded_file() -> None:
    """A file larger than ``max_size`` is reported, not extracted."""
    response = run_plugin("carve", "scan", b"x" * 100 + PE, plugin_opts={"max_size": 1000})
    assert response.extracted == []
    assert response.results["skipped"] == [
        {"offset": 100, "type": "pe", "size": len(PE), "reason": "larger than max_size"}
    ]


def test_formats_option_chooses_what_is_looked_for() -> None:
    """With only ``pe`` enabled, the appended zip is not looked for."""
    response = run_plugin("carve", "scan", PE + APPENDED_ZIP, plugin_opts={"formats": ["pe"]})
    assert response.results["carved"] == []


def test_truncated_appended_zip_is_not_carved() -> None:
    """A zip missing its end record cannot be sized: nothing is carved, nothing fails."""
    response = run_plugin("carve", "scan", PE + APPENDED_ZIP[:-30])
    assert response.results["carved"] == []
    assert response.errors == []


def test_truncated_embedded_pe_is_not_carved() -> None:
    """A PE whose sections run past the end of the data is a false hit."""
    response = run_plugin("carve", "scan", b"x" * 100 + PE[: len(PE) // 2])
    assert response.results["carved"] == []
    assert response.results["hits"]["not_valid"] >= 1


def test_corrupted_headers_are_false_hits() -> None:
    """Signatures followed by garbage (bad e_lfanew, bad ELF class) are counted, not carved."""
    data = b"prefix" + b"MZ" + b"\xff" * 200 + b"\x7fELF\x09\x09" + b"\x00" * 100
    response = run_plugin("carve", "scan", data)
    assert response.results["carved"] == []
    assert response.results["hits"]["not_valid"] == 2


def test_huge_numbers_of_signatures_stay_bounded() -> None:
    """A million ``MZ`` hits: max_hits are examined, the rest counted, well within a second."""
    started = time.monotonic()
    response = run_plugin("carve", "scan", b"MZ" * 1_000_000, plugin_opts={"max_hits": 5000})
    assert time.monotonic() - started < 5
    assert response.results["hits"]["unexamined"] == 1_000_000 - 5000
    assert response.results["hits"]["not_valid"] == 4999


def test_many_fake_zip_end_records_stay_bounded() -> None:
    """End records that point nowhere are examined cheaply and never carved."""
    data = (b"PK\x03\x04" * 100 + b"PK\x05\x06" + b"\xff" * 18) * 2000
    response = run_plugin("carve", "scan", data)
    assert response.results["carved"] == []


def test_full_scan_extracts_the_carved_zip_as_a_child(stoq_factory) -> None:
    """Through the engine, the carved zip is a child payload of the PE with its offset."""
    stoq = stoq_factory(always_dispatch=["carve"])
    response = stoq.scan(PE + APPENDED_ZIP)
    assert response.errors == []
    results = list(walk(response))
    assert [depth for depth, _ in results] == [0, 1]
    child = results[1][1]
    assert child.extracted_by == "carve"
    assert child.payload_meta.extra_data["carved_offset"] == len(PE)
    assert child.size == len(APPENDED_ZIP)


PPT = pinned_sample(
    "oletools-0.60.2.zip",
    "oletools-0.60.2/tests/test-data/olevba/sample_with_vba.ppt",
    "618644f5fe56d83b13cbc0f95f944a88617ab096088fbfcc52d395ef84424ea4",
).read_bytes()
PDF = pinned_sample(
    "pypdf-7.1.1.tar.gz",
    "pypdf-7.1.1/resources/attachment.pdf",
    "c621f5136783216a2011c128a3d23ce1e4390c2a2f246ceb67f8901c1c1b0f96",
).read_bytes()


def test_ole_host_is_sized_and_its_contents_left_to_ole() -> None:
    """A real PowerPoint file holds zipped DrawingML parts: they are the ole plugin's, not carved."""
    response = run_plugin("carve", "scan", PPT)
    assert response.results["host"] == {"type": "ole", "size": len(PPT)}
    assert response.results["carved"] == []
    assert response.results["hits"]["inside"] > 0


@pytest.mark.parametrize(("host", "kind"), [(PPT, "ole"), (PDF, "pdf")], ids=["ole", "pdf"])
def test_pe_appended_to_a_document_is_carved(host: bytes, kind: str) -> None:
    """Behind a real OLE or PDF document, an appended PE is carved at the document's end."""
    response = run_plugin("carve", "scan", host + PE)
    assert response.results["host"] == {"type": kind, "size": len(host)}
    assert response.results["carved"] == [{"offset": len(host), "type": "pe", "size": len(PE)}]


def test_truncated_ole_host_is_not_a_host() -> None:
    """An OLE file cut inside its allocation table cannot be sized: carve searches all of it."""
    response = run_plugin("carve", "scan", PPT[:600])
    assert response.results["host"] is None


def test_payloads_over_max_input_are_not_searched_and_say_so() -> None:
    """A payload larger than ``max_input`` is left alone, with the reason in the result."""
    response = run_plugin("carve", "scan", PE + APPENDED_ZIP, plugin_opts={"max_input": 1000})
    assert response.extracted == []
    assert response.results == {
        "host": None,
        "carved": [],
        "skipped": "payload larger than max_input: not searched",
    }


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real executables with appended data end in a result or an Error, in budget and memory."""
    check_hostile_corpus("carve", [PE + APPENDED_ZIP])


def reference_hits(data: bytes, formats: List[str], limit: int) -> Tuple[List[Any], int]:
    """``_hits`` as it was: every signature counted and searched, found or not."""
    hits: List[Tuple[int, str, int]] = []
    total = 0
    if "zip" in formats:
        hits += [(start, "zip", size) for start, size in zip_extents(data, limit).items()]
        total += data.count(b"PK\x05\x06")
    for magic, (name, _) in SIGNATURES.items():
        if name not in formats:
            continue
        total += data.count(magic)
        at = data.find(magic)
        while at >= 0 and len(hits) < limit:
            hits.append((at, name, 0))
            at = data.find(magic, at + 1)
    hits.sort()
    return hits, max(0, total - limit)


def test_hits_count_only_past_the_limit_and_find_the_same() -> None:
    """Counting a signature's occurrences only past the limit (where the search stopped)
    changes no hit and no unexamined count: system executables and texts, files glued behind
    them, runs of adjacent signatures, every format subset, small limits."""
    files = (
        sorted(Path("/usr/bin").iterdir())[:20:4] + sorted(Path("/usr/share/doc").glob("*/*"))[:6]
    )
    real = [path.read_bytes()[:50_000] for path in files if path.is_file()]
    corpus = real + [PE, ELF[:100_000], b"", b"MZ", b"PK\x05\x06" * 3]
    corpus += [b"MZ" * 7 + b"\x7fELF" * 4 + b"MZ" * 2, b"\x7fELF" * 5 + b"7z\xbc\xaf\x27\x1c" * 3]
    corpus += [data + APPENDED_ZIP + PE + b"7z\xbc\xaf\x27\x1c" for data in real[:4]]
    for data in corpus:
        for formats in (["zip", "pe", "elf", "7z"], ["pe"], ["zip", "7z"], []):
            for limit in (10000, 3, 0):
                assert _hits(data, formats, limit) == reference_hits(data, formats, limit)
