"""The MS-OVBA reader and the containers on crafted input: bounded decompression, malformed
chunks and records, and what the plugin reports when a part of a real document is damaged."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import olefile
import pytest

from stoq.testing import check_hostile_corpus, pinned_sample, run_plugin
from stoq_plugin_olevba import ovba

DOCM = pinned_sample(
    "oletools-0.60.2.zip",
    "oletools-0.60.2/tests/test-data/oleform/oleform-PR314.docm",
    "075069f5d309eeb2b2e65387b6417fd75c7bf8de56e401468146688d82cfb40f",
).read_bytes()
PPT = pinned_sample(
    "oletools-0.60.2.zip",
    "oletools-0.60.2/tests/test-data/olevba/sample_with_vba.ppt",
    "618644f5fe56d83b13cbc0f95f944a88617ab096088fbfcc52d395ef84424ea4",
).read_bytes()
VBA_PROJECT = zipfile.ZipFile(io.BytesIO(DOCM)).read("word/vbaProject.bin")
#: One literal, then a copy token of offset 1 and length 4095: six bytes that fill a chunk.
BOMB_CHUNK = struct.pack("<H", 0xB003) + b"\x02A" + struct.pack("<H", 0x0FFC)


def _bomb(size: int) -> bytes:
    """A compressed container of exactly ``size`` bytes, every chunk expanding to 4096."""
    chunks, spare = divmod(size - 1, len(BOMB_CHUNK))
    last = struct.pack("<H", 0xB003 + spare) + b"\x02A" + struct.pack("<H", 0x0FFC) + b"\0" * spare
    return b"\x01" + BOMB_CHUNK * (chunks - 1) + last


def _with_module_source(tmp_path: Path, source: bytes) -> bytes:
    """The real vbaProject.bin with NewMacros' compressed source (after its offset, 976)
    overwritten by ``source``, padded with the original bytes to the stream's size."""
    path = tmp_path / "vbaProject.bin"
    path.write_bytes(VBA_PROJECT)
    ole = olefile.OleFileIO(str(path), write_mode=True)
    stream = ole.openstream("VBA/NewMacros").read()
    ole.write_stream("VBA/NewMacros", stream[:976] + source + stream[976 + len(source) :])
    ole.close()
    return path.read_bytes()


def test_decompression_expands_a_bomb_only_up_to_the_bound() -> None:
    """A thousand six-byte chunks are four megabytes; the bound stops at its size and says so."""
    bomb = _bomb(6001)
    assert len(ovba.decompress(bomb, 1 << 30).data) == 1000 * 4096
    cut = ovba.decompress(bomb, 10_000)
    assert cut.cut and cut.data == b"A" * 10_000


def test_a_module_that_expands_past_the_bound_is_cut_and_reported(tmp_path: Path) -> None:
    """A real project whose NewMacros source is a bomb: the module stops at
    max_expanded_bytes, limits_hit names it, the other modules are intact."""
    content = _with_module_source(tmp_path, _bomb(1051 - 976))
    whole = run_plugin("olevba", "scan", content).results["modules"]
    assert whole[-1]["chars"] == 12 * 4096
    response = run_plugin("olevba", "scan", content, plugin_opts={"max_expanded_bytes": 16384})
    results = response.results
    assert results["limits_hit"] == ["max_expanded_bytes 16384: VBA/NewMacros cut"]
    assert [m["chars"] for m in results["modules"]] == [285, 519, 389, 16384]
    assert response.errors == []


@pytest.mark.parametrize(
    ("container", "message"),
    [
        (b"\x02\x00\xb0", "no signature byte 0x01"),
        (b"\x01\x03\x00AAA", "chunk header at 1: bad signature 0x0003"),
        (b"\x01\x03\xb0\x01AB", "copy token at 4: offset 5 before the chunk"),
        (b"\x01\x03\xb0\x02A\x00", "copy token at 5: truncated"),
    ],
    ids=["signature", "chunk-header", "copy-before-start", "truncated-token"],
)
def test_malformed_containers_name_what_and_where(container: bytes, message: str) -> None:
    """Each malformation is a ValueError saying which structure failed at which offset."""
    with pytest.raises(ValueError, match=message):
        ovba.decompress(container, 1 << 20)


def test_a_damaged_module_is_an_error_naming_it_and_the_rest_are_reported(
    tmp_path: Path,
) -> None:
    """NewMacros' first chunk header is broken: that module carries the error, the response's
    errors say which stream, and the other three modules and the analysis are still there."""
    content = _with_module_source(tmp_path, b"\x01\x00\x00")
    response = run_plugin("olevba", "scan", content)
    results = response.results
    assert results["error"] == (
        "cannot parse: VBA/NewMacros: chunk header at 977: bad signature 0x0000"
    )
    assert response.errors == [results["error"]]
    assert [m["name"] for m in results["modules"]][:3] == [
        "ThisDocument.cls",
        "UserFormTEST1.frm",
        "UserFormTest2.frm",
    ]
    assert results["modules"][3]["error"].startswith("chunk header at 977")
    assert {a["keyword"] for a in results["autoexec"]} == {"Frame1_Click", "TabStrip1_Change"}


def test_a_dir_record_running_past_its_stream_is_an_error_naming_the_project() -> None:
    """A dir record whose size runs past the end: the project cannot be listed, and says so."""
    record = struct.pack("<HI", 0x0019, 1000) + b"Module1"
    with pytest.raises(ValueError, match="dir record 0x0019 at 0: size 1000 past the end"):
        ovba.parse_dir(record)


def test_a_powerpoint_object_past_the_bound_is_cut_and_said() -> None:
    """The PPT's compressed VBA storage, bounded below its size: cut, reported, no crash."""
    response = run_plugin("olevba", "scan", PPT, plugin_opts={"max_expanded_bytes": 4096})
    results = response.results
    assert any(
        hit.startswith("max_expanded_bytes 4096: ExOleObjStg at ") for hit in results["limits_hit"]
    )
    json.dumps(results)


def test_binary_that_is_no_document_is_an_error() -> None:
    """Bytes that are none of the containers (and not text): an error, not an empty report."""
    response = run_plugin("olevba", "scan", b"\x7fELF\x02\x01\x01\x00" + bytes(64))
    assert response.results == {
        "error": "cannot parse: not an OLE, OOXML, Word/Excel 2003 XML, MHTML or SLK document"
    }
    assert response.errors == [response.results["error"]]


def test_hostile_variants_of_the_other_containers() -> None:
    """Seeded hostile variants of a bare VBA project and of the docm: a result or an Error,
    within the budget and memory."""
    check_hostile_corpus("olevba", [VBA_PROJECT, DOCM])
