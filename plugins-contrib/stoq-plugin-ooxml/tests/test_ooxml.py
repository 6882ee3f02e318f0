"""Tests for the ``ooxml`` plugin: the stoq conformance suite, then its own behaviour."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from typing import Dict, List

import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk

OLETOOLS = "oletools-0.60.2.zip"
TEST_DATA = "oletools-0.60.2/tests/test-data/"


def _oletools_sample(member: str, sha256: str) -> bytes:
    return pinned_sample(OLETOOLS, TEST_DATA + member, sha256).read_bytes()


#: Word 2007 document with DDEAUTO and DDE fields (and a harmless MACROBUTTON).
DDE_DOCX = _oletools_sample(
    "msodde/dde-test.docx", "68e116a50d07db92f261c427fc20202bc991d0889b99844b117235aa8bd21548"
)
#: Word 2007 document with one embedded OLE object (word/embeddings/oleObject1.bin).
EMBEDDED_DOCX = _oletools_sample(
    "oleobj/embedded-simple-2007.docx",
    "00a2f70b731e340d6173ec7af5c1b2cc141ae3692235fd2e4832444d4da6c4c6",
)
#: Word 2007 document linking an OLE object from a URL.
LINKED_DOCX = _oletools_sample(
    "oleobj/external_link/sample_with_external_link_to_doc.docx",
    "8be96661599854730ad2690a4ae5991f50d684bea99dcc7ee4f5d8b6204640a2",
)
#: Word 2007 macro-enabled document (word/vbaProject.bin).
DOCM = _oletools_sample(
    "oleform/oleform-PR314.docm", "075069f5d309eeb2b2e65387b6417fd75c7bf8de56e401468146688d82cfb40f"
)
#: Excel 2007 workbook with an Excel 4 macro sheet.
XLSM_XLM = _oletools_sample(
    "excel4-macros/excel4_sample_macro.xlsm",
    "3f16769b86052ad7f75261664b8433fbec5abad7025271fa95e1b08c81bfa662",
)

TEMPLATE_URL = "http://templates.example.org/invoice.dotm"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WORD_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _rels(*relationships: str) -> str:
    return f'<?xml version="1.0"?><Relationships xmlns="{RELS_NS}">{"".join(relationships)}</Relationships>'


def _docx(extra: Dict[str, str]) -> bytes:
    """A minimal Word document written with zipfile, plus the ``extra`` parts."""
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'
        ),
        "_rels/.rels": _rels(
            f'<Relationship Id="rId1" Type="{OFFICE_RELS}/officeDocument" Target="word/document.xml"/>'
        ),
        "word/document.xml": (
            f'<?xml version="1.0"?><w:document xmlns:w="{WORD_NS}"><w:body><w:p><w:r>'
            "<w:t>Please enable editing.</w:t></w:r></w:p></w:body></w:document>"
        ),
        "word/_rels/document.xml.rels": _rels(
            f'<Relationship Id="rId1" Type="{OFFICE_RELS}/settings" Target="settings.xml"/>'
        ),
        "word/settings.xml": (
            f'<?xml version="1.0"?><w:settings xmlns:w="{WORD_NS}" xmlns:r="{OFFICE_RELS}">'
            '<w:attachedTemplate r:id="rId1"/></w:settings>'
        ),
        **extra,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, text in parts.items():
            zipped.writestr(name, text)
    return buffer.getvalue()


REMOTE_TEMPLATE_DOCX = _docx(
    {
        "word/_rels/settings.xml.rels": _rels(
            f'<Relationship Id="rId1" Type="{OFFICE_RELS}/attachedTemplate" '
            f'Target="{TEMPLATE_URL}" TargetMode="External"/>'
        ),
        "customXml/item1.xml": '<?xml version="1.0"?><b:Sources xmlns:b="urn:x"/>',
        "customXml/_rels/item1.xml.rels": _rels(),
    }
)


def _hostile_variants(content: bytes) -> List[bytes]:
    """Truncations at several offsets and copies with bytes flipped across the file."""
    cuts = [content[:n] for n in (4, 30, len(content) // 3, len(content) // 2, len(content) - 1)]
    flipped = []
    for step in (97, 509, 2053):
        damaged = bytearray(content)
        for offset in range(step, len(damaged), step):
            damaged[offset] ^= 0xFF
        flipped.append(bytes(damaged))
    return cuts + flipped


class TestOoxmlPluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the real samples."""

    plugin_name = "ooxml"
    samples = (DDE_DOCX, EMBEDDED_DOCX, LINKED_DOCX, DOCM, XLSM_XLM, REMOTE_TEMPLATE_DOCX)


