"""The ``carve`` stoQ plugin: files embedded at offsets other than zero, carved out.

A zip appended to an executable, a PE behind a script stub, an ELF inside a firmware blob: the
host's own parser never sees them. carve finds each format's signature, sizes the file from
its own headers (``formats``), and extracts it with its offset. Whatever starts at offset 0 is
the host itself (OLE and PDF files are sized as hosts only: their own plugins extract what
they hold), and a hit inside the host's extent or inside a file already carved belongs to
that file (it is carved when that file is scanned), so overlapping hits never duplicate bytes.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Optional, Tuple

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .formats import HOSTS, SIGNATURES, size_at, zip_extents

__all__ = ["CarvePlugin"]

#: At most this many skipped carves are listed one by one; the rest are counted.
_LISTED_SKIPS = 20


def _hits(data: bytes, formats: List[str], limit: int) -> Tuple[List[Tuple[int, str, int]], int]:
    """``(offset, format, size)`` candidates in offset order (size 0: still to be read), and
    how many signature hits were left unexamined past ``limit``."""
    hits: List[Tuple[int, str, int]] = []
    total = 0
    if "zip" in formats and b"PK\x05\x06" in data:  # most payloads: one pass, no count
        hits += [(start, "zip", size) for start, size in zip_extents(data, limit).items()]
        total += data.count(b"PK\x05\x06")
    for magic, (name, _) in SIGNATURES.items():
        at = data.find(magic) if name in formats else -1
        while at >= 0 and len(hits) < limit:
            hits.append((at, name, 0))
            total += 1
            at = data.find(magic, at + 1)
        if at >= 0:  # the limit stopped the search: the rest is counted, in one more pass
            total += data.count(magic, at)  # no signature overlaps itself: count is exact
    hits.sort()
    return hits, max(0, total - limit)


class CarvePlugin(WorkerPlugin):
    """Carves embedded files (zip, pe, elf, 7z) and extracts each with its offset."""

    #: Typed defaults; a config file's [plugins.carve] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "formats": ["zip", "pe", "elf", "7z"],
        "min_size": 64,
        "max_carves": 32,
        "max_size": 64 * 1024 * 1024,
        "max_hits": 10000,
        "max_input": 256 * 1024 * 1024,
    }

    def _size(self, data: bytes, offset: int, name: str, known: int) -> Optional[int]:
        if known:
            return known
        sizer = next(s for n, s in SIGNATURES.values() if n == name)
        return size_at(data, offset, sizer)

    def _refusal(self, size: int, carved: int) -> Optional[str]:
        """Why a well-formed embedded file is not extracted (it is then reported), or None."""
        if size < self.plugin_opts["min_size"]:
            return "smaller than min_size"
        if size > self.plugin_opts["max_size"]:
            return "larger than max_size"
        if carved >= self.plugin_opts["max_carves"]:
            return "max_carves reached"
        return None

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Carve every well-formed embedded file outside the host and earlier carves."""
        data, opts = payload.content, self.plugin_opts
        if len(data) > opts["max_input"]:
            return WorkerResponse(
                {
                    "host": None,
                    "carved": [],
                    "skipped": "payload larger than max_input: not searched",
                }
            )
        formats = list(opts["formats"])
        hits, unexamined = _hits(data, formats, opts["max_hits"])
        covered_end, host = 1, None
        for magic, (name, sizer) in HOSTS.items():
            size = size_at(data, 0, sizer) if data.startswith(magic) else None
            if size is not None:
                hits = [hit for hit in hits if hit[0] != 0]
                host, covered_end = {"type": name, "size": size}, size
        carved: List[Dict[str, Any]] = []
        skipped: List[Dict[str, Any]] = []
        extracted: List[ExtractedPayload] = []
        counts = {"inside": 0, "not_valid": 0, "skipped": 0}
        for offset, name, known in hits:
            if offset < covered_end and not (offset == 0 and host is None):
                counts["inside"] += 1
                continue
            size = self._size(data, offset, name, known)
            if size is None:
                counts["not_valid"] += offset > 0
                continue
            if offset == 0:
                host = {"type": name, "size": size}
                covered_end = max(covered_end, size)
                continue
            reason = self._refusal(size, len(carved))
            if reason is not None:
                counts["skipped"] += 1
                if len(skipped) < _LISTED_SKIPS:
                    skipped.append({"offset": offset, "type": name, "size": size, "reason": reason})
                continue
            carved.append({"offset": offset, "type": name, "size": size})
            meta = PayloadMeta(extra_data={"carved_offset": offset, "carved_type": name})
            extracted.append(ExtractedPayload(data[offset : offset + size], meta))
            covered_end = offset + size
        results = {
            "host": host,
            "carved": carved,
            "skipped": skipped,
            "hits": {**counts, "unexamined": unexamined},
        }
        return WorkerResponse(results, extracted=extracted)
