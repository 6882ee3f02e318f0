"""The readers of each format, in the order they are tried.

A later reader runs only when an earlier one could not open the archive at all (for example
libarchive reads the local headers of a zip whose central directory is cut off).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Tuple

from ..extraction import Extraction
from . import libarchive_reader, sevenzip_reader, stream_reader, tar_reader, zip_reader

__all__ = ["READERS", "Reader"]

Reader = Tuple[str, Callable[[bytes, Extraction], None]]

_LIBARCHIVE: Reader = ("libarchive", libarchive_reader.extract)
_TAR: Reader = ("tarfile", tar_reader.extract)

READERS: Dict[str, List[Reader]] = {
    "zip": [("pyzipper", zip_reader.extract), _LIBARCHIVE],
    "7z": [("py7zr", sevenzip_reader.extract), _LIBARCHIVE],
    "tar": [_TAR],
    "tar.gz": [_TAR],
    "tar.bz2": [_TAR],
    "tar.xz": [_TAR],
    "tar.lzma": [_TAR],
    "gzip": [("gzip", stream_reader.extract)],
    "bzip2": [("bz2", stream_reader.extract)],
    "xz": [("lzma", stream_reader.extract)],
    "lzma": [("lzma", stream_reader.extract)],
    "rar": [_LIBARCHIVE],
    "cab": [_LIBARCHIVE],
    "iso9660": [_LIBARCHIVE],
    "cpio": [_LIBARCHIVE],
    "ar": [_LIBARCHIVE],
}
