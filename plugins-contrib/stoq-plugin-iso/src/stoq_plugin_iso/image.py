"""A small ISO 9660 reader (with Joliet and Rock Ridge names) that trusts nothing it reads.

Every extent is checked against the image's size, every directory is read once (a directory
that points back at an ancestor cannot loop), and the walk stops at the caller's bounds.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Set, Tuple

__all__ = ["Entry", "Volume", "read_volume", "walk"]

SECTOR = 2048
_JOLIET_ESCAPES = (b"%/@", b"%/C", b"%/E")
#: Volume descriptors read before giving up on finding the terminator.
_MAX_DESCRIPTORS = 64


@dataclass
class Volume:
    """What the volume descriptors say, and where the directory tree to read starts."""

    volume_id: str
    system_id: str
    joliet: bool
    root: Tuple[int, int]  # (extent, length) of the root directory


@dataclass
class Entry:
    """A file or directory found in the tree, with its path from the root."""

    path: str
    extent: int
    size: int
    is_dir: bool
    problems: List[str] = field(default_factory=list)


def _text(raw: bytes, joliet: bool) -> str:
    value = raw.decode("utf-16-be", "replace") if joliet else raw.decode("ascii", "replace")
    return value.strip(" \x00")


def read_volume(image: bytes) -> Volume:
    """The primary volume, or the Joliet one when present; ValueError when there is none."""
    primary: Optional[Volume] = None
    for index in range(16, 16 + _MAX_DESCRIPTORS):
        descriptor = image[index * SECTOR : (index + 1) * SECTOR]
        if len(descriptor) < SECTOR or descriptor[1:6] != b"CD001":
            break
        kind = descriptor[0]
        if kind == 255:
            break
        joliet = kind == 2 and descriptor[88:91] in _JOLIET_ESCAPES
        if kind == 1 or joliet:
            extent, length = struct.unpack_from("<I4xI", descriptor, 156 + 2)
            volume = Volume(
                volume_id=_text(descriptor[40:72], joliet),
                system_id=_text(descriptor[8:40], joliet),
                joliet=joliet,
                root=(extent, length),
            )
            if joliet:
                return volume
            primary = primary or volume
    if primary is None:
        raise ValueError(
            "no ISO 9660 primary volume descriptor at sector 16 (UDF-only images are not read)"
        )
    return primary


def _rock_ridge_name(system_use: bytes) -> Optional[str]:
    """The name from Rock Ridge ``NM`` entries in a record's system use area, if any."""
    parts: List[bytes] = []
    at = 0
    while at + 4 <= len(system_use):
        signature, length = system_use[at : at + 2], system_use[at + 2]
        if length < 4:
            break
        if signature == b"NM" and length >= 5:
            parts.append(system_use[at + 5 : at + length])
        at += length
    return b"".join(parts).decode("utf-8", "replace") if parts else None


def _records(image: bytes, extent: int, length: int) -> Iterator[Tuple[bytes, str]]:
    """Each directory record (raw) in a directory's extent, with a problem found, if any."""
    start, end = extent * SECTOR, extent * SECTOR + length
    if end > len(image):
        yield b"", f"directory extent {extent} runs past the end of the image"
        end = len(image)
    at = start
    while at < end:
        size = image[at]
        if size == 0:  # records never cross sectors: the rest of this one is padding
            at = (at // SECTOR + 1) * SECTOR
            continue
        if size < 34 or at + size > end:
            yield b"", f"bad directory record at byte {at}"
            return
        yield image[at : at + size], ""
        at += size


def walk(image: bytes, volume: Volume, max_entries: int, max_depth: int) -> Iterator[Entry]:
    """Every entry under the root, breadth first, at most ``max_entries`` and ``max_depth``."""
    seen: Set[int] = {volume.root[0]}
    pending: List[Tuple[str, int, int, int]] = [("", volume.root[0], volume.root[1], 0)]
    count = 0
    while pending:
        parent, extent, length, depth = pending.pop(0)
        for record, problem in _records(image, extent, length):
            if problem:
                yield Entry(parent or "/", extent, 0, True, [problem])
                continue
            child_extent, size = struct.unpack_from("<I4xI", record, 2)
            flags, name_length = record[25], record[32]
            raw_name = record[33 : 33 + name_length]
            if raw_name in (b"\x00", b"\x01"):
                continue
            name = _text(raw_name, volume.joliet).split(";", 1)[0]
            if not volume.joliet:
                system_use = record[33 + name_length + (1 - name_length % 2) :]
                name = _rock_ridge_name(system_use) or name.rstrip(".")
            entry = Entry(f"{parent}/{name}", child_extent, size, bool(flags & 2))
            count += 1
            if count > max_entries:
                yield Entry(
                    parent or "/",
                    extent,
                    0,
                    True,
                    [f"more than {max_entries} entries; the rest not read"],
                )
                return
            if entry.is_dir:
                if child_extent in seen:
                    entry.problems.append("directory seen before (a loop); not read again")
                elif depth + 1 >= max_depth:
                    entry.problems.append("deeper than max_depth; not read")
                else:
                    seen.add(child_extent)
                    pending.append((entry.path, child_extent, size, depth + 1))
            yield entry
