"""The per-payload limits and the bounded sink every member's bytes go through.

Decompressed bytes are counted as they arrive, chunk by chunk, so an archive that lies about
its sizes (a zip bomb) is stopped at the limit: memory never holds more than the limits allow.
"""

from __future__ import annotations

from typing import Any, Dict, NamedTuple

__all__ = ["CHUNK_SIZE", "RATIO_FLOOR", "Limits", "StopExtraction"]

MIB = 1024 * 1024
#: Bytes asked of a decompressor at a time.
CHUNK_SIZE = MIB
#: The expansion ratio is enforced only past this many decompressed bytes, so small, highly
#: compressible payloads (a 100-byte gzip of 30 KB of text) are not reported as bombs.
RATIO_FLOOR = MIB


class StopExtraction(Exception):
    """A payload-wide limit was reached: extraction of this payload ends here."""


def _positive(options: Dict[str, Any], name: str) -> Any:
    """Option ``name``, which the core already typed after its default, checked positive."""
    value = options[name]
    if value <= 0:
        raise ValueError(f"decompress: option {name!r} must be a positive number, got {value!r}")
    return value


class Limits(NamedTuple):
    """What one payload's extraction may produce (a named tuple: ``dataclasses`` would import
    ``inspect``, ~8 ms of every scan that meets an archive)."""

    max_members: int
    max_member_size: int
    max_total_bytes: int
    max_ratio: float

    @classmethod
    def from_options(cls, options: Dict[str, Any]) -> Limits:
        return cls(
            max_members=_positive(options, "max_members"),
            max_member_size=_positive(options, "max_member_size"),
            max_total_bytes=_positive(options, "max_total_bytes"),
            max_ratio=_positive(options, "max_ratio"),
        )

    def expansion_cap(self, input_size: int) -> int:
        """Decompressed bytes allowed for an input of ``input_size`` bytes (ratio and floor)."""
        return max(int(self.max_ratio * input_size), RATIO_FLOOR)