def test_remote_template_url_is_reported() -> None:
    """An attachedTemplate relationship with an external target is a remote template."""
    response = run_plugin("ooxml", "scan", REMOTE_TEMPLATE_DOCX)
    assert response.errors == []
    assert response.results["remote_templates"] == [TEMPLATE_URL]
    assert response.results["external_relationships"] == [
        {
            "part": "word/_rels/settings.xml.rels",
            "id": "rId1",
            "type": "attachedTemplate",
            "target": TEMPLATE_URL,
        }
    ]
    assert response.results["custom_xml"] == [
        {
            "part": "customXml/item1.xml",
            "size": len('<?xml version="1.0"?><b:Sources xmlns:b="urn:x"/>'),
        }
    ]


def test_external_ole_link_is_an_external_relationship_not_a_template() -> None:
    """oletools' linked-object sample: the URL is listed with its type, no remote template."""
    results = run_plugin("ooxml", "scan", LINKED_DOCX).results
    [link] = results["external_relationships"]
    assert link["type"] == "oleObject"
    assert link["target"].endswith("/tests/test-data/msodde/harmless-clean.doc")
    assert results["remote_templates"] == []


def test_dde_fields_are_reported_and_harmless_fields_kept_apart() -> None:
    """DDE and DDEAUTO (any case) are in ``dde``; MACROBUTTON only in ``fields``."""
    results = run_plugin("ooxml", "scan", DDE_DOCX).results
    assert results["dde"] == [
        'DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"',
        'DDE c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"',
        "ddeauto ünicöde-test",
    ]
    assert "MACROBUTTON  Abbrechen feldname" in results["fields"]


def test_macro_parts_are_named() -> None:
    """A .docm's VBA project and an .xlsm's macro sheet are found by part name."""
    docm = run_plugin("ooxml", "scan", DOCM).results
    assert docm["macros"] is True and docm["vba_projects"] == ["word/vbaProject.bin"]
    xlsm = run_plugin("ooxml", "scan", XLSM_XLM).results
    assert xlsm["macros"] is True and xlsm["macro_sheets"] == ["xl/macrosheets/sheet1.xml"]
    assert run_plugin("ooxml", "scan", DDE_DOCX).results["macros"] is False


def test_embedded_object_is_extracted_with_its_name() -> None:
    """word/embeddings/oleObject1.bin becomes a child carrying its file name and part."""
    response = run_plugin("ooxml", "scan", EMBEDDED_DOCX)
    [child] = response.extracted
    with zipfile.ZipFile(io.BytesIO(EMBEDDED_DOCX)) as zipped:
        assert child.content == zipped.read("word/embeddings/oleObject1.bin")
    assert child.payload_meta.extra_data == {
        "filename": "oleObject1.bin",
        "part": "word/embeddings/oleObject1.bin",
    }
    assert child.content[:8] == bytes.fromhex("D0CF11E0A1B11AE1")


@pytest.mark.parametrize(
    ("opts", "reason"),
    [({"max_embedded": 0}, "max_embedded"), ({"max_embedded_size": 100}, "max_embedded_size")],
)
def test_embedding_limits_skip_and_say_so(opts: Dict[str, int], reason: str) -> None:
    """A limit keeps the object listed, marked skipped, and named in ``limits_hit``."""
    response = run_plugin("ooxml", "scan", EMBEDDED_DOCX, plugin_opts=opts)
    assert response.extracted == []
    assert response.results["embedded"] == [
        {"part": "word/embeddings/oleObject1.bin", "size": 8704, "skipped": reason}
    ]
    assert response.results["limits_hit"] == [
        f"{reason}: word/embeddings/oleObject1.bin not extracted"
    ]


