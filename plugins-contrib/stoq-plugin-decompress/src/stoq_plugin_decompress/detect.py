"""Format detection by magic bytes; a file's name is never consulted.

Compressed streams are opened far enough to see whether they hold a tar archive, so a
``.tar.gz`` is read as one archive of members rather than as a gzip of a tar.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import zlib
from typing import Callable, Dict, Optional

__all__ = ["STREAM_OPENERS", "detect", "is_tar_header"]

TAR_BLOCK = 512

#: Opener of each single-stream compression format, reading from a file object (the
#: callers close what these open, hence the SIM115 exemptions).
STREAM_OPENERS: Dict[str, Callable[[io.BytesIO], io.BufferedIOBase]] = {
    "gzip": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    "bzip2": lambda f: bz2.BZ2File(f, mode="rb"),
    "xz": lambda f: lzma.LZMAFile(f, mode="rb", format=lzma.FORMAT_XZ),  # noqa: SIM115
    "lzma": lambda f: lzma.LZMAFile(f, mode="rb", format=lzma.FORMAT_ALONE),  # noqa: SIM115
}
_TAR_SUFFIX = {"gzip": "tar.gz", "bzip2": "tar.bz2", "xz": "tar.xz", "lzma": "tar.lzma"}

_PREFIXES = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08", "zip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"MSCF\x00\x00\x00\x00", "cab"),
    (b"\x1f\x8b\x08", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"!<arch>\n", "ar"),
    (b"070701", "cpio"),
    (b"070702", "cpio"),
    (b"070707", "cpio"),
    (b"\xc7\x71", "cpio"),
    (b"\x71\xc7", "cpio"),
)
_ISO_OFFSETS = (0x8001, 0x8801, 0x9001)


def is_tar_header(block: bytes) -> bool:
    """A ustar/GNU magic, or a v7 header whose checksum is right."""
    if len(block) < TAR_BLOCK:
        return False
    if block[257:262] == b"ustar":
        return True
    try:
        stored = int(block[148:156].split(b"\x00", 1)[0].strip() or b"-1", 8)
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 8 * 0x20 + sum(block[156:TAR_BLOCK])
    return stored == unsigned and block[0] != 0


def _bzip2(data: bytes) -> bool:
    return (
        len(data) >= 10
        and data[:3] == b"BZh"
        and data[3:4] in b"123456789"
        and data[4:10] in (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")
    )


def _encoder_dictionary(size: int) -> bool:
    """A dictionary size LZMA encoders write: 2^n, 3*2^(n-1) or a whole number of MiB."""
    third = size // 3
    return size >= 4096 and (
        size & (size - 1) == 0 or (size % 3 == 0 and third & (third - 1) == 0) or size % 2**20 == 0
    )


def _lzma_alone(data: bytes) -> bool:
    """The legacy .lzma header is weak magic: confirm by decoding the first bytes.

    Any properties byte (lc/lp/pb, below 225) is accepted, not only the usual 0x5D, and any
    dictionary an encoder writes (2^n or 3*2^(n-1), or a multiple of 1 MiB, from 4 KiB); the
    size is unknown (all ones) or below 2^38, and the range coder's first byte is always 0.
    These rule most other data out (zero-filled headers included) before the decode.
    """
    if len(data) < 14 or data[0] >= 225 or data[13] != 0:
        return False
    dictionary, size = struct.unpack_from("<IQ", data, 1)
    if not (size == 2**64 - 1 or 0 < size < 2**38) or not _encoder_dictionary(dictionary):
        return False
    try:
        lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(data[:4096], max_length=64)
    except lzma.LZMAError:
        return False
    return True


def _peek(fmt: str, data: bytes) -> bytes:
    """The first tar block of a compressed stream (fewer bytes if it is shorter or broken)."""
    try:
        with STREAM_OPENERS[fmt](io.BytesIO(data)) as stream:
            return stream.read(TAR_BLOCK)
    except (OSError, EOFError, lzma.LZMAError, zlib.error, ValueError):
        return b""


def _base_format(data: bytes) -> Optional[str]:
    for prefix, fmt in _PREFIXES:
        if data.startswith(prefix):
            return fmt
    if _bzip2(data):
        return "bzip2"
    if _lzma_alone(data):
        return "lzma"
    if is_tar_header(data[:TAR_BLOCK]):
        return "tar"
    if any(data[offset : offset + 5] == b"CD001" for offset in _ISO_OFFSETS):
        return "iso9660"
    return None


def _gzip_not_tar(data: bytes) -> bool:
    """True when zlib alone shows a gzip does not start with a tar block (most gzips).

    zlib parses the same header and inflates the same first bytes as ``GzipFile``, which
    either returns these 512 bytes or fails (``_peek`` gives ``b""``): not a tar either way.
    Anything else (a tar header, a shorter or odd stream, a header past the first 8 KiB read
    here) is left to ``_peek``.
    """
    try:
        block = zlib.decompressobj(31).decompress(data[:8192], TAR_BLOCK)
    except zlib.error:
        return False
    return len(block) == TAR_BLOCK and not is_tar_header(block)


def detect(data: bytes) -> Optional[str]:
    """The archive format of ``data`` (``tar.gz`` etc. for compressed tars), or None."""
    fmt = _base_format(data)
    if fmt == "gzip" and _gzip_not_tar(data):
        return fmt
    if fmt in STREAM_OPENERS and is_tar_header(_peek(fmt, data)):
        return _TAR_SUFFIX[fmt]
    return fmt
