"""The OLE 1.0 object an RTF ``\\objdata`` group holds (MS-OLEDS 2.2: ObjectHeader, then the
native data of an embedded object).

Header: OLE version and format id (1 linked, 2 embedded) as 32-bit words, then the class,
topic and item names, each a 32-bit length and that many bytes ending in NUL; an embedded
object follows with its native data's size and bytes. Every length is checked against what
remains, so a truncated or forged header is a ``ValueError`` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

__all__ = ["EMBEDDED", "LINKED", "Ole1Object", "parse_ole1"]

LINKED = 1
EMBEDDED = 2


@dataclass(frozen=True)
class Ole1Object:
    """An OLE 1.0 object: its class (``Package``, ``Equation.3``, ``Word.Document.8``, ...),
    format id, declared native size and native data (empty for a link)."""

    class_name: str
    format_id: int
    native_size: int
    native: bytes


def _uint32(data: bytes, pos: int, field: str) -> Tuple[int, int]:
    if len(data) - pos < 4:
        raise ValueError(f"{field}: 4 bytes needed, {max(len(data) - pos, 0)} remain")
    return int.from_bytes(data[pos : pos + 4], "little"), pos + 4


def _take(data: bytes, pos: int, size: int, field: str) -> Tuple[bytes, int]:
    if size > len(data) - pos:
        raise ValueError(f"{field}: {size} bytes needed, {len(data) - pos} remain")
    return data[pos : pos + size], pos + size


def _name(data: bytes, pos: int, field: str) -> Tuple[str, int]:
    size, pos = _uint32(data, pos, f"{field} length")
    raw, pos = _take(data, pos, size, field)
    return raw.split(b"\x00", 1)[0].decode("latin-1"), pos


def parse_ole1(data: bytes) -> Ole1Object:
    """Decode the header and native data of an OLE 1.0 object."""
    _version, pos = _uint32(data, 0, "ole_version")
    format_id, pos = _uint32(data, pos, "format_id")
    if format_id not in (LINKED, EMBEDDED):
        raise ValueError(f"format_id: {format_id} is neither linked (1) nor embedded (2)")
    class_name, pos = _name(data, pos, "class_name")
    _topic, pos = _name(data, pos, "topic_name")
    _item, pos = _name(data, pos, "item_name")
    if format_id == LINKED:
        return Ole1Object(class_name, format_id, 0, b"")
    size, pos = _uint32(data, pos, "native_size")
    native, _ = _take(data, pos, size, "native_data")
    return Ole1Object(class_name, format_id, size, native)
