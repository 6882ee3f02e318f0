"""Tests for the ``rtf`` plugin: the stoq conformance suite, then its own behaviour.

Besides oletools' own RTF sample, the tests write RTF documents the way Word stores an object:
an OLE 1.0 object (version, format id, class name, native data) as hex in ``\\objdata``. The
objects inside are real: the OLE Package stream of oletools' shortcut sample and olefile's
Word test document.
"""

from __future__ import annotations

import io
import json
import struct
from typing import List

import olefile
import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk

OLETOOLS = "oletools-0.60.2.zip"
TEST_DATA = "oletools-0.60.2/tests/test-data/"

#: oletools' obfuscated Equation.3 document (issue 251): the object data cannot be parsed.
ISSUE_251 = pinned_sample(
    OLETOOLS,
    TEST_DATA + "rtfobj/issue_251.rtf",
    "f7821032aac521b29be502ff0bbd9f16b757a7bb59bf9b98301ee7494c9f7b26",
).read_bytes()
LNK_DOC = pinned_sample(
    OLETOOLS,
    TEST_DATA + "oleobj/sample_with_lnk_file.doc",
    "2f226f9332ebeadde64984238600ff62f75c7407f2c508e1ce953d4e1c9422b2",
).read_bytes()
WORD_DOC = pinned_sample(
    "olefile-0.47.zip",
    "olefile-0.47/tests/images/test-ole-file.doc",
    "a9645cd22f59f2314d0d0cf7ded60a536fb8422ed6b26115d2faa5442fad3336",
).read_bytes()


def _native_package() -> bytes:
    """The OLE Package (calc.lnk) of oletools' shortcut document, read with olefile.

    The OLE 2 stream starts with its own size; an OLE 1.0 object's native data does not.
    """
    with olefile.OleFileIO(io.BytesIO(LNK_DOC)) as ole:
        return ole.openstream("ObjectPool/_1573545115/\x01Ole10Native").read()[4:]


def _ole1_object(class_name: str, data: bytes) -> bytes:
    """An embedded OLE 1.0 object: version 0x0501, format 2, class, empty topic and item."""
    name = class_name.encode("ascii") + b"\x00"
    return (
        struct.pack("<II", 0x0501, 2)
        + struct.pack("<I", len(name))
        + name
        + struct.pack("<II", 0, 0)
        + struct.pack("<I", len(data))
        + data
    )


def _rtf(class_name: str, data: bytes) -> bytes:
    hexdata = _ole1_object(class_name, data).hex()
    lines = "\n".join(hexdata[i : i + 128] for i in range(0, len(hexdata), 128))
    return (
        b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Calibri;}}\\pard Invoice attached.\\par"
        b"{\\object\\objemb{\\*\\objclass "
        + class_name.encode("ascii")
        + b"}\\objw1000\\objh1000{\\*\\objdata\n"
        + lines.encode("ascii")
        + b"\n}}}"
    )


PACKAGE_RTF = _rtf("Package", _native_package())
EQUATION_RTF = _rtf("Equation.3", WORD_DOC)


