"""The file inside an OLE Package object, read from its native data.

The Packager keeps the file it embeds in an "OLE native" record (``\\x01Ole10Native`` stream
of an OLE2 object; the native data of an OLE 1.0 object in RTF): a type word, the label
(usually the file name), the source path, a reserved word and the package kind, the temporary
path with its length, then the file's size and bytes. Every length is checked against what
remains, so a truncated or forged record ends in ``ValueError`` naming the field, never in
reading past the end or trusting a size the data cannot hold.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NativePackage", "parse_native"]

#: Longest name or path read: Windows paths are far shorter; a longer run is not a package.
MAX_STRING = 32 * 1024


@dataclass(frozen=True)
class NativePackage:
    """The names the Packager recorded and the file's bytes (empty for a link)."""

    filename: str
    src_path: str
    temp_path: str
    data: bytes
    #: The record holds no file, only where it was (nothing follows the temporary path).
    is_link: bool


class _Reader:
    """Reads fields from ``data`` in order; any shortfall is a ``ValueError`` naming the field."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, size: int, field: str) -> bytes:
        if size > self.remaining:
            raise ValueError(f"{field}: {size} bytes needed, {self.remaining} remain")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def uint(self, size: int, field: str) -> int:
        return int.from_bytes(self.take(size, field), "little")

    def zstring(self, field: str) -> str:
        end = self.data.find(b"\x00", self.pos, self.pos + MAX_STRING)
        if end < 0:
            raise ValueError(
                f"{field}: no terminating NUL within {min(self.remaining, MAX_STRING)} bytes"
            )
        text = self.data[self.pos : end]
        self.pos = end + 1
        return _decode(text)


def _decode(text: bytes) -> str:
    """Names are in the system's ANSI codepage, unknown here; latin-1 keeps every byte."""
    return text.decode("latin-1")


def _temp_path(reader: _Reader) -> str:
    """The temporary path: a length, then a NUL-terminated string of that many bytes."""
    size = reader.uint(4, "temp_path length")
    raw = reader.take(size, "temp_path")
    return _decode(raw.split(b"\x00", 1)[0])


def parse_native(data: bytes, sized: bool = True) -> NativePackage:
    """Parse a package's native record.

    ``sized``: the record starts with its own 4-byte size, as the ``\\x01Ole10Native`` stream
    does; an OLE 1.0 object's native data (in RTF) does not. The size bounds the record.
    """
    reader = _Reader(bytes(data))
    if sized:
        size = reader.uint(4, "native size")
        reader = _Reader(reader.take(size, "native record"))
    reader.take(2, "type")
    filename = reader.zstring("filename")
    src_path = reader.zstring("src_path")
    reader.take(4, "reserved and kind")
    if reader.remaining == 0:  # a link records only its paths
        return NativePackage(filename, src_path, "", b"", is_link=True)
    temp_path = _temp_path(reader)
    if reader.remaining == 0:
        return NativePackage(filename, src_path, temp_path, b"", is_link=True)
    content = reader.take(reader.uint(4, "data size"), "data")
    return NativePackage(filename, src_path, temp_path, content, is_link=False)
