"""Members of archives and compressed files as child payloads, in memory, within limits."""

from __future__ import annotations

import contextlib
from configparser import ConfigParser
from typing import Any, ClassVar, Dict, List, Optional, Union

from stoq.data_classes import Error, Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .detect import detect
from .extraction import Extraction
from .formats import READERS, libarchive_available
from .limits import Limits, StopExtraction
from .passwords import passwords_for

__all__ = ["DecompressPlugin"]

MIB = 1024 * 1024
UNKNOWN_FORMAT = "no supported archive or compression format recognised by its magic bytes"


class DecompressPlugin(WorkerPlugin):
    """Extracts the members of zip, 7z, tar (any compression), gzip, bzip2, xz and lzma, and,
    with libarchive installed, rar, cab, ISO 9660, cpio and ar.

    Every member becomes an ``ExtractedPayload`` whose ``extra_data`` holds ``filename``,
    ``archive_path`` and ``format``; names are metadata only and never touch the file system.
    Limits on member count, member size, total bytes and expansion ratio are enforced while
    decompressing; each one reached is listed in the results' ``limits_hit`` and reported as an
    ``Error`` with stage ``limit`` (not everything was scanned), as the engine's own limits are.
    """

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "passwords": ["infected", "malware", "virus"],
        "max_members": 10000,
        "max_member_size": 256 * MIB,
        "max_total_bytes": 1024 * MIB,
        "max_ratio": 100.0,
    }

    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(config, plugin_opts)
        # The core merged the defaults in and typed every option after them.
        self.limits = Limits.from_options(self.plugin_opts)
        self.passwords = list(self.plugin_opts["passwords"] or [])

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        content = payload.content
        passwords = passwords_for(payload, request_meta, self.passwords)
        extraction = Extraction(detect(content), len(content), self.limits, passwords)
        if extraction.format is None:
            extraction.fail(UNKNOWN_FORMAT)
        else:
            _read(content, extraction)
        limits = [
            Error(f"not everything was extracted: {hit}", stage="limit")
            for hit in extraction.limits_hit
        ]
        errors: List[Union[str, Error]] = [*extraction.errors, *limits]
        return WorkerResponse(extraction.results(), extraction.extracted, errors)


def _read(content: bytes, x: Extraction) -> None:
    """Run the format's readers until one opens the archive; earlier failures are noted."""
    failed: List[str] = []
    for index, (name, reader) in enumerate(READERS[x.format or ""]):
        if index > 0:
            if name == "libarchive" and not libarchive_available():
                break
            failed.append(f"{x.reader}: {x.error}")
            x.restart()
        x.reader = name
        # A limit ends the reading; it is already in limits_hit and the members so far stay.
        with contextlib.suppress(StopExtraction):
            reader(content, x)
        if x.error is None or x.members or x.final:
            break
    x.fallback_from = failed