def _hostile_variants(content: bytes) -> List[bytes]:
    """Truncations at several offsets and copies with bytes flipped across the file."""
    cuts = [content[:n] for n in (4, 64, len(content) // 3, len(content) // 2, len(content) - 1)]
    flipped = []
    for step in (97, 509, 2053):
        damaged = bytearray(content)
        for offset in range(step, len(damaged), step):
            damaged[offset] ^= 0xFF
        flipped.append(bytes(damaged))
    return cuts + flipped


class TestRtfPluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples."""

    plugin_name = "rtf"
    samples = (ISSUE_251, PACKAGE_RTF, EQUATION_RTF)


def test_package_object_file_is_extracted_with_its_name() -> None:
    """The packaged calc.lnk comes out whole, named, with the object's offset and class."""
    response = run_plugin("rtf", "scan", PACKAGE_RTF)
    [obj] = response.results["objects"]
    assert obj["class_name"] == "Package" and obj["package"] is True
    assert obj["filename"] == "calc.lnk"
    assert obj["source_path"] == "C:\\Users\\user\\Desktop\\calc.lnk"
    [child] = response.extracted
    assert child.content[:4] == b"L\x00\x00\x00" and len(child.content) == obj["size"] == 1220
    assert child.payload_meta.extra_data == {
        "filename": "calc.lnk",
        "source_path": "C:\\Users\\user\\Desktop\\calc.lnk",
        "temp_path": "C:\\Users\\user\\AppData\\Local\\Temp\\calc.lnk",
        "offset": obj["offset"],
        "class_name": "Package",
    }
    assert response.results["equation_editor"] is False


def test_equation_editor_object_is_flagged_and_its_ole_data_extracted() -> None:
    """An Equation.3 object: flagged; the OLE file inside comes out byte for byte."""
    response = run_plugin("rtf", "scan", EQUATION_RTF)
    [obj] = response.results["objects"]
    assert obj["class_name"] == "Equation.3" and obj["equation_editor"] is True
    assert obj["clsid"] == "00020906-0000-0000-C000-000000000046"
    assert response.results["equation_editor"] is True
    [child] = response.extracted
    assert child.content == WORD_DOC
    assert child.payload_meta.extra_data["class_name"] == "Equation.3"


def test_obfuscated_equation_object_is_flagged_by_its_declared_class() -> None:
    """issue_251.rtf hides its object data; the declared \\objclass still gives it away."""
    response = run_plugin("rtf", "scan", ISSUE_251)
    assert response.results["declared_classes"] == ["Equation.3"]
    assert response.results["equation_editor"] is True
    [obj] = response.results["objects"]
    assert obj["is_ole"] is False and obj["raw_size"] > 0
    assert response.extracted == []


@pytest.mark.parametrize(
    ("opts", "reason"),
    [({"max_objects": 0}, None), ({"max_object_size": 100}, "max_object_size")],
)
def test_object_limits_skip_and_say_so(opts: dict, reason: str) -> None:
    """max_objects stops reading objects; max_object_size keeps the object listed, unextracted."""
    response = run_plugin("rtf", "scan", PACKAGE_RTF, plugin_opts=opts)
    assert response.extracted == []
    if reason is None:
        assert response.results["objects"] == []
        assert response.results["limits_hit"] == ["max_objects 0: 1 more objects not read"]
    else:
        [obj] = response.results["objects"]
        assert obj["skipped"] == reason
        assert response.results["limits_hit"] == [
            f"max_object_size: object at offset {obj['offset']} not extracted"
        ]


@pytest.mark.parametrize("content", [b"", b"rtf", b"%PDF-1.7\n", b"\xd0\xcf\x11\xe0" * 100])
def test_other_formats_say_not_rtf(content: bytes) -> None:
    """Not RTF: one error field, nothing parsed."""
    assert run_plugin("rtf", "scan", content).results == {
        "error": "not an RTF document (no {\\rt at the start)"
    }


@pytest.mark.parametrize("sample", [PACKAGE_RTF, EQUATION_RTF, ISSUE_251], ids=["pkg", "eq", "251"])
def test_damaged_documents_give_a_result_never_a_crash(sample: bytes) -> None:
    """Truncated and bit-flipped copies: every call returns JSON-safe results."""
    for variant in _hostile_variants(sample):
        response = run_plugin("rtf", "scan", variant)
        assert response.results is not None
        json.dumps(response.results)


def test_truncated_package_is_not_extracted_as_if_whole() -> None:
    """Cut in the middle of the hex data, the package cannot be parsed: nothing is extracted."""
    response = run_plugin("rtf", "scan", PACKAGE_RTF[: len(PACKAGE_RTF) // 2])
    assert all(len(c.content) != 1220 for c in response.extracted)
    assert not any(o.get("package") for o in response.results["objects"])


def test_full_scan_extracts_the_package_as_a_named_child(stoq_factory) -> None:
    """Through the engine the packaged file is a child carrying its name."""
    stoq = stoq_factory(always_dispatch=["rtf"])
    response = stoq.scan(PACKAGE_RTF)
    assert response.errors == []
    [(_, root), (depth, child)] = list(walk(response))
    assert root.workers[0]["rtf"]["objects"][0]["filename"] == "calc.lnk"
    assert depth == 1 and child.extracted_by == "rtf"
    assert child.payload_meta.extra_data["filename"] == "calc.lnk"


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real RTF documents end in a result or an Error, in budget and memory."""
    check_hostile_corpus("rtf", [ISSUE_251, PACKAGE_RTF])
