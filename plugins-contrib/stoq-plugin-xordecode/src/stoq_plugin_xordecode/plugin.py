"""The ``xordecode`` stoQ plugin: payloads XORed with a short repeating key, decoded.

Known plaintext finds the key without trying every key: for a key of length ``k``, the XOR of
each byte with the byte ``k`` further on cancels the key (``c[i] ^ c[i+k] == p[i] ^ p[i+k]``),
so searching that difference stream for the difference of a known plaintext (the DOS stub's
"This program cannot be run in DOS mode", "http://") finds where it sits, and the key is read
off there. Each key length costs one pass over the payload, done with big-integer XOR in C.
A hit with an all-zero key is plaintext in the clear and is ignored, so a decoded payload never
decodes again.
"""

from __future__ import annotations

import sys
from functools import cache

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Dict, Iterator, List, Optional, Tuple

__all__ = ["XordecodePlugin", "xor"]

#: Known plaintexts; each finds keys up to ``len(text) - 4`` bytes long (four bytes of evidence).
PLAINTEXTS: Tuple[bytes, ...] = (
    b"This program cannot be run in DOS mode",
    b"This program must be run under Win32",
    b"https://",
    b"http://",
)
_EVIDENCE = 4
#: Occurrences of one plaintext examined per key length (several regions, several keys).
_HITS_PER_TEXT = 64


def xor(data: bytes, key: bytes) -> bytes:
    """``data`` XORed with ``key`` repeated from offset 0."""
    if not data:
        return b""
    stream = (key * (len(data) // len(key) + 1))[: len(data)]
    mixed = int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")
    return mixed.to_bytes(len(data), "big")


def _shifted_difference(data: bytes, shift: int) -> bytes:
    """``d[i] = data[i] ^ data[i + shift]`` for every ``i`` where both exist."""
    return xor(data[:-shift], data[shift:]) if len(data) > shift else b""


@cache
def _patterns(length: int) -> Tuple[Tuple[bytes, bytes], ...]:
    """``(plaintext, its shifted difference)`` for each plaintext long enough for ``length``."""
    return tuple(
        (text, _shifted_difference(text, length))
        for text in PLAINTEXTS
        if len(text) - length >= _EVIDENCE
    )


def _differences(data: bytes, max_length: int) -> Iterator[Tuple[int, bytes]]:
    """``(length, _shifted_difference(data, length))`` for each length up to ``max_length``.

    With numpy (when something imported it already: entropy and fuzzyhash do) each is one
    vectorised XOR; otherwise the payload is read into one big integer once and XORed with
    itself shifted by whole bytes (its first ``length`` bytes are the payload's own, dropped).
    Building two integers per length, as ``xor`` does, cost ~4x more, and numpy ~4x less.
    """
    if "numpy" in sys.modules:
        import numpy

        array = numpy.frombuffer(data, dtype=numpy.uint8)
        for length in range(1, max_length + 1):
            yield length, (array[:-length] ^ array[length:]).tobytes()
        return
    number = int.from_bytes(data, "big")
    for length in range(1, max_length + 1):
        yield length, (number ^ (number >> 8 * length)).to_bytes(len(data), "big")[length:]


def _minimal_key(key: bytes) -> bytes:
    """The shortest key that repeats to ``key`` (``abab`` → ``ab``)."""
    for length in range(1, len(key)):
        if len(key) % length == 0 and key[:length] * (len(key) // length) == key:
            return key[:length]
    return key


def find_keys(data: bytes, max_key_length: int) -> List[Tuple[bytes, int, bytes]]:
    """``(key aligned to offset 0, offset of the plaintext, plaintext)`` for each key found."""
    found: Dict[bytes, Tuple[int, bytes]] = {}
    for length, difference in _differences(data, max_key_length):
        for text, wanted in _patterns(length):
            at = difference.find(wanted)
            for _ in range(_HITS_PER_TEXT):
                if at < 0:
                    break
                phase = [data[at + j] ^ text[j] for j in range(length)]
                key = _minimal_key(bytes(phase[(j - at) % length] for j in range(length)))
                if any(key):
                    found.setdefault(key, (at, text))
                at = difference.find(wanted, at + 1)
    return [(key, at, text) for key, (at, text) in found.items()]


class XordecodePlugin(WorkerPlugin):
    """Finds XOR keys by known plaintext and extracts each decoded payload."""

    #: Typed defaults; a config file's [plugins.xordecode] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_key_length": 8,
        "max_keys": 4,
        "max_size": 16 * 1024 * 1024,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Report each key found (hex, length, where the plaintext was) and extract the decoding."""
        opts = self.plugin_opts
        data = payload.content
        if len(data) > opts["max_size"]:
            return WorkerResponse({"keys": [], "skipped": "payload larger than max_size"})
        keys: List[Dict[str, Any]] = []
        extracted: List[ExtractedPayload] = []
        found = find_keys(data, opts["max_key_length"])
        for key, at, text in found[: opts["max_keys"]]:
            plaintext = text.decode("ascii")
            keys.append(
                {"key": key.hex(), "length": len(key), "offset": at, "plaintext": plaintext}
            )
            meta = PayloadMeta(extra_data={"xor_key": key.hex(), "encoding": "xor"})
            extracted.append(ExtractedPayload(xor(data, key), meta))
        results: Dict[str, Any] = {"keys": keys}
        if len(found) > opts["max_keys"]:
            results["skipped"] = f"{len(found) - opts['max_keys']} more keys past max_keys"
        return WorkerResponse(results, extracted=extracted)
