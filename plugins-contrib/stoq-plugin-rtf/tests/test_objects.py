"""The plugin's own RTF object finder and OLE 1.0 decoder, compared with oletools' rtfobj (in
the test extra only) on the documents the plugin tests use, then on hostile documents."""

from __future__ import annotations

import time
import warnings
from typing import Any, Dict, List

import pytest
from test_rtf import EQUATION_RTF, ISSUE_251, PACKAGE_RTF, WORD_DOC, _native_package, _ole1_object

from stoq.testing import run_plugin
from stoq_plugin_rtf.objdata import find_objdata
from stoq_plugin_rtf.ole1 import parse_ole1

with warnings.catch_warnings():  # oletools uses pyparsing names that pyparsing 3.3 deprecates
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools import rtfobj

DOCUMENTS = {"issue_251": ISSUE_251, "package": PACKAGE_RTF, "equation": EQUATION_RTF}


def _rtfobj(content: bytes) -> List[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        parser = rtfobj.RtfObjParser(content)
        parser.parse()
    return list(parser.objects)


def _objects(content: bytes) -> List[Dict[str, Any]]:
    return list(run_plugin("rtf", "scan", content).results["objects"])


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_objects_are_found_and_decoded_as_rtfobj_does(name: str) -> None:
    """Offsets, decoded bytes, OLE 1.0 fields, package names and CLSIDs equal rtfobj's."""
    content = DOCUMENTS[name]
    theirs = _rtfobj(content)
    assert [(o.offset, o.data) for o in find_objdata(content)] == [
        (o.start, o.rawdata) for o in theirs
    ]
    for ours, obj in zip(_objects(content), theirs):
        assert (ours["offset"], ours["raw_size"], ours["is_ole"]) == (
            obj.start,
            len(obj.rawdata),
            bool(obj.is_ole),
        )
        if obj.is_ole:
            assert ours["class_name"] == obj.class_name.decode("latin-1").rstrip("\x00")
            assert (ours["format_id"], ours["ole_size"]) == (obj.format_id, obj.oledata_size)
            assert ours.get("clsid") == (obj.clsid or None)
        if obj.is_package:
            assert (ours["filename"], ours["source_path"], ours["temp_path"]) == (
                obj.filename,
                obj.src_path,
                obj.temp_path,
            )
            assert ours["size"] == len(obj.olepkgdata)


def _obfuscated(content: bytes) -> bytes:
    """The package document with its hex broken up the ways Word tolerates: tabs and line
    breaks, control words, plain nested groups, skipped destinations and a \\bin run."""
    start = content.index(b"\\objdata") + len(b"\\objdata")
    stop = content.index(b"}", start)
    digits = content[start:stop].replace(b"\n", b"")
    head, rest = digits[:20], digits[20:]
    tricks = (
        head[:6] + b"\t\r\n" + head[6:10] + b"\\fnil " + head[10:14] + b"{" + head[14:20] + b"}"
        + b"{\\*\\junk 4142}{\\proptype 4344}"
        + b"\\bin2 " + bytes.fromhex(rest[:4].decode()) + rest[4:]
    )  # fmt: skip
    return content[:start] + b" " + tricks + content[stop:]


def test_obfuscated_hex_decodes_to_the_same_object() -> None:
    """Whitespace, control words, plain groups, ignorable destinations and \\bin among the
    digits: the same object, the same file extracted. (rtfobj keeps the digits of the
    {\\*\\junk} destination, which the RTF specification says a reader skips.)"""
    obfuscated = _obfuscated(PACKAGE_RTF)
    clean = next(find_objdata(PACKAGE_RTF)).data
    [found] = find_objdata(obfuscated)
    assert found.data == clean
    response = run_plugin("rtf", "scan", obfuscated)
    [child] = response.extracted
    assert child.payload_meta.extra_data["filename"] == "calc.lnk" and len(child.content) == 1220


def test_unterminated_objdata_is_a_partial_result() -> None:
    """Cut before its group closes, the object is what was read, marked unterminated, and
    says why it is no OLE object: its native data is cut short."""
    cut = PACKAGE_RTF[: PACKAGE_RTF.index(b"\\objdata") + 400]
    [obj] = _objects(cut)
    assert obj == {
        "offset": 133,
        "raw_size": 194,
        "is_ole": False,
        "unterminated": True,
        "error": "ValueError: native_data: 1486 bytes needed, 162 remain",
    }


def test_an_odd_last_hex_digit_is_dropped() -> None:
    [found] = find_objdata(b"{\\rtf1{\\object{\\*\\objdata 0105a}}}")
    assert found.data == b"\x01\x05" and not found.unterminated


@pytest.mark.parametrize(
    ("ole1", "error"),
    [
        (b"\x01\x05\x00\x00\x09\x00\x00\x00",
         "ValueError: format_id: 9 is neither linked (1) nor embedded (2)"),
        (b"\x01\x05\x00\x00\x02\x00\x00\x00\xff\xff\xff\xffPackage\x00",
         "ValueError: class_name: 4294967295 bytes needed, 8 remain"),
        (_ole1_object("Package", b"x" * 10)[:-10] + b"xx",
         "ValueError: native_data: 10 bytes needed, 2 remain"),
        (_ole1_object("Package", b"\x02\x00" + b"A" * 50),
         "package: ValueError: filename: no terminating NUL within 50 bytes"),
    ],
    ids=["format-id", "huge-class-name", "huge-native-size", "package-garbage"],
)  # fmt: skip
def test_forged_headers_are_errors_naming_the_field(ole1: bytes, error: str) -> None:
    document = b"{\\rtf1{\\object{\\*\\objdata " + ole1.hex().encode() + b"}}}"
    [obj] = _objects(document)
    assert obj["error"] == error


def test_every_prefix_of_an_ole1_object_parses_or_raises_value_error() -> None:
    """Truncated anywhere, the header is refused with the field it stopped in."""
    whole = _ole1_object("Equation.3", WORD_DOC[:300])
    fields = set()
    for cut in range(len(whole)):
        with pytest.raises(ValueError, match=r"^[a-z_ ]+: ") as refused:
            parse_ole1(whole[:cut])
        fields.add(str(refused.value).split(":", 1)[0])
    assert fields == {
        "ole_version", "format_id", "class_name length", "class_name", "topic_name length",
        "item_name length", "native_size", "native_data",
    }  # fmt: skip
    assert parse_ole1(whole).native == WORD_DOC[:300]
    assert parse_ole1(_ole1_object("Package", _native_package())).class_name == "Package"


@pytest.mark.parametrize(
    ("document", "count"),
    [
        (b"{\\rtf1" + b"{" * 2_000_000 + b"\\objdata 01" + b"}" * 2_000_000, 1),
        (b"{\\rtf1{\\objdata " + b"{ " * 1_000_000 + b"}}", 1),
        (b"{\\rtf1{\\objdata " + b"{0}" * 700_000 + b"}}", 1),
        (b"{\\rtf1{\\objdata " + b"\\bin" * 1_000_000 + b"}}", 1),
        (b"{\\rtf1{\\objdata \\bin99999999999999999999 0105}}", 1),
        (b"{\\rtf1" + b"{\\*\\objdata 0105}" * 200_000 + b"}", 100),
    ],
    ids=["deep-nesting", "spaced-nesting", "many-groups", "many-bins", "huge-bin", "many-objects"],
)
def test_hostile_structures_end_quickly(document: bytes, count: int) -> None:
    """Deep nesting, a flood of groups or control words, a \\bin longer than the document,
    200,000 objects: one pass, bounded output."""
    started = time.monotonic()
    response = run_plugin("rtf", "scan", document)
    assert time.monotonic() - started < 10
    assert len(response.results["objects"]) == count
    if count == 100:
        assert response.results["limits_hit"] == ["max_objects 100: 199900 more objects not read"]
