"""Tests for the ``ooxml`` plugin: the stoq conformance suite, then its own behaviour."""

from __future__ import annotations

import io
import json
import random
import struct
import time
import warnings
import zipfile
from typing import Dict, List

import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk

with warnings.catch_warnings():  # oletools (test extra only) uses names pyparsing 3.3 deprecates
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools import msodde

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

#: The same DDE fields in a macro-enabled document.
DDE_DOCM = _oletools_sample(
    "msodde/dde-test.docm", "39dc6bf73368c8a8fc846a02d23245ad61614793568f9806b46e76f772a6ccb3"
)
#: Word document whose fields are all harmless ones.
HARMLESS_DOCX = _oletools_sample(
    "msodde/harmless-clean.docx", "9acc24ba003275ec1d2d142374de56df98a3233add32d4d941a45ff5df45f3b7"
)
#: Excel workbooks with a DDE link to ``cmd /c calc.exe``: XML and binary external link parts.
DDE_XLSX = _oletools_sample(
    "msodde/dde-test.xlsx", "359c7c6c830472894a094acb85afcc6ea53e9d23e3e1d858180711abf2fb916a"
)
DDE_XLSM = _oletools_sample(
    "msodde/dde-test.xlsm", "24df91c68cf1407f7cbb272979371574724b58a0de8b30beb1329a4879229e56"
)
DDE_XLSB = _oletools_sample(
    "msodde/dde-test.xlsb", "d1c73e549f67a08baa339fda1915f4ae73ba714bd24a71b21d46f7f91b0334c6"
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


# --- Word fields and Excel DDE links, compared with oletools' msodde -----------------------


def _word_part(root: str, *paragraphs: str) -> str:
    """A Word part (``document``, ``hdr``, ``ftr``, ``footnotes``, ``comments``) of paragraphs."""
    body = "".join(f"<w:p>{p}</w:p>" for p in paragraphs)
    if root == "document":
        body = f"<w:body>{body}</w:body>"
    return f'<?xml version="1.0"?><w:{root} xmlns:w="{WORD_NS}">{body}</w:{root}>'


def _char(kind: str) -> str:
    return f'<w:r><w:fldChar w:fldCharType="{kind}"/></w:r>'


def _instr(text: str) -> str:
    return f'<w:r><w:instrText xml:space="preserve">{text}</w:instrText></w:r>'


def _field(*instructions: str, result: str = "") -> str:
    """A complex field whose instruction is split over one run per piece, as Word splits it."""
    shown = f"<w:r><w:t>{result}</w:t></w:r>" if result else ""
    return (
        _char("begin")
        + "".join(map(_instr, instructions))
        + _char("separate")
        + shown
        + _char("end")
    )


def _simple(instruction: str) -> str:
    return f'<w:fldSimple w:instr="{instruction}"><w:r><w:t>x</w:t></w:r></w:fldSimple>'


CMD = "c:\\\\windows\\\\system32\\\\cmd.exe"
#: Fields split across runs, in the body, a header, a footer, footnotes and comments, with
#: harmless PAGE and DATE fields that must be left out.
FIELDS_DOCX = _docx(
    {
        "word/document.xml": _word_part(
            "document",
            _field("DDEAUTO ", f"{CMD} ", '"/k calc.exe"', result="x"),
            _simple(" INCLUDETEXT &quot;http://files.example.org/a.docx&quot; "),
            _field(" PAGE ", result="1"),
            _simple(" DATE \\@ &quot;d MMMM yyyy&quot; "),
            _field(" HYPERLINK ", '"http://www.example.org/"'),
        ),
        "word/header1.xml": _word_part(
            "hdr", _field('INCLUDEPICTURE "http://img.example.org/p.png" \\d')
        ),
        "word/footer1.xml": _word_part("ftr", _simple(" PAGE \\* MERGEFORMAT ")),
        "word/footnotes.xml": _word_part(
            "footnotes", _field('LINK Excel.Sheet.12 "c:\\\\x.xlsx" "Sheet1!R1C1" \\a')
        ),
        "word/comments.xml": _word_part(
            "comments", _field('IMPORT "http://img.example.org/i.wmf"')
        ),
    }
)
FIELDS_DOCX_EXPECTED = [
    f'DDEAUTO {CMD} "/k calc.exe"',
    'INCLUDETEXT "http://files.example.org/a.docx"',
    'HYPERLINK "http://www.example.org/"',
    'INCLUDEPICTURE "http://img.example.org/p.png" \\d',
    'LINK Excel.Sheet.12 "c:\\\\x.xlsx" "Sheet1!R1C1" \\a',
    'IMPORT "http://img.example.org/i.wmf"',
]

SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _xlsx_with_dde_link(service: str, topic: str) -> bytes:
    """A workbook package whose external link part holds one DDE link, as Excel writes it."""
    link = (
        f'<?xml version="1.0"?><externalLink xmlns="{SHEET_NS}"><ddeLink ddeService="{service}" '
        f'ddeTopic="{topic}"><ddeItems><ddeItem name="A0" advise="1"/></ddeItems></ddeLink>'
        "</externalLink>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        zipped.writestr("xl/workbook.xml", f'<workbook xmlns="{SHEET_NS}"/>')
        zipped.writestr("xl/externalLinks/externalLink1.xml", link)
    return buffer.getvalue()


DDE_LINK_XLSX = _xlsx_with_dde_link("cmd", "/c powershell -nop -c calc")


def _msodde_fields(content: bytes) -> List[str]:
    """What the plugin reported when it called msodde: its fields, then ``DDE <link>``."""
    with zipfile.ZipFile(io.BytesIO(content)) as zipped:
        names = zipped.namelist()
    fields: List[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if any(n.startswith("word/") for n in names):
            text = msodde.process_docx(io.BytesIO(content), msodde.FIELD_FILTER_BLACKLIST)
            fields += [f.strip() for f in text.split("\n") if f.strip()]
        if any(n.startswith("xl/externalLinks/") for n in names):
            text = msodde.process_xlsx(io.BytesIO(content))
            fields += [f"DDE {f.strip()}" for f in text.split("\n") if f.strip()]
    return fields


@pytest.mark.parametrize(
    ("content", "dde_count"),
    [
        (DDE_DOCX, 3),
        (DDE_DOCM, 3),
        (HARMLESS_DOCX, 0),
        (EMBEDDED_DOCX, 0),
        (DDE_XLSX, 1),
        (DDE_XLSM, 1),
        (DDE_XLSB, 1),
        (FIELDS_DOCX, 1),
        (DDE_LINK_XLSX, 1),
    ],
    ids=["docx", "docm", "harmless", "embedded", "xlsx", "xlsm", "xlsb", "written", "ddelink"],
)
def test_fields_are_the_ones_msodde_finds(content: bytes, dde_count: int) -> None:
    """The plugin's own reader and msodde agree, field for field, on the same documents."""
    results = run_plugin("ooxml", "scan", content).results
    assert results.get("errors") is None
    assert results["fields"] == _msodde_fields(content)
    assert len(results["dde"]) == dde_count


def test_written_fields_in_every_part_are_found_and_harmless_ones_left_out() -> None:
    """Split instructions, fldSimple, headers, footers, footnotes, comments; PAGE and DATE dropped."""
    results = run_plugin("ooxml", "scan", FIELDS_DOCX).results
    assert results["fields"] == FIELDS_DOCX_EXPECTED
    assert results["dde"] == [FIELDS_DOCX_EXPECTED[0]]


def test_excel_dde_links_name_service_and_topic() -> None:
    """A ddeLink in an XML external link part and a DDE SupBook record in a binary one."""
    assert run_plugin("ooxml", "scan", DDE_LINK_XLSX).results["dde"] == [
        "DDE cmd /c powershell -nop -c calc"
    ]
    assert run_plugin("ooxml", "scan", DDE_XLSB).results["dde"] == ["DDE cmd /c calc.exe"]


def test_nested_quote_field_spells_the_outer_command() -> None:
    """DDEAUTO written as QUOTE character codes inside the outer field is still a DDE field.

    msodde reports only the outer field; each field is reported here, the outer one first.
    """
    codes = " ".join(str(ord(c)) for c in "DDEAUTO")
    document = _word_part(
        "document",
        _char("begin")
        + _instr(" ")
        + _field(f" QUOTE {codes} ", result="DDEAUTO")
        + _instr(f' {CMD} "/k calc.exe" ')
        + _char("separate")
        + _char("end"),
    )
    results = run_plugin("ooxml", "scan", _docx({"word/document.xml": document})).results
    outer = f'DDEAUTO {CMD} "/k calc.exe"'
    assert results["fields"] == [outer, f"QUOTE {codes}"]
    assert results["dde"] == [outer]


def test_fields_outside_plain_runs_and_without_an_end_are_reported() -> None:
    """A field inside a hyperlink and tracked insertion, and one whose end never comes."""
    document = _word_part(
        "document",
        '<w:hyperlink><w:ins w:id="1">'
        + _field('INCLUDETEXT "http://files.example.org/b.docx"')
        + "</w:ins></w:hyperlink>",
        _char("begin") + _instr("DDE cmd ") + _instr('"/c calc.exe"'),
    )
    results = run_plugin("ooxml", "scan", _docx({"word/document.xml": document})).results
    assert results["fields"] == [
        'INCLUDETEXT "http://files.example.org/b.docx"',
        'DDE cmd "/c calc.exe"',
    ]
    assert results.get("errors") is None


DDE_HEADER = {"word/header1.xml": _word_part("hdr", _field("DDE cmd /c calc"))}
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + f']><w:document xmlns:w="{WORD_NS}"><w:body><w:p>{_simple("&j;")}</w:p></w:body></w:document>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    f'<w:document xmlns:w="{WORD_NS}"><w:body><w:p>{_simple("&x;")}</w:p></w:body></w:document>'
)


@pytest.mark.parametrize(
    "document",
    [
        BILLION_LAUGHS.encode(),
        EXTERNAL_ENTITY.encode(),
        EXTERNAL_ENTITY.replace('"1.0"?>', '"1.0" encoding="utf-16"?>').encode("utf-16"),
    ],
    ids=["billion-laughs", "external-entity", "utf-16"],
)
def test_a_part_with_a_dtd_is_refused_and_other_parts_still_read(document: bytes) -> None:
    """Entities are never expanded or fetched: one error line, the header's field still comes."""
    content = _docx_replacing({"word/document.xml": document})
    started = time.monotonic()
    response = run_plugin("ooxml", "scan", content)
    assert time.monotonic() - started < 5
    assert response.errors == [
        "fields: ValueError: word/document.xml: an XML part with a DTD is refused"
    ]
    assert response.results["fields"] == ["DDE cmd /c calc"]


def _docx_replacing(parts: Dict[str, bytes]) -> bytes:
    """The DDE header document with some parts' bytes replaced (written without duplicates)."""
    source = zipfile.ZipFile(io.BytesIO(_docx(DDE_HEADER)))
    buffer = io.BytesIO()
    with source, zipfile.ZipFile(buffer, "w") as zipped:
        for name in source.namelist():
            zipped.writestr(name, parts.get(name, source.read(name)))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("parts", "error"),
    [
        (
            {"word/document.xml": f'<w:document xmlns:w="{WORD_NS}"><w:body><w:p>'.encode()},
            "fields: ValueError: word/document.xml: malformed XML: no element found: line 1, column",
        ),
        (
            {"word/document.xml": b"\x00\xffnot xml"},
            "fields: ValueError: word/document.xml: malformed XML: ",
        ),
        (
            {"[Content_Types].xml": b"<Types"},
            "fields: ValueError: [Content_Types].xml: malformed XML: ",
        ),
    ],
    ids=["truncated-xml", "garbage", "content-types"],
)
def test_malformed_parts_are_one_error_and_the_rest_is_reported(
    parts: Dict[str, bytes], error: str
) -> None:
    """Bad XML in a part names the part; relationships and the inventory still come."""
    response = run_plugin("ooxml", "scan", _docx_replacing(parts))
    [reported] = response.errors
    assert reported.startswith(error)
    assert response.results["fields"] == ["DDE cmd /c calc"]
    assert response.results["remote_templates"] == [] and response.results["macros"] is False


def test_a_truncated_binary_dde_record_is_an_error() -> None:
    """An .xlsb external link part cut inside its SupBook record: a clear error, no crash."""
    source = zipfile.ZipFile(io.BytesIO(DDE_XLSB))
    buffer = io.BytesIO()
    part = "xl/externalLinks/externalLink1.bin"
    with source, zipfile.ZipFile(buffer, "w") as zipped:
        for name in source.namelist():
            zipped.writestr(name, source.read(name)[:20] if name == part else source.read(name))
    response = run_plugin("ooxml", "scan", buffer.getvalue())
    assert response.errors == [
        f"fields: ValueError: {part}: record 0x168 runs past the end of the part"
    ]
    assert response.results["dde"] == []


def test_field_count_and_part_size_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the field limit the rest is counted in limits_hit; an oversized part is an error."""
    from stoq_plugin_ooxml import plugin

    harmless = [_simple(" PAGE ")] * 20  # harmless fields do not count against the limit
    document = _word_part("document", *harmless, *[_simple(f"DDE cmd /c {n}") for n in range(12)])
    content = _docx({"word/document.xml": document})
    monkeypatch.setattr(plugin, "MAX_FIELDS", 10)
    results = run_plugin("ooxml", "scan", content).results
    assert results["fields"] == [f"DDE cmd /c {n}" for n in range(10)]
    assert results["limits_hit"] == ["max_fields: 2 more fields not reported"]
    monkeypatch.setattr(plugin, "MAX_PART_BYTES", len(document) - 1)
    response = run_plugin("ooxml", "scan", content)
    assert f"word/document.xml: part over {len(document) - 1} bytes" in response.errors[0]


def test_deeply_nested_fields_are_bounded() -> None:
    """Thousands of nested begins: the outer MAX_NESTING levels are read, the rest counted."""
    from stoq_plugin_ooxml.fields import MAX_NESTING

    depth = MAX_NESTING + 5000
    nested = [_char("begin"), _instr("DDE cmd /c deep ")] * depth + [_char("end")] * depth
    document = _word_part("document", "".join(nested))
    started = time.monotonic()
    results = run_plugin("ooxml", "scan", _docx({"word/document.xml": document})).results
    assert time.monotonic() - started < 10
    assert len(results["fields"]) == MAX_NESTING
    assert results["fields"][-1] == "DDE cmd /c deep"
    assert results["limits_hit"] == ["max_nesting: 5000 fields nested too deep not read"]


def test_parts_are_found_by_content_type_and_missing_ones_ignored() -> None:
    """A header under an unusual name is read for its declared type; a declared absent part is no error."""
    content_types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/first-page-top.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>'
        '<Override PartName="/word/footer9.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/></Types>'
    )
    header = _word_part("hdr", _field('INCLUDETEXT "http://files.example.org/c.docx"'))
    content = _docx({"[Content_Types].xml": content_types, "word/first-page-top.xml": header})
    response = run_plugin("ooxml", "scan", content)
    assert response.errors == []
    assert response.results["fields"] == ['INCLUDETEXT "http://files.example.org/c.docx"']


def test_unbalanced_and_odd_field_markup_gives_fields_not_errors() -> None:
    """Seeded random runs of begin, separate, end, instructions and QUOTE codes (surrogates,
    non-ASCII digits, huge numbers): always a clean list of non-empty strings, never an error."""
    rng = random.Random(1234)
    pieces = [
        _char("begin"),
        _char("separate"),
        _char("end"),
        _instr("DDE cmd "),
        _instr(" QUOTE 68 55296 99999999999 \u00b2 \u0663 "),
        _simple("LINK x"),
        "<w:r><w:t>shown</w:t></w:r>",
    ]
    for _ in range(50):
        document = _word_part("document", "".join(rng.choices(pieces, k=60)))
        response = run_plugin("ooxml", "scan", _docx({"word/document.xml": document}))
        assert response.errors == []
        fields = response.results["fields"]
        assert all(isinstance(f, str) and f == f.strip() and f for f in fields)
        json.dumps(response.results, ensure_ascii=False).encode("utf-8")  # no lone surrogates
