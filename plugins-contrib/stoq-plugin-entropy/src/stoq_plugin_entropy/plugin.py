"""Shannon entropy of a payload's byte distribution, in bits per byte (0 to 8)."""

from __future__ import annotations

import math
from collections import Counter
from typing import Optional

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

__all__ = ["EntropyPlugin", "shannon_entropy"]


def shannon_entropy(content: bytes) -> float:
    """Bits of information per byte; 0.0 for empty or single-valued content.

    ``Counter`` over the bytes was measured about three times faster than 256 calls of
    ``bytes.count`` at every size from 256 bytes to 16 MiB (see the README).
    """
    size = len(content)
    if size == 0:
        return 0.0
    total = 0.0
    for count in Counter(content).values():
        share = count / size
        total -= share * math.log2(share)
    return total


class EntropyPlugin(WorkerPlugin):
    """Reports ``{"entropy": bits per byte}``: near 8 for compressed or encrypted data."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse({"entropy": shannon_entropy(payload.content)})
