"""Word field instructions and Excel DDE links, read from the package's XML parts.

A Word field is either ``w:fldSimple`` (the instruction in its ``w:instr`` attribute) or a
complex field: a ``w:fldChar`` begin, the instruction in ``w:instrText`` runs (often split over
many runs), a separate, the displayed result and an end. Complex fields nest; an inner field's
instruction is part of its parent's (Word evaluates the inner one first), and an inner ``QUOTE``
field with character codes is how ``DDEAUTO`` gets spelled without the word appearing, so the
parent gets the decoded text. Excel keeps DDE links as ``ddeLink`` elements in its external link
parts.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from typing import Callable, Dict, List, Optional, Tuple

from .safexml import SEPARATOR, scan_part
from .xlsb import xlsb_dde_links

__all__ = ["FieldReader", "content_types", "dde_link_parts", "dde_links", "word_field_parts"]

_WORD_NAMESPACES = (
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://schemas.microsoft.com/office/word/2003/wordml",
)
_CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_WORDML = "application/vnd.openxmlformats-officedocument.wordprocessingml."
#: Content types of the Word parts whose paragraphs can hold fields.
_FIELD_CONTENT_TYPES = {
    *(
        _WORDML + kind
        for kind in (
            "document.main+xml",
            "template.main+xml",
            "document.glossary+xml",
            "header+xml",
            "footer+xml",
            "footnotes+xml",
            "endnotes+xml",
            "comments+xml",
        )
    ),
    "application/vnd.ms-word.document.macroEnabled.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
}
#: The same parts by their usual names, for packages whose content types are wrong or missing.
_FIELD_PART_NAME = re.compile(
    r"word/(document|header\d*|footer\d*|footnotes|endnotes|comments|glossary/document)\.xml"
)
_EXTERNAL_LINK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml",
    "application/vnd.ms-excel.externalLink",  # binary, in .xlsb
}
_EXTERNAL_LINK_NAME = re.compile(r"xl/externalLinks/[^/]+\.(xml|bin)")
#: The longest instruction kept; a longer one is cut (real ones are a few hundred characters).
MAX_INSTRUCTION = 4096
#: Complex fields nested deeper than this are not read (Word itself nests a few levels).
MAX_NESTING = 32


def _word(local: str) -> Tuple[str, ...]:
    return tuple(f"{ns}{SEPARATOR}{local}" for ns in _WORD_NAMESPACES)


_FLDCHAR, _INSTRTEXT, _FLDSIMPLE = _word("fldChar"), _word("instrText"), _word("fldSimple")
_FLDCHARTYPE, _INSTR = _word("fldCharType"), _word("instr")


def _attribute(attrs: Dict[str, str], names: Tuple[str, ...]) -> Optional[str]:
    for name in names:
        if name in attrs:
            return attrs[name]
    return None


def content_types(package: zipfile.ZipFile, limit: int) -> Dict[str, str]:
    """Each part name (without its leading slash) mapped to its declared content type."""
    overrides: Dict[str, str] = {}
    defaults: Dict[str, str] = {}

    def on_start(tag: str, attrs: Dict[str, str]) -> None:
        if tag == f"{_CONTENT_TYPES_NS}{SEPARATOR}Override" and "PartName" in attrs:
            overrides[attrs["PartName"].lstrip("/").lower()] = attrs.get("ContentType", "")
        elif tag == f"{_CONTENT_TYPES_NS}{SEPARATOR}Default" and "Extension" in attrs:
            defaults[attrs["Extension"].lower()] = attrs.get("ContentType", "")

    scan_part(package, "[Content_Types].xml", limit, on_start)
    types = {}
    for name in package.namelist():
        extension = posixpath.splitext(name)[1].lstrip(".").lower()
        types[name] = overrides.get(name.lower(), defaults.get(extension, ""))
    return types


def word_field_parts(types: Dict[str, str]) -> List[str]:
    """Parts that can hold fields, in zip order: by content type or by their usual name."""
    return [
        name
        for name, kind in types.items()
        if kind in _FIELD_CONTENT_TYPES or _FIELD_PART_NAME.fullmatch(name)
    ]


def dde_link_parts(types: Dict[str, str]) -> List[str]:
    """Excel external link parts (XML or binary), in zip order: by content type or usual name."""
    return [
        name
        for name, kind in types.items()
        if kind in _EXTERNAL_LINK_TYPES or _EXTERNAL_LINK_NAME.fullmatch(name)
    ]


def _quoted_text(instruction: str) -> Optional[str]:
    """What a ``QUOTE`` field shows: character codes become characters; None for other fields."""
    words = instruction.split()
    if not words or words[0].upper() != "QUOTE":
        return None
    shown = []
    for word in words[1:]:
        code = int(word) if word.isdecimal() and len(word) <= 7 else -1
        if 0 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:  # no lone surrogates
            shown.append(chr(code))
        else:
            shown.append(word.strip('"'))
    return "".join(shown)


class _Field:
    """A complex field being read: where it began and its instruction so far."""

    __slots__ = ("order", "pieces", "separated")

    def __init__(self, order: int) -> None:
        self.order = order
        self.pieces: List[str] = []
        self.separated = False


class FieldReader:
    """Collects the field instructions that ``keep`` accepts from the Word parts it reads.

    Fields come in the order they begin; a field whose end never comes is still reported with
    the instruction read so far. Memory stays bounded on hostile parts: at most ``max_fields``
    fields are kept (later ones are counted in ``dropped``), fields nested deeper than
    ``MAX_NESTING`` are not read (counted in ``too_deep``), and instructions are cut at
    ``MAX_INSTRUCTION`` characters.
    """

    def __init__(self, max_fields: int, max_part_bytes: int, keep: Callable[[str], bool]) -> None:
        self.max_fields = max_fields
        self.max_part_bytes = max_part_bytes
        self.keep = keep
        self.fields: List[str] = []
        self.dropped = 0
        self.too_deep = 0

    def read(self, package: zipfile.ZipFile, name: str) -> None:
        """Add the fields of one part; a part that cannot be read raises and adds nothing."""
        found: List[Tuple[int, str]] = []
        open_fields: List[_Field] = []
        ignored_depth = 0  # fields begun too deep that have not ended yet
        in_instruction = False
        begun = 0

        def finish(field: _Field) -> None:
            instruction = "".join(field.pieces)[:MAX_INSTRUCTION]
            if open_fields and not open_fields[-1].separated:
                quoted = _quoted_text(instruction)
                open_fields[-1].pieces.append(instruction if quoted is None else quoted)
            if not self.keep(instruction):
                return
            if len(self.fields) + len(found) >= self.max_fields:
                self.dropped += 1
            else:
                found.append((field.order, instruction))

        def begin() -> _Field:
            nonlocal begun
            begun += 1
            return _Field(begun)

        def on_start(tag: str, attrs: Dict[str, str]) -> None:
            nonlocal ignored_depth, in_instruction
            if tag in _INSTRTEXT:
                in_instruction = True
            elif tag in _FLDCHAR:
                kind = _attribute(attrs, _FLDCHARTYPE)
                if kind == "begin":
                    if ignored_depth or len(open_fields) >= MAX_NESTING:
                        ignored_depth += 1
                        self.too_deep += 1
                    else:
                        open_fields.append(begin())
                elif ignored_depth:
                    if kind == "end":
                        ignored_depth -= 1
                elif kind == "separate" and open_fields:
                    open_fields[-1].separated = True
                elif kind == "end" and open_fields:
                    finish(open_fields.pop())
            elif tag in _FLDSIMPLE and not ignored_depth:
                instruction = _attribute(attrs, _INSTR)
                if instruction is not None:
                    field = begin()
                    field.pieces.append(instruction)
                    finish(field)

        def on_end(tag: str) -> None:
            nonlocal in_instruction
            if tag in _INSTRTEXT:
                in_instruction = False

        def on_text(text: str) -> None:
            if in_instruction and open_fields and not ignored_depth:
                field = open_fields[-1]
                if not field.separated:
                    field.pieces.append(text)

        scan_part(package, name, self.max_part_bytes, on_start, on_end, on_text)
        while open_fields:  # begun but never ended: keep what was read
            finish(open_fields.pop())
        self.fields.extend(instruction for _, instruction in sorted(found))


def dde_links(package: zipfile.ZipFile, name: str, limit: int) -> List[str]:
    """``"<service> <topic>"`` of each DDE link in an external link part, XML or binary."""
    if name.lower().endswith(".bin"):
        with package.open(name) as member:
            data = member.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"{name}: part over {limit} bytes")
        try:
            return xlsb_dde_links(data)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    links: List[str] = []

    def on_start(tag: str, attrs: Dict[str, str]) -> None:
        if tag.rsplit(SEPARATOR, 1)[-1].lower() == "ddelink":
            present = (attrs.get("ddeService"), attrs.get("ddeTopic"))
            links.append(" ".join(value for value in present if value is not None))

    scan_part(package, name, limit, on_start)
    return links
