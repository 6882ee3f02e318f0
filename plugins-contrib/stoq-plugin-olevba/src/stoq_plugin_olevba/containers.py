"""Where VBA projects and Excel 4 macros live in each kind of document.

The plugin opens a payload as the first of these that fits, in olevba's order, and names the
container as olevba does: ``OLE`` (Word/Excel 97, a bare ``vbaProject.bin``), ``PPT``
(PowerPoint 97 keeps its project zlib-compressed in ExOleObjStg records), ``OpenXML`` (any
OLE part of the zip), ``Word2003_XML`` and ``FlatOPC_XML`` (base64 parts in XML), ``MHTML``
("single file web page"; base64 MIME parts) and ``SLK``. A part that cannot be read is an
error naming it; the other parts are still read.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import html
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from io import BytesIO
from typing import Iterator, List, Optional, Tuple

import olefile

from . import ovba, xlm

__all__ = ["NOT_A_DOCUMENT", "Document", "NotADocument", "describe", "open_document"]

NOT_A_DOCUMENT = "not an OLE, OOXML, Word/Excel 2003 XML, MHTML or SLK document"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ACTIVEMIME_MAGIC = b"ActiveMime"
#: PowerPoint record types (MS-PPT): an embedded OLE storage, optionally zlib-compressed.
EX_OLE_OBJ_STG = 0x1011
WORD2003_NS = b"http://schemas.microsoft.com/office/word/2003/wordml"
FLATOPC_NS = b"http://schemas.microsoft.com/office/2006/xmlPackage"
#: Every pattern stops at the next "<", so a flood of unclosed tags is still read in linear time.
#: base64 element content: Word 2003's ``<w:binData w:name=...>`` and Flat OPC's parts.
BINDATA = re.compile(rb"<(?:\w+:)?binData\b([^<>]*)>([^<]*)<", re.IGNORECASE)
FLATOPC_PART = re.compile(rb"<(?:\w+:)?part\b([^<>]*)>\s*<(?:\w+:)?binaryData>([^<]*)<")
NAME_ATTRIBUTE = re.compile(rb"""\bname\s*=\s*["']([^"']*)["']""")
#: A formula cell of an OOXML macro sheet: ``<f>EXEC("calc")</f>``.
OOXML_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^<>]*>([^<]*)<")
#: Macro sheet parts of a workbook (.xlsm's XML, .xlsb's binary), not their indexes or rels.
MACRO_SHEET_PART = re.compile(r"(?i)xl/macrosheets/(?!binaryindex)[^/]+\.(?:xml|bin)")
#: The workbook part, whose defined names may start a macro sheet (``_xlnm.Auto_Open``).
WORKBOOK_PART = re.compile(r"(?i)xl/workbook\.(?:xml|bin)")
AUTO_NAME = re.compile(r"(?i)(?<![\w.])(?:_xlnm\.)?(Auto_(?:Open|Close)\w*)")


class NotADocument(ValueError):
    """The payload is none of the containers olevba reads."""


@dataclass
class Document:
    """The VBA projects and Excel 4 macros found in one payload."""

    container: str
    #: The payload itself when it is an OLE file (for the encryption check).
    ole: Optional[olefile.OleFileIO] = None
    #: (part name in the container, or None for the payload itself; the OLE file holding VBA)
    projects: List[Tuple[Optional[str], olefile.OleFileIO]] = field(default_factory=list)
    xlm: xlm.Xlm = field(default_factory=xlm.Xlm)
    errors: List[str] = field(default_factory=list)
    limits_hit: List[str] = field(default_factory=list)


class _Reader:
    """Opens one payload within ``limit`` bytes for anything it expands."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.document = Document("")

    def expanded(self, where: str, data: bytes) -> bytes:
        """``data`` cut to the limit, saying so when it was longer."""
        if len(data) > self.limit:
            self.document.limits_hit.append(f"max_expanded_bytes {self.limit}: {where} cut")
            return data[: self.limit]
        return data

    def inflate(self, where: str, data: bytes, wbits: int = zlib.MAX_WBITS) -> bytes:
        """zlib data decompressed to at most the limit (a bomb stops there)."""
        inflater = zlib.decompressobj(wbits)
        return self.expanded(where, inflater.decompress(data, self.limit + 1))

    def add_ole(self, part: Optional[str], data: bytes) -> None:
        """Keep ``data`` as a project when it is an OLE file holding ``VBA/dir``."""
        if not data.startswith(OLE_MAGIC):
            return
        try:
            ole = olefile.OleFileIO(data)
            if ovba.project_roots(ole):
                self.document.projects.append((part, ole))
            else:
                ole.close()
        except Exception as exc:  # noqa: BLE001 - olefile raises many kinds on damaged files
            self.document.errors.append(f"{part}: {describe(exc)}")

    def add_activemime(self, part: str, data: bytes) -> None:
        """An ActiveMime blob (``editdata.mso``): a header, then a zlib-compressed OLE file."""
        self.add_ole(part, self.inflate(part, data[activemime_offset(data) :]))

    def add_embedded(self, part: str, data: bytes) -> None:
        if data.startswith(ACTIVEMIME_MAGIC):
            self.add_activemime(part, data)
        else:
            self.add_ole(part, data)