def test_relationships_with_a_dtd_are_refused_and_the_rest_still_reported() -> None:
    """An entity-expansion attempt in a .rels part is one error; DDE and parts still come."""
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">]>'
        f'<Relationships xmlns="{RELS_NS}"/>'
    )
    response = run_plugin("ooxml", "scan", _docx({"word/_rels/settings.xml.rels": bomb}))
    assert response.errors == [
        "relationships: ValueError: word/_rels/settings.xml.rels: a relationships part with a DTD is refused"
    ]
    assert response.results["errors"] == response.errors
    assert response.results["macros"] is False and response.results["dde"] == []


@pytest.mark.parametrize("content", [b"", b"%PDF-1.7\n", b"plain text", bytes(1000)])
def test_other_formats_say_not_ooxml(content: bytes) -> None:
    """Empty, a bare zip signature, a PDF header, text: one error field, no crash."""
    assert run_plugin("ooxml", "scan", content).results == {
        "error": "not an OOXML package (no zip with [Content_Types].xml)"
    }


def _needs_zip_version(content: bytes, version: int) -> bytes:
    """The package with every central directory entry asking for a newer zip version."""
    damaged = bytearray(content)
    start = 0
    while True:
        start = damaged.find(b"PK\x01\x02", start)
        if start < 0:
            return bytes(damaged)
        struct.pack_into("<H", damaged, start + 6, version)
        start += 4


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (DDE_DOCX[: len(DDE_DOCX) // 2], "cannot parse: BadZipFile: File is not a zip file"),
        (
            _needs_zip_version(DDE_DOCX, 99),
            "cannot parse: NotImplementedError: zip file version 9.9",
        ),
    ],
    ids=["truncated", "zip-version"],
)
def test_a_zip_that_cannot_be_opened_is_an_error(content: bytes, error: str) -> None:
    """Cut in half, or asking for a zip version Python lacks: the reason is a field and an Error."""
    response = run_plugin("ooxml", "scan", content)
    assert response.results == {"error": error}
    assert response.errors == [error]


def test_a_zip_that_is_not_office_is_not_ooxml() -> None:
    """A real zip without [Content_Types].xml is an archive, not a document."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("readme.txt", "hello")
    assert "not an OOXML package" in run_plugin("ooxml", "scan", buffer.getvalue()).results["error"]


@pytest.mark.parametrize(
    "sample", [DDE_DOCX, EMBEDDED_DOCX, REMOTE_TEMPLATE_DOCX], ids=["dde", "embedded", "template"]
)
def test_damaged_packages_give_a_result_never_a_crash(sample: bytes) -> None:
    """Truncated and bit-flipped copies: every call returns JSON-safe results."""
    for variant in _hostile_variants(sample):
        response = run_plugin("ooxml", "scan", variant)
        assert response.results is not None
        json.dumps(response.results)
        if "error" in response.results:
            assert response.errors == [response.results["error"]]
        else:
            assert response.errors == response.results.get("errors", [])


def test_corrupt_embedded_member_is_an_error_and_the_report_goes_on() -> None:
    """A member whose compressed bytes are damaged: its read fails, the rest is reported."""
    content = bytearray(EMBEDDED_DOCX)
    with zipfile.ZipFile(io.BytesIO(EMBEDDED_DOCX)) as zipped:
        info = zipped.getinfo("word/embeddings/oleObject1.bin")
    data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for offset in range(data_start + 10, data_start + 200):
        content[offset] ^= 0x5A
    response = run_plugin("ooxml", "scan", bytes(content))
    assert response.extracted == []
    [entry] = response.results["embedded"]
    assert "error" in entry
    assert f"embedded word/embeddings/oleObject1.bin: {entry['error']}" in response.errors
    assert response.results["external_relationships"] == []
    assert response.results["macros"] is False


def test_full_scan_extracts_the_embedded_object_as_a_child(stoq_factory) -> None:
    """Through the engine the embedded OLE object is a child payload extracted by ooxml."""
    stoq = stoq_factory(always_dispatch=["ooxml"])
    response = stoq.scan(EMBEDDED_DOCX)
    assert response.errors == []
    [(_, root), (depth, child)] = list(walk(response))
    assert root.workers[0]["ooxml"]["embedded"][0]["part"] == "word/embeddings/oleObject1.bin"
    assert depth == 1 and child.extracted_by == "ooxml"
    assert child.payload_meta.extra_data["filename"] == "oleObject1.bin"


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real OOXML packages end in a result or an Error, in budget and memory."""
    check_hostile_corpus("ooxml", [DDE_DOCX, DOCM])
