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
    from typing import Any, ClassVar, Dict, Iterator, List, Optional, Tuple, Union

    #: ``(key length, buffer, start, end)``: the differences are ``buffer[start:end]``.
    Differences = Iterator[Tuple[int, Union[bytes, bytearray], int, int]]

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
#: Bytes of differences (payload size times key lengths) up to which one numpy XOR computes
#: every key length's at once. Above it the block leaves the cache, and one length at a time
#: in a reused buffer is faster (64 KiB: 437 against 894 µs; 2.5 KB: 30 against 25).
_BLOCK_BYTES = 256 * 1024


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


def _common_prefix(first: bytes, second: bytes) -> bytes:
    size = 0
    while size < min(len(first), len(second)) and first[size] == second[size]:
        size += 1
    return first[:size]


@cache
def _groups(length: int) -> Tuple[Tuple[bytes, Tuple[Tuple[bytes, bytes], ...]], ...]:
    """``_patterns(length)`` in order, grouped: plaintexts sharing a prefix long enough to be
    evidence on its own (the two DOS stub texts share "This program "), with the shifted
    difference of that prefix. A payload without the prefix's difference holds none of the
    group's: one search instead of one per plaintext (a third of xordecode's searches)."""
    groups: List[Tuple[bytes, List[Tuple[bytes, bytes]]]] = []
    for text, wanted in _patterns(length):
        if groups:
            prefix = _common_prefix(groups[-1][0], text)
            if len(prefix) - length >= _EVIDENCE:
                groups[-1] = (prefix, groups[-1][1] + [(text, wanted)])
                continue
        groups.append((text, [(text, wanted)]))
    return tuple((_shifted_difference(prefix, length), tuple(g)) for prefix, g in groups)


def _differences(data: bytes, max_length: int) -> Differences:
    """``(length, buffer, start, end)`` for each length up to ``max_length``, where
    ``buffer[start:end]`` is ``_shifted_difference(data, length)`` (found in place with
    ``find(wanted, start, end)``, never sliced out).

    With numpy (when something imported it already: entropy and fuzzyhash do) a small payload
    gets every length from one XOR with a strided view of itself, each row shifted one byte
    further (on 2 KB, one call instead of eight); a larger one (``_BLOCK_BYTES``), one length
    at a time (``_in_place``). Otherwise the payload is read into one big integer once and
    XORed with itself shifted by whole bytes (its first ``length`` bytes are its own, skipped).
    """
    size = len(data)
    if "numpy" in sys.modules:
        import numpy

        if size * max_length > _BLOCK_BYTES:
            yield from _in_place(numpy, data, max_length)
            return
        padded = numpy.frombuffer(data + bytes(max_length + 1), dtype=numpy.uint8)
        shifted = numpy.ndarray((max_length, size), numpy.uint8, padded, 1, (1, 1))
        block = (shifted ^ padded[:size]).tobytes()
        for length in range(1, max_length + 1):
            start = (length - 1) * size
            yield length, block, start, start + max(size - length, 0)
        return
    number = int.from_bytes(data, "big")
    for length in range(1, max_length + 1):
        yield length, (number ^ (number >> 8 * length)).to_bytes(size, "big"), length, size


def _in_place(numpy: Any, data: bytes, max_length: int) -> Differences:
    """``_differences`` of a large payload: each length's XOR written into one buffer of the
    payload's size, reused. The strided view needs a padded copy of the payload, and a new
    buffer per length would live beside the last one: each adds the payload's size to the
    peak (at ``max_size``, 16 MiB: 16 MiB allocated instead of 64)."""
    size = len(data)
    array = numpy.frombuffer(data, dtype=numpy.uint8)
    buffer = bytearray(size)
    out = numpy.frombuffer(buffer, dtype=numpy.uint8)
    for length in range(1, max_length + 1):
        count = max(size - length, 0)
        numpy.bitwise_xor(array[:count], array[length : length + count], out=out[:count])
        yield length, buffer, 0, count


def _minimal_key(key: bytes) -> bytes:
    """The shortest key that repeats to ``key`` (``abab`` → ``ab``)."""
    for length in range(1, len(key)):
        if len(key) % length == 0 and key[:length] * (len(key) // length) == key:
            return key[:length]
    return key


def find_keys(data: bytes, max_key_length: int) -> List[Tuple[bytes, int, bytes]]:
    """``(key aligned to offset 0, offset of the plaintext, plaintext)`` for each key found."""
    found: Dict[bytes, Tuple[int, bytes]] = {}
    for length, buffer, start, end in _differences(data, max_key_length):
        for prefix, group in _groups(length):
            if len(group) > 1 and buffer.find(prefix, start, end) < 0:
                continue  # none of the group's plaintexts is there
            for text, wanted in group:
                hit = buffer.find(wanted, start, end)
                for _ in range(_HITS_PER_TEXT):
                    if hit < 0:
                        break
                    at = hit - start
                    phase = [data[at + j] ^ text[j] for j in range(length)]
                    key = _minimal_key(bytes(phase[(j - at) % length] for j in range(length)))
                    if any(key):
                        found.setdefault(key, (at, text))
                    hit = buffer.find(wanted, hit + 1, end)
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
