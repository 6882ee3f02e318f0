"""DDE links of an Excel binary workbook (.xlsb): its external link parts are BIFF12 records.

Each record is a type and a size, both variable-length integers of 7 bits per byte (the high
bit says another byte follows), then that many bytes. A ``BrtBeginSupBook`` record opens an
external reference; when its first field says DDE, two length-prefixed UTF-16LE strings follow:
the DDE service and topic ([MS-XLSB] 2.4.668, 2.5.97.90).
"""

from __future__ import annotations

import struct
from typing import Iterator, List, Tuple

__all__ = ["xlsb_dde_links"]

_BEGIN_SUP_BOOK = 0x168
_SUP_BOOK_DDE = 1


def _varint(data: bytes, offset: int, most: int) -> Tuple[int, int]:
    """The integer at ``offset`` (at most ``most`` bytes) and the offset after it."""
    value = 0
    for index in range(most):
        if offset >= len(data):
            raise ValueError("record header cut short")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            break
    return value, offset


def _records(data: bytes) -> Iterator[Tuple[int, bytes]]:
    offset = 0
    while offset < len(data):
        kind, offset = _varint(data, offset, 2)
        size, offset = _varint(data, offset, 4)
        if offset + size > len(data):
            raise ValueError(f"record 0x{kind:x} runs past the end of the part")
        yield kind, data[offset : offset + size]
        offset += size


def _wide_string(body: bytes, offset: int) -> Tuple[str, int]:
    """A 32-bit character count then UTF-16LE characters, and the offset after them."""
    if offset + 4 > len(body):
        raise ValueError("string length cut short")
    (count,) = struct.unpack_from("<I", body, offset)
    end = offset + 4 + 2 * count
    if end > len(body):
        raise ValueError("string runs past its record")
    return body[offset + 4 : end].decode("utf-16-le", "replace"), end


def xlsb_dde_links(data: bytes) -> List[str]:
    """``"<service> <topic>"`` of each DDE external reference in a binary external link part."""
    links = []
    for kind, body in _records(data):
        if kind != _BEGIN_SUP_BOOK or len(body) < 2:
            continue
        if struct.unpack_from("<H", body)[0] != _SUP_BOOK_DDE:
            continue
        service, offset = _wide_string(body, 2)
        topic, _ = _wide_string(body, offset)
        links.append(f"{service} {topic}")
    return links