def describe(exc: BaseException) -> str:
    """An exception as one line: its type, then its message with whitespace collapsed."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def activemime_offset(data: bytes) -> int:
    """Where an ActiveMime blob's zlib stream starts: the header's own size field (at 0x1E,
    plus 46) when a zlib header is there, else the first zlib header in the first 4 KiB."""
    if len(data) >= 0x20:
        start = int.from_bytes(data[0x1E:0x20], "little") + 46
        if _zlib_header(data, start):
            return start
    for start in range(min(len(data), 4096)):
        if _zlib_header(data, start):
            return start
    raise ValueError("ActiveMime: no zlib stream")


def _zlib_header(data: bytes, start: int) -> bool:
    header = data[start : start + 2]
    return len(header) == 2 and header[0] & 0x0F == 8 and int.from_bytes(header, "big") % 31 == 0


def open_document(content: bytes, limit: int) -> Document:
    """The document's projects and XLM macros; NotADocument when it is none olevba reads."""
    reader = _Reader(limit)
    if content.startswith(OLE_MAGIC):
        _ole(reader, content)
    elif content.startswith(b"PK") and zipfile.is_zipfile(BytesIO(content)):
        _openxml(reader, content)
    else:
        lowered = content[:65536].lower()
        if WORD2003_NS in content:
            _word2003(reader, content)
        if FLATOPC_NS in content:
            _flatopc(reader, content)
        if not reader.document.container and _looks_like_mhtml(lowered):
            _mhtml(reader, content)
        if not reader.document.container and content.startswith(b"ID"):
            reader.document.container = "SLK"
            reader.document.xlm = xlm.slk(content)
        if not reader.document.container:
            raise NotADocument(NOT_A_DOCUMENT)
    return reader.document


def _ole(reader: _Reader, content: bytes) -> None:
    ole = olefile.OleFileIO(content)
    document = reader.document
    document.ole = ole
    if ole.exists("PowerPoint Document"):
        document.container = "PPT"
        for where, body, compressed in _ppt_objects(ole.openstream("PowerPoint Document").read()):
            try:
                reader.add_ole(None, reader.inflate(where, body[4:]) if compressed else body)
            except zlib.error as exc:
                document.errors.append(f"{where}: {describe(exc)}")
        return
    document.container = "OLE"
    if ovba.project_roots(ole):
        document.projects.append((None, ole))
    for name in ("Workbook", "Book"):
        if ole.exists(name):
            document.xlm = xlm.biff(ole.openstream(name).read())
            break


def _ppt_objects(stream: bytes) -> Iterator[Tuple[str, bytes, bool]]:
    """``(where, body, compressed)`` of each embedded OLE storage of a PowerPoint Document
    stream; a compressed body is its decompressed size (4 bytes), then zlib data.

    Container records (version 0xF) are entered, atoms skipped, so one pass reads the tree.
    """
    pos = 0
    while len(stream) - pos >= 8:
        version_instance, kind, size = struct.unpack_from("<HHI", stream, pos)
        pos += 8
        if version_instance & 0x000F == 0x000F:
            continue
        body = stream[pos : pos + size]
        pos += size
        if kind == EX_OLE_OBJ_STG:
            yield f"ExOleObjStg at {pos - size - 8}", body, version_instance >> 4 == 1


