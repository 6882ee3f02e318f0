"""Summary and document-summary properties of an OLE file as JSON-ready values.

olefile returns text properties as bytes in the file's codepage, times as ``datetime``; the
codepage is decoded here so names like the author's come out as the author typed them.

olefile 0.47 trusts a vector property's element count: a count of billions in a damaged or
hostile file makes it loop and allocate until the process runs out of time or memory. The
property streams are checked for such counts before olefile reads them, here and before the
encryption check (which may read the summary properties through olefile too).
"""

from __future__ import annotations

import codecs
import datetime
import struct
from typing import Any, Dict, Optional, Sequence

import olefile

__all__ = ["check_property_streams", "read_metadata"]

#: The streams olefile's ``get_metadata`` parses.
PROPERTY_STREAMS = ("\x05SummaryInformation", "\x05DocumentSummaryInformation")
#: VT_VECTOR flag of a property type (MS-OLEPS).
VT_VECTOR = 0x1000

#: Codepages whose Windows number does not map onto a Python codec name by ``cp<number>``.
_CODEPAGES = {65001: "utf-8", 1200: "utf-16-le", 1201: "utf-16-be", 10000: "mac-roman"}


def _codec(codepage: Optional[int]) -> str:
    name = _CODEPAGES.get(codepage or 0, f"cp{codepage}")
    try:
        codecs.lookup(name)
    except LookupError:
        return "latin-1"
    return name


def _value(value: Any, codec: str) -> Any:
    if isinstance(value, bytes):
        return value.decode(codec, "replace").rstrip("\x00").strip() or None
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, (bool, int, float, str)):
        return value
    return None


def _properties(meta: Any) -> Dict[str, Any]:
    """Every non-empty property olefile parsed (``author``, ``create_time``, ``codepage``, ...)."""
    codec = _codec(meta.codepage if isinstance(meta.codepage, int) else None)
    found: Dict[str, Any] = {}
    for name in list(meta.SUMMARY_ATTRIBS) + list(meta.DOCSUM_ATTRIBS):
        value = _value(getattr(meta, name, None), codec)
        if value is not None and name not in found:
            found[name] = value
    return found


def _oversized_vector(stream: bytes) -> Optional[int]:
    """The element count of the first vector property that cannot fit in its stream, if any."""
    if len(stream) < 48:
        return None
    (start,) = struct.unpack_from("<I", stream, 44)  # the first section's offset
    section = stream[start:]
    if len(section) < 8:
        return None
    # Each (id, offset) pair sits at 8 + 8 * index; only pairs wholly inside the section.
    count = min(struct.unpack_from("<I", section, 4)[0], (len(section) - 8) // 8)
    for index in range(count):
        (offset,) = struct.unpack_from("<I", section, 12 + index * 8)
        if offset + 8 > len(section):
            continue
        kind, items = struct.unpack_from("<II", section, offset)
        if kind & VT_VECTOR and items > len(section):
            return int(items)
    return None


def check_property_streams(ole: olefile.OleFileIO, names: Sequence[str] = PROPERTY_STREAMS) -> None:
    """Raise ``ValueError`` if one of the property streams ``names`` holds a vector longer than
    the stream."""
    for name in names:
        if not ole.exists(name):
            continue
        stream = ole.openstream(name).read()
        items = _oversized_vector(stream)
        if items is not None:
            raise ValueError(
                f"{name!r}: a vector property claims {items} items in {len(stream)} bytes; "
                "not parsed"
            )


def read_metadata(ole: olefile.OleFileIO) -> Dict[str, Any]:
    """The file's summary properties; ``ValueError`` for a property stream olefile cannot bear."""
    check_property_streams(ole)
    return _properties(ole.get_metadata())
