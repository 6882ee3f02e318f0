"""7z members through py7zr, written into memory through the extraction's sinks."""

from __future__ import annotations

import io
import sys
from typing import Any, List, Optional, Union

import py7zr
import py7zr.py7zr
from packaging.version import Version
from py7zr.exceptions import Bad7zFile, PasswordRequired
from py7zr.io import Py7zIO, WriterFactory

from ..extraction import Extraction, MemberSink, describe
from ..limits import CHUNK_SIZE, StopExtraction
from .zip_reader import NO_PASSWORD

if sys.version_info >= (3, 10):
    from importlib import metadata
else:  # pragma: no cover - Python 3.9
    import importlib_metadata as metadata

__all__ = ["extract"]

# py7zr asks its decompressor for blocks of up to 128 MB at a time (get_memory_limit), so a
# 7z bomb would allocate that much before a sink could stop it. Smaller blocks only cost a
# little speed, for every py7zr user in the process, and keep memory within the limits.
py7zr.py7zr.get_memory_limit = lambda: CHUNK_SIZE  # type: ignore[attr-defined]


def _stop_stalls() -> None:
    """py7zr before 1.1 (the last release for Python 3.9) loops forever when a member's data
    stops giving output without consuming input, as a wrong password or corrupt data can make
    it; 1.1 raises Bad7zFile instead. Give the older versions the same check.
    """
    from py7zr.compressor import SevenZipDecompressor

    original = SevenZipDecompressor.decompress

    def decompress(self: Any, fp: Any, max_length: int = -1) -> bytes:
        consumed = self.consumed
        data = original(self, fp, max_length)
        if max_length > 0 and not data and self.consumed == consumed:
            raise Bad7zFile("decompression made no progress (corrupt data or a wrong password)")
        return data

    SevenZipDecompressor.decompress = decompress


if Version(metadata.version("py7zr")) < Version("1.1"):
    _stop_stalls()


class _MemberWriter(Py7zIO):
    """py7zr's output for one member: every write goes through the member's sink."""

    def __init__(self, sink: MemberSink) -> None:
        self.sink = sink

    def write(self, s: Union[bytes, bytearray]) -> int:
        self.sink.write(bytes(s))
        return len(s)

    def read(self, size: Optional[int] = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return self.sink.size


class _Factory(WriterFactory):
    def __init__(self, x: Extraction) -> None:
        self.x = x
        self.sinks: List[MemberSink] = []

    def create(self, filename: str) -> Py7zIO:
        self.x.admit()
        sink = self.x.sink(filename)
        self.sinks.append(sink)
        return _MemberWriter(sink)


def _attempt(data: bytes, password: Optional[str], x: Extraction) -> None:
    """Extract everything with one password; keep the members only if it worked."""
    factory = _Factory(x)
    try:
        with py7zr.SevenZipFile(io.BytesIO(data), password=password) as archive:
            archive.extractall(factory=factory)
    except StopExtraction:
        for sink in factory.sinks[:-1]:  # the last one was cut short by the limit
            x.keep(sink)
        raise
    for sink in factory.sinks:
        x.keep(sink)


def _names(data: bytes) -> List[str]:
    """Member names when the header is readable without a password."""
    try:
        with py7zr.SevenZipFile(io.BytesIO(data)) as archive:
            return [f.filename for f in archive.list() if not f.is_directory]
    except Exception:  # noqa: BLE001 - an encrypted header: the names are unknown
        return []


def _wrong_password(data: bytes, x: Extraction, message: str) -> None:
    names = _names(data)
    for name in names:
        x.member_error(name, message, encrypted=True)
    if not names:
        x.fail(f"encrypted header: {message}", final=True)


def extract(data: bytes, x: Extraction) -> None:
    """Every file member; an encrypted archive is tried with each password in turn."""
    try:
        _attempt(data, None, x)
        return
    except StopExtraction:
        raise
    except PasswordRequired:
        pass
    except Exception as exc:  # noqa: BLE001 - py7zr raises many types on corrupt or truncated input
        x.fail(f"cannot be read: {describe(exc)}")
        return
    if not x.passwords:
        _wrong_password(data, x, NO_PASSWORD)
        return
    last: Optional[Exception] = None
    for password in x.passwords:
        x.restart()
        try:
            _attempt(data, password, x)
            return
        except StopExtraction:
            raise
        except Exception as exc:  # noqa: BLE001 - a wrong key shows up as an LZMA, CRC or format error
            last = exc
    x.restart()
    tried = len(x.passwords)
    _wrong_password(
        data,
        x,
        f"wrong password (tried {tried} password{'s' if tried > 1 else ''}): {describe(last)}",
    )
