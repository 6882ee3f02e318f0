"""The fat (universal) header: which architectures a file holds, and where each slice lies."""

from __future__ import annotations

import struct
from typing import List, NamedTuple, Optional

__all__ = ["Slice", "fat_slices"]

_FAT_MAGIC, _FAT_MAGIC_64 = 0xCAFEBABE, 0xCAFEBABF
#: A Java class file shares the magic; its version (45 or more) sits where the count would be.
_MAX_ARCHS = 20


class Slice(NamedTuple):
    cpu_type: int
    cpu_subtype: int
    offset: int
    size: int


def fat_slices(content: bytes) -> Optional[List[Slice]]:
    """The slices a fat header declares (as declared: they may lie), or None if not fat."""
    if len(content) < 8:
        return None
    magic, count = struct.unpack_from(">II", content)
    if magic not in (_FAT_MAGIC, _FAT_MAGIC_64) or not 0 < count < _MAX_ARCHS:
        return None
    wide = magic == _FAT_MAGIC_64
    entry = struct.Struct(">iiQQI4x" if wide else ">iiIII")
    slices = []
    for index in range(count):
        start = 8 + index * entry.size
        if start + entry.size > len(content):
            break
        cpu_type, cpu_subtype, offset, size, _align = entry.unpack_from(content, start)
        slices.append(Slice(cpu_type, cpu_subtype & 0xFFFFFF, offset, size))
    return slices
