"""Signatures of the formats carve looks for, and how long a file of each is from its headers.

Each sizer reads the structure that starts at ``offset`` and returns its length in bytes, or
``None`` when the bytes there are not a well-formed file of that format (a false hit). Sizes
come from the format's own fields, never from "up to the next signature", so what is carved is
exactly the embedded file and trailing bytes stay with the host.
"""

from __future__ import annotations

import struct
from typing import Callable, Dict, Optional, Tuple

__all__ = ["HOSTS", "SIGNATURES", "Sizer", "size_at", "zip_extents"]

Sizer = Callable[[bytes, int], Optional[int]]


def _u16(data: bytes, at: int) -> int:
    return int(struct.unpack_from("<H", data, at)[0])


def _u32(data: bytes, at: int) -> int:
    return int(struct.unpack_from("<I", data, at)[0])


def zip_extents(data: bytes, limit: int) -> Dict[int, int]:
    """Start → length of each zip found from its end-of-central-directory record.

    A zip is sized from its end, not its start: the record gives the central directory's size
    and offset, which locate the first local header. Only zips whose offsets count from their
    own start (as ``zipfile`` writes them) are found; ``limit`` bounds the records examined.
    """
    extents: Dict[int, int] = {}
    at = data.find(b"PK\x05\x06")
    while at >= 0 and limit > 0:
        limit -= 1
        if at + 22 <= len(data):
            cd_size, cd_offset = struct.unpack_from("<II", data, at + 12)
            end = at + 22 + _u16(data, at + 20)
            start = at - cd_size - cd_offset
            directory = at - cd_size
            if (
                cd_size
                and start >= 0
                and end <= len(data)
                and data[start : start + 4] == b"PK\x03\x04"
                and data[directory : directory + 4] == b"PK\x01\x02"
            ):
                extents.setdefault(start, end - start)
        at = data.find(b"PK\x05\x06", at + 4)
    return extents


def _pe(data: bytes, offset: int) -> Optional[int]:
    """The end of the last section's raw data, or of the Authenticode blob if it is later."""
    if offset + 0x40 > len(data):
        return None
    header = offset + _u32(data, offset + 0x3C)
    if header + 24 > len(data) or data[header : header + 4] != b"PE\x00\x00":
        return None
    sections = _u16(data, header + 6)
    optional_size = _u16(data, header + 20)
    table = header + 24 + optional_size
    if sections == 0 or sections > 96 or table + 40 * sections > len(data):
        return None
    end = table + 40 * sections - offset
    for index in range(sections):
        raw_size = _u32(data, table + 40 * index + 16)
        raw_pointer = _u32(data, table + 40 * index + 20)
        if raw_size:
            end = max(end, raw_pointer + raw_size)
    magic = _u16(data, header + 24) if optional_size >= 2 else 0
    directories = {0x10B: header + 24 + 96, 0x20B: header + 24 + 112}.get(magic)
    if directories is not None and optional_size >= directories - header - 24 + 40:
        cert_offset, cert_size = struct.unpack_from("<II", data, directories + 4 * 8)
        if cert_size:
            end = max(end, cert_offset + cert_size)
    return end if offset + end <= len(data) else None


def _elf(data: bytes, offset: int) -> Optional[int]:
    """The furthest of the section header table and every segment's file bytes."""
    if offset + 64 > len(data) or data[offset + 4] not in (1, 2) or data[offset + 5] not in (1, 2):
        return None
    wide, order = data[offset + 4] == 2, "<" if data[offset + 5] == 1 else ">"
    if wide:
        phoff, shoff = struct.unpack_from(order + "QQ", data, offset + 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", data, offset + 54)
    else:
        phoff, shoff = struct.unpack_from(order + "II", data, offset + 28)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", data, offset + 42)
    end = max(64 if wide else 52, shoff + shentsize * shnum, phoff + phentsize * phnum)
    if offset + end > len(data) or phnum > 4096:
        return None
    for index in range(phnum):
        at = offset + phoff + index * phentsize
        if wide:
            p_offset, p_filesz = struct.unpack_from(order + "Q16xQ", data, at + 8)
        else:
            p_offset, p_filesz = struct.unpack_from(order + "I8xI", data, at + 4)
        end = max(end, p_offset + p_filesz)
    return end if offset + end <= len(data) else None


def _sevenzip(data: bytes, offset: int) -> Optional[int]:
    """32-byte signature header, then the packed streams and the next header it points to."""
    if offset + 32 > len(data) or data[offset + 6] != 0:
        return None
    next_offset, next_size = struct.unpack_from("<QQ", data, offset + 12)
    end = 32 + next_offset + next_size
    return end if next_size and offset + end <= len(data) else None


def _ole(data: bytes, offset: int) -> Optional[int]:
    """An OLE2 compound file ends after the last sector its allocation table uses.

    Only the header's own 109 table locations are read (files up to about 7 MiB with 512-byte
    sectors); a larger file is taken to run to the end of the data.
    """
    shift = _u16(data, offset + 0x1E)
    if shift not in (9, 12):
        return None
    sector = 1 << shift
    fat_sectors = _u32(data, offset + 0x2C)
    if fat_sectors > 109:
        return len(data) - offset
    last = -1
    for index in range(fat_sectors):
        location = _u32(data, offset + 0x4C + 4 * index)
        table = offset + sector * (location + 1)
        if table + sector > len(data):
            return None
        entries = struct.unpack_from(f"<{sector // 4}I", data, table)
        used = [n for n, entry in enumerate(entries) if entry != 0xFFFFFFFF]
        if used:
            last = index * (sector // 4) + used[-1]
    end = sector * (last + 2)
    return min(end, len(data) - offset) if last >= 0 else None


def _pdf(data: bytes, offset: int) -> Optional[int]:
    """Up to the last ``%%EOF`` marker (incremental updates append more) and its line end."""
    marker = data.rfind(b"%%EOF", offset)
    if marker < 0:
        return None
    end = marker + 5
    while end < len(data) and end < marker + 7 and data[end] in b"\r\n":
        end += 1
    return end - offset


#: Containers whose own plugins (ole, pdf) extract what they hold: sized as the host at
#: offset 0 only, so carve looks behind them but never inside them.
HOSTS: Dict[bytes, Tuple[str, Sizer]] = {
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": ("ole", _ole),
    b"%PDF-": ("pdf", _pdf),
}

#: Magic bytes → (format name, sizer). The magic is what is searched for; zips are found by
#: ``zip_extents`` instead (their size is known only from their end).
SIGNATURES: Dict[bytes, Tuple[str, Sizer]] = {
    b"MZ": ("pe", _pe),
    b"\x7fELF": ("elf", _elf),
    b"7z\xbc\xaf\x27\x1c": ("7z", _sevenzip),
}


def size_at(data: bytes, offset: int, sizer: Sizer) -> Optional[int]:
    """The sizer's answer, with any malformed field (short read) meaning "not a file here"."""
    try:
        return sizer(data, offset)
    except (struct.error, IndexError):
        return None