def _openxml(reader: _Reader, content: bytes) -> None:
    reader.document.container = "OpenXML"
    with zipfile.ZipFile(BytesIO(content)) as zipped:
        for info in zipped.infolist():
            name = info.filename
            workbook = WORKBOOK_PART.fullmatch(name) is not None
            if MACRO_SHEET_PART.fullmatch(name):
                reader.document.xlm.sheets.append(name)
            formulas = name.lower().endswith(".xml") and name in reader.document.xlm.sheets
            try:
                with zipped.open(info) as member:
                    head = member.read(len(OLE_MAGIC))
                    embedded = head in (OLE_MAGIC, ACTIVEMIME_MAGIC[: len(OLE_MAGIC)])
                    if not (embedded or workbook or formulas):
                        continue
                    data = reader.expanded(name, head + member.read(reader.limit))
            except Exception as exc:  # noqa: BLE001 - zipfile/zlib raise several kinds on damage
                reader.document.errors.append(f"{name}: {describe(exc)}")
                continue
            if embedded:
                reader.add_embedded(name, data)
            elif workbook:
                reader.document.xlm.names += _auto_names(data)
            else:
                reader.document.xlm.formulas += [
                    f"{name}: {html.unescape(f.decode('utf-8', 'replace'))}"
                    for f in OOXML_FORMULA.findall(data)
                ]


def _auto_names(workbook: bytes) -> List[str]:
    """Auto_Open/Auto_Close defined names of a workbook part (XML, or .xlsb's UTF-16 names)."""
    texts = (
        workbook.decode("utf-8", "replace"),
        workbook.decode("utf-16-le", "replace"),
        workbook[1:].decode("utf-16-le", "replace"),
    )
    return list(dict.fromkeys(m for text in texts for m in AUTO_NAME.findall(text)))


def _base64(text: bytes) -> bytes:
    return base64.b64decode(re.sub(rb"\s+", b"", text))


def _word2003(reader: _Reader, content: bytes) -> None:
    reader.document.container = "Word2003_XML"
    for attributes, encoded in BINDATA.findall(content):
        name = NAME_ATTRIBUTE.search(attributes)
        part = name.group(1).decode("utf-8", "replace") if name else "binData"
        try:
            reader.add_embedded(part, _base64(encoded))
        except (ValueError, binascii.Error, zlib.error) as exc:
            reader.document.errors.append(f"{part}: {describe(exc)}")


def _flatopc(reader: _Reader, content: bytes) -> None:
    reader.document.container = "FlatOPC_XML"
    for attributes, encoded in FLATOPC_PART.findall(content):
        name = NAME_ATTRIBUTE.search(attributes)
        part = name.group(1).decode("utf-8", "replace").lstrip("/") if name else "part"
        try:
            reader.add_embedded(part, _base64(encoded))
        except (ValueError, binascii.Error, zlib.error) as exc:
            reader.document.errors.append(f"{part}: {describe(exc)}")


def _looks_like_mhtml(lowered: bytes) -> bool:
    """A MIME-Version header near the top and a multipart body, however Word spaced them."""
    mime, version = lowered.find(b"mime"), lowered.find(b"version")
    return -1 not in (mime, version) and b"multipart" in lowered and abs(version - mime) < 20


def _mhtml(reader: _Reader, content: bytes) -> None:
    reader.document.container = "MHTML"
    start = content.lower().find(b"mime")
    message = email.message_from_bytes(content[start:], policy=email.policy.compat32)
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        name = part.get_filename() or part.get("Content-Location") or f"part {index}"
        try:
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                reader.add_embedded(str(name), data)
        except (ValueError, zlib.error) as exc:
            reader.document.errors.append(f"{name}: {describe(exc)}")
