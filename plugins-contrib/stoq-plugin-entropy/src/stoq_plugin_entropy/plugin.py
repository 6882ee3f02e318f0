"""Shannon entropy of a payload's byte distribution, in bits per byte (0 to 8)."""

from __future__ import annotations

import os
import sys
from collections import Counter
from functools import cache, reduce
from math import log2
from operator import mul, sub

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, List, Optional, Tuple

__all__ = ["NUMPY_FROM", "EntropyPlugin", "byte_counts", "shannon_entropy"]

#: Payloads from this size on are counted with numpy. Smaller ones use ``Counter`` unless
#: numpy is already imported, so a scan of small files never pays numpy's import (~60 ms).
NUMPY_FROM = 64 * 1024
#: From this size on, numpy counts 16-bit pairs (half the elements to bin, a 64 Ki table);
#: below it one ``bincount`` over the bytes (256 bins) is cheaper.
PAIRS_FROM = 1024 * 1024
#: Byte pairs counted per ``bincount`` call: bounds the temporary index array to 2 MiB.
_CHUNK = 256 * 1024
#: From this many byte values present on, each distinct count's term is computed once (the
#: plugin on 2 KiB of random bytes: 24.7 -> 18.8 us); text holds fewer values, nearly all
#: counts distinct, and term by term is quicker there (the sum: 3.7 against 5.0 us).
DISTINCT_FROM = 128


def _counts_python(content: bytes) -> List[Tuple[int, int]]:
    return sorted(Counter(content).items())


@cache
def _import_numpy() -> Any:
    """numpy, without the OpenBLAS worker threads it starts by default (unless the user set
    OPENBLAS_NUM_THREADS): counting needs no BLAS, and stoQ forks its consumer processes only
    while the parent has a single thread, spawning slower fresh interpreters otherwise.
    Cached: setting the variable again on every call cost ~3 us."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy

    return numpy


def _count_array(content: bytes) -> Any:
    """numpy's 256 counts of each byte value, from counts of 16-bit pairs for large content
    (half the elements to bin): each pair adds one to its low byte's and its high byte's
    count, whatever the byte order."""
    numpy = _import_numpy()
    if len(content) < PAIRS_FROM:
        return numpy.bincount(numpy.frombuffer(content, dtype=numpy.uint8), minlength=256)
    pairs = numpy.frombuffer(content, dtype=numpy.uint16, count=len(content) // 2)
    table = numpy.zeros(65536, dtype=numpy.int64)
    for start in range(0, len(pairs), _CHUNK):
        table += numpy.bincount(pairs[start : start + _CHUNK], minlength=65536)
    square = table.reshape(256, 256)
    counts = square.sum(axis=0) + square.sum(axis=1)
    if len(content) % 2:
        counts[content[-1]] += 1
    return counts


def _counts_numpy(content: bytes) -> List[Tuple[int, int]]:
    return [(value, count) for value, count in enumerate(_count_array(content).tolist()) if count]


def _use_numpy(content: bytes) -> bool:
    return len(content) >= NUMPY_FROM or "numpy" in sys.modules


def byte_counts(content: bytes) -> List[Tuple[int, int]]:
    """``(byte value, occurrences)`` for each value present, in value order."""
    return _counts_numpy(content) if _use_numpy(content) else _counts_python(content)


def _by_share(shares: List[float]) -> float:
    """``-share * log2(share)`` subtracted in order; ``map`` and ``reduce`` run the loop in C
    (a Python loop cost ~2x more)."""
    return reduce(sub, map(mul, shares, map(log2, shares)), 0.0)


def _by_distinct_count(counts: List[int], size: int) -> float:
    """What ``_by_share`` gives for these counts, each distinct count's term computed once:
    content holding most byte values (compressed, encrypted, random) has few distinct counts
    among them (2 KiB of random bytes: 256 values, ~15 counts)."""
    term = {count: (count / size) * log2(count / size) for count in set(counts)}
    return reduce(sub, map(term.__getitem__, counts), 0.0)


def shannon_entropy(content: bytes) -> float:
    """Bits of information per byte; 0.0 for empty or single-valued content.

    Each present value's term subtracted in value order, whichever way the bytes were counted
    and the terms computed, so the result is the same float.
    """
    if not content:
        return 0.0
    size = len(content)
    if _use_numpy(content):
        counts = _count_array(content)
        present = counts[counts.nonzero()]
        if len(present) >= DISTINCT_FROM:
            return _by_distinct_count(present.tolist(), size)
        return _by_share((present / size).tolist())  # the same division, in C
    counted = [count for _value, count in _counts_python(content)]
    if len(counted) >= DISTINCT_FROM:
        return _by_distinct_count(counted, size)
    return _by_share([count / size for count in counted])


class EntropyPlugin(WorkerPlugin):
    """Reports ``{"entropy": bits per byte}``: near 8 for compressed or encrypted data."""

    #: Forked consumers may share one started instance (numpy only).
    fork_safe = True

    @classmethod
    def preload(cls) -> None:
        """Before consumers fork: import numpy once in the parent (each would pay ~60 ms)."""
        _import_numpy()

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse({"entropy": shannon_entropy(payload.content)})
