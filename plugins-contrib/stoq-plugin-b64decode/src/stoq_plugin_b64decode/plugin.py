"""The ``b64decode`` stoQ plugin: base64 runs in a payload decoded and extracted.

Droppers and phishing pages carry executables as base64 text (inside scripts, HTML, mail
bodies without a MIME header). A run is a line of at least 16 base64 characters, continued by
further lines (wrapped base64 as MIME and PEM write it); runs shorter than ``min_length``, pure
hexadecimal runs (hashes) and runs without both upper and lower case letters are ignored. Each
decoded run becomes a child payload, so base64 inside base64 is decoded one level at a time
and the engine's recursion limit bounds the depth; a child is always shorter than its parent.
"""

from __future__ import annotations

import base64
import binascii
import re

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Dict, Iterator, List, Optional, Tuple

__all__ = ["B64decodePlugin"]

_RUN = re.compile(rb"[A-Za-z0-9+/]{16,}={0,2}(?:[ \t]*\r?\n[ \t]*[A-Za-z0-9+/]{4,}={0,2})*")
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_PEM_HEADER = re.compile(rb"-----BEGIN [A-Z0-9 ]{1,64}-----[ \t]*\r?\n[ \t]*\Z")
_UPPER = re.compile(rb"[A-Z]")
_LOWER = re.compile(rb"[a-z]")
#: At most this many skipped runs are listed one by one; the rest are counted.
_LISTED_SKIPS = 20
#: Each base64 character as ``A``, every other byte as a space: a run shows as 16 ``A``.
_MARKS = bytes(
    65 if byte in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" else 32
    for byte in range(256)
)


def _ignored(run: bytes, min_length: int) -> bool:
    """Runs that are too short or look like identifiers and hashes rather than base64."""
    return (
        len(run) < min_length
        or _HEX.fullmatch(run) is not None
        or _UPPER.search(run) is None
        or _LOWER.search(run) is None
    )


def _matches(content: bytes) -> Iterator[re.Match[bytes]]:
    """``_RUN``'s matches, searched from the first 16 base64 characters in a row.

    A match starts where 16 such characters do, so none starts before the first; finding
    that in the translated copy costs ~1 ns a byte, where the pattern tried at every offset
    of every shorter word (most payloads have no run at all: text, JSON, random bytes).
    """
    start = content.translate(_MARKS).find(b"A" * 16)
    return iter(()) if start < 0 else _RUN.finditer(content, start)


def _runs(content: bytes) -> Iterator[Tuple[int, bytes]]:
    """``(offset, run)`` for each candidate, whitespace removed.

    Lines join into one run only when they are wrapped base64: every line but the last has
    the same length, and the last is no longer. Otherwise (a hash above a word above a token)
    each line is a run of its own.
    """
    for match in _matches(content):
        lines = match.group().split(b"\n")
        stripped = [line.strip() for line in lines]
        width = len(stripped[0])
        if all(len(line) == width for line in stripped[:-1]) and len(stripped[-1]) <= width:
            yield match.start(), b"".join(stripped)
            continue
        offset = match.start()
        for line, clean in zip(lines, stripped):
            yield offset + len(line) - len(line.lstrip()), clean
            offset += len(line) + 1


class B64decodePlugin(WorkerPlugin):
    """Decodes base64 runs above ``min_length`` and extracts each (bounded count and size)."""

    #: Typed defaults; a config file's [plugins.b64decode] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "min_length": 64,
        "max_decodes": 100,
        "max_size": 64 * 1024 * 1024,
        "skip_pem": True,
        "max_input": 32 * 1024 * 1024,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Find, decode and extract each base64 run; report what was skipped and why."""
        opts = self.plugin_opts
        if len(payload.content) > opts["max_input"]:
            return WorkerResponse(
                {"decoded": [], "skipped": "payload larger than max_input: not searched"}
            )
        decoded: List[Dict[str, Any]] = []
        skipped: List[Dict[str, Any]] = []
        extracted: List[ExtractedPayload] = []
        counts = {"invalid": 0, "skipped": 0, "pem": 0}
        for offset, run in _runs(payload.content):
            if _ignored(run, opts["min_length"]):
                continue
            if opts["skip_pem"] and _PEM_HEADER.search(
                payload.content[max(0, offset - 96) : offset]
            ):
                counts["pem"] += 1  # certificates and keys: x509 reads them
                continue
            reason = None
            if len(run) // 4 * 3 > opts["max_size"]:
                reason = "larger than max_size"
            elif len(decoded) >= opts["max_decodes"]:
                reason = "max_decodes reached"
            if reason is not None:
                counts["skipped"] += 1
                if len(skipped) < _LISTED_SKIPS:
                    skipped.append({"offset": offset, "length": len(run), "reason": reason})
                continue
            try:
                content = base64.b64decode(run + b"=" * (-len(run) % 4), validate=True)
            except binascii.Error:  # "=" inside the run, or a length no base64 has
                counts["invalid"] += 1
                continue
            decoded.append({"offset": offset, "length": len(run), "size": len(content)})
            meta = PayloadMeta(extra_data={"encoded_offset": offset, "encoding": "base64"})
            extracted.append(ExtractedPayload(content, meta))
        results = {"decoded": decoded, "skipped": skipped, "runs": counts}
        return WorkerResponse(results, extracted=extracted)
