"""One payload's extraction: the members found, their bytes, the limits hit, the errors.

Format modules only walk their archive and hand each member's chunks to ``Extraction``;
accounting, limits, duplicates and the shape of the results live here, once.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Set

from stoq.data_classes import ExtractedPayload, PayloadMeta

from .limits import Limits, StopExtraction

__all__ = ["Extraction", "MemberSink", "describe", "display_name"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def display_name(name: Any) -> Optional[str]:
    """A member name as JSON-safe text: undecodable bytes escaped, never used as a path."""
    if name is None:
        return None
    if type(name) is str and name.isascii():
        return name  # nothing to escape (most names): the round trip below would copy it
    if isinstance(name, bytes):
        return name.decode("utf-8", "backslashreplace")
    return str(name).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def decoded_name(name: Any) -> Optional[str]:
    """A member name as a person would read it: UTF-8, else Latin-1 (never fails, never
    escaped), for deriving ``filename``; ``display_name`` keeps the exact bytes, escaped."""
    if name is None:
        return None
    if type(name) is str and name.isascii():
        return name
    raw = name if isinstance(name, bytes) else str(name).encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def describe(exc: BaseException) -> str:
    """``Type: message`` on one line, for error fields."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _unsafe(name: str) -> bool:
    """Whether a name would escape an extraction folder (absolute, drive, or ``..``)."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return True
    return ".." in name and ".." in name.replace("\\", "/").split("/")


class MemberSink:
    """Collects one member's bytes within the limits; ``write`` says whether to go on."""

    def __init__(self, extraction: Extraction, name: Any) -> None:
        self.extraction = extraction
        self.name = display_name(name)
        self.decoded = decoded_name(name)
        #: The member's bytes so far, as read (kept, not copied: most members are one chunk).
        self.chunks: List[bytes] = []
        self.size = 0
        self.oversize = False

    def write(self, chunk: bytes) -> bool:
        """Add a chunk; False once the member is too large (its bytes are dropped)."""
        if type(chunk) is not bytes:  # a reader's reused buffer: keep a copy of its bytes
            chunk = bytes(chunk)
        x = self.extraction
        x.expanded += len(chunk)
        if x.expanded > x.expansion_cap:
            x.stop(
                f"max_ratio {x.limits.max_ratio:g}: {x.expanded} bytes decompressed from"
                f" {x.input_size} at member {self.name!r}; extraction stopped"
            )
        if self.oversize:
            return False
        size = self.size + len(chunk)
        if size > x.limits.max_member_size:
            self.oversize = True
            self.chunks, self.size = [], 0
            return False
        if x.total_bytes + size > x.limits.max_total_bytes:
            x.stop(
                f"max_total_bytes {x.limits.max_total_bytes} reached at member {self.name!r};"
                " extraction stopped"
            )
        self.chunks.append(chunk)
        self.size = size
        return True

    def take_content(self) -> bytes:
        """The member's bytes, joined once (one chunk: that very object); the sink is emptied."""
        chunks, self.chunks, self.size = self.chunks, [], 0
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class Extraction:
    """Accumulates results for one payload; ``response_parts`` gives results and payloads."""

    def __init__(
        self, fmt: Optional[str], input_size: int, limits: Limits, passwords: List[str]
    ) -> None:
        self.format = fmt
        self.input_size = input_size
        self.limits = limits
        self.passwords = passwords
        self.expansion_cap = limits.expansion_cap(input_size)
        self.expanded = 0
        self.total_bytes = 0
        self.members: List[Dict[str, Any]] = []
        self.extracted: List[ExtractedPayload] = []
        self.errors: List[str] = []
        self.limits_hit: List[str] = []
        self.error: Optional[str] = None
        #: The library that read the archive, and the readers tried before it ("name: error").
        self.reader: Optional[str] = None
        self.fallback_from: List[str] = []
        self.final = False
        self._files_seen = 0
        self._by_hash: Dict[str, str] = {}
        self._names: Set[Optional[str]] = set()

    # -- limits ------------------------------------------------------------------------

    def stop(self, reason: str) -> None:
        """Record a payload-wide limit and end the extraction."""
        self.limits_hit.append(reason)
        raise StopExtraction(reason)

    def admit(self) -> None:
        """Count one more file member; past ``max_members`` the extraction ends."""
        if self._files_seen >= self.limits.max_members:
            self.stop(f"max_members {self.limits.max_members} reached; later members not extracted")
        self._files_seen += 1

    def too_large(self, name: Any, declared: Optional[int], **info: Any) -> bool:
        """Skip (and report) a member whose declared size is over ``max_member_size``."""
        if declared is None or declared <= self.limits.max_member_size:
            return False
        self._oversize(display_name(name), declared, **info)
        return True

    def _oversize(self, name: Optional[str], size: Optional[int], **info: Any) -> None:
        what = f"{size} bytes" if size is not None else "more bytes"
        self.limits_hit.append(
            f"max_member_size {self.limits.max_member_size}: member {name!r} has {what}; skipped"
        )
        self.members.append({"archive_path": name, **info, "skipped": "max_member_size"})

    # -- members -----------------------------------------------------------------------

    def sink(self, name: Any) -> MemberSink:
        return MemberSink(self, name)

    def take(self, name: Any, chunks: Iterable[bytes], **info: Any) -> bool:
        """Read a member's chunks through a sink and keep it; False if it was too large."""
        sink = self.sink(name)
        for chunk in chunks:
            if not sink.write(chunk):
                break
        return self.keep(sink, **info)

    def keep(self, sink: MemberSink, **info: Any) -> bool:
        """Turn a filled sink into a member (and a child payload unless a duplicate)."""
        if sink.oversize:
            self._oversize(sink.name, None, **info)
            return False
        content = sink.take_content()
        entry: Dict[str, Any] = {"archive_path": sink.name, **info, "size": len(content)}
        if sink.decoded != sink.name:
            entry["name_decoded"] = sink.decoded  # the name is not UTF-8: a best-effort reading
        if sink.decoded is not None and _unsafe(sink.decoded):
            entry["unsafe_path"] = True
        if sink.name in self._names:
            entry["same_name_as_earlier"] = True  # unpacked to disk, the later one would win
        self._names.add(sink.name)
        child = ExtractedPayload(content, PayloadMeta(extra_data=self._meta(sink)))
        # The core computes the digest once; the child Payload reuses it (no second SHA-256).
        first = self._by_hash.get(child.sha256)
        if first is not None:
            entry["duplicate_of"] = first
        else:
            self._by_hash[child.sha256] = sink.name or ""
            self.total_bytes += len(content)
            self.extracted.append(child)
        self.members.append(entry)
        return True

    def _meta(self, sink: MemberSink) -> Dict[str, Any]:
        """``filename`` from the readable name, ``archive_path`` the exact one (escaped)."""
        name = sink.decoded
        filename = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] if name else None
        meta = {"filename": filename or None, "archive_path": sink.name, "format": self.format}
        if name != sink.name:
            meta["name_decoded"] = name
        return meta

    def listed(self, name: Any, **info: Any) -> None:
        """A member with no content to extract (directory, link, device), listed only."""
        self.members.append({"archive_path": display_name(name), **info})

    def member_error(self, name: Any, message: str, **info: Any) -> None:
        """A member that could not be read: an error naming it, in results and errors."""
        shown = display_name(name)
        self.members.append({"archive_path": shown, **info, "error": message})
        self.errors.append(f"{self.format} member {shown!r}: {message}")

    def fail(self, message: str, final: bool = False) -> None:
        """The archive as a whole could not be read (further).

        ``final`` says another reader would fare no better (a wrong password, not a parser
        limitation), so no fallback is tried.
        """
        self.error = message
        self.final = final
        self.errors.append(f"{self.format or 'decompress'}: {message}")

    def restart(self) -> None:
        """Forget the members of a failed attempt (another reader or password tries again).

        Decompressed bytes stay counted: every attempt spends the same expansion budget.
        """
        self.members, self.extracted, self.errors, self.limits_hit = [], [], [], []
        self.error = None
        self.final = False
        self.total_bytes = 0
        self._files_seen = 0
        self._by_hash = {}
        self._names = set()

    # -- output ------------------------------------------------------------------------

    def results(self) -> Dict[str, Any]:
        results: Dict[str, Any] = {
            "format": self.format,
            "reader": self.reader,
            "members": self.members,
            "extracted": len(self.extracted),
            "total_bytes": self.total_bytes,
            "limits_hit": self.limits_hit,
        }
        if self.fallback_from:
            results["fallback_from"] = self.fallback_from
        if self.error is not None:
            results["error"] = self.error
        return results
