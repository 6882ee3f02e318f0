"""Tar members, plain or inside gzip, bzip2, xz or lzma, read as one stream."""

from __future__ import annotations

import io
import tarfile
from functools import partial
from typing import Any

from ..detect import STREAM_OPENERS
from ..extraction import Extraction, describe, display_name
from ..limits import CHUNK_SIZE, StopExtraction

__all__ = ["extract"]

_COMPRESSION = {"tar.gz": "gzip", "tar.bz2": "bzip2", "tar.xz": "xz", "tar.lzma": "lzma"}


class _CountingReader(io.RawIOBase):
    """Counts the decompressed stream itself: skipped members cost expansion too."""

    def __init__(self, stream: Any, x: Extraction) -> None:
        self.stream = stream
        self.x = x
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size if size is not None and size >= 0 else CHUNK_SIZE)
        self.count += len(chunk)
        if self.count > self.x.expansion_cap:
            self.x.stop(
                f"max_ratio {self.x.limits.max_ratio:g}: more than {self.x.expansion_cap} bytes"
                f" decompressed from {self.x.input_size}; extraction stopped"
            )
        return chunk


def _kind(member: tarfile.TarInfo) -> str:
    if member.isdir():
        return "directory"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    return "special"


def _walk(archive: tarfile.TarFile, x: Extraction) -> None:
    for member in archive:
        if not member.isreg():
            link = (
                {"link": display_name(member.linkname)} if member.issym() or member.islnk() else {}
            )
            x.listed(member.name, type=_kind(member), **link)
            continue
        x.admit()
        if x.too_large(member.name, member.size):
            continue
        handle = archive.extractfile(member)
        if handle is not None:
            x.take(member.name, iter(partial(handle.read, CHUNK_SIZE), b""))


def extract(data: bytes, x: Extraction) -> None:
    """Every member in stream order; links and special files are listed, not followed."""
    compression = _COMPRESSION.get(x.format)
    source: Any = io.BytesIO(data)
    if compression is not None:
        source = _CountingReader(STREAM_OPENERS[compression](source), x)
    try:
        with tarfile.open(fileobj=source, mode="r|") as archive:
            _walk(archive, x)
        if compression is not None:
            # tarfile stops at the end-of-archive blocks; the compressed stream's own end (and
            # its checksum) comes after them, so a cut-off file only shows when it is read.
            while source.read(CHUNK_SIZE):
                pass
    except StopExtraction:
        raise
    except Exception as exc:  # noqa: BLE001 - tarfile, zlib, bz2 and lzma errors on truncated or bad data
        x.fail(f"truncated or corrupt after {len(x.members)} members: {describe(exc)}")
