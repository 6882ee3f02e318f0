"""The readers of each format, in the order they are tried.

A later reader runs only when an earlier one could not open the archive at all (for example
libarchive reads the local headers of a zip whose central directory is cut off). Each reader's
module is imported when it first reads something: py7zr alone took ~85 ms of CPU to import,
and a scan that meets no 7z should not pay for it (zip_reader likewise imports pyzipper only
for an encrypted zip).
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable, Dict, List, Tuple

from ..extraction import Extraction

__all__ = ["READERS", "Reader", "libarchive_available"]

Reader = Tuple[str, Callable[[bytes, Extraction], None]]


def _reader(module: str) -> Callable[[bytes, Extraction], None]:
    """``formats.<module>.extract``, its module imported on the first call."""

    def extract(data: bytes, x: Extraction) -> None:
        import_module(f"{__name__}.{module}").extract(data, x)

    return extract


_LIBARCHIVE: Reader = ("libarchive", _reader("libarchive_reader"))
_TAR: Reader = ("tarfile", _reader("tar_reader"))
_STREAM = _reader("stream_reader")

READERS: Dict[str, List[Reader]] = {
    "zip": [("zipfile", _reader("zip_reader")), _LIBARCHIVE],  # pyzipper when encrypted
    "7z": [("py7zr", _reader("sevenzip_reader")), _LIBARCHIVE],
    "tar": [_TAR],
    "tar.gz": [_TAR],
    "tar.bz2": [_TAR],
    "tar.xz": [_TAR],
    "tar.lzma": [_TAR],
    "gzip": [("gzip", _STREAM)],
    "bzip2": [("bz2", _STREAM)],
    "xz": [("lzma", _STREAM)],
    "lzma": [("lzma", _STREAM)],
    "rar": [_LIBARCHIVE],
    "cab": [_LIBARCHIVE],
    "iso9660": [_LIBARCHIVE],
    "cpio": [_LIBARCHIVE],
    "ar": [_LIBARCHIVE],
}


def libarchive_available() -> bool:
    """Whether libarchive-c and its C library load (imported on the first question)."""
    return bool(import_module(f"{__name__}.libarchive_reader").available())
