"""Which of its passes libmagic runs on a buffer: text (ASCII) or binary only.

Kept apart from ``textrules`` (the database reader) so the plugin can sort payloads from the
first one on without importing the reader, which a short run never needs.
"""

from __future__ import annotations

__all__ = ["ENCODING_MAX", "MARKS", "TEXT_BYTES", "binary"]

#: Bytes that make content ASCII text for libmagic (its ``text_chars`` table, below 0x80).
TEXT_BYTES = bytes([7, 8, 9, 10, 11, 12, 13, 27, *range(32, 127)])
#: libmagic's FILE_ENCODING_MAX: how much of a buffer its encoding check reads.
ENCODING_MAX = 64 * 1024
#: Byte-order marks of UTF-16 and UTF-32 (the only text libmagic finds with NUL bytes).
MARKS = (b"\xff\xfe", b"\xfe\xff", b"\0\0\xfe\xff")


def binary(head: bytes) -> bool:
    """Whether libmagic runs only its binary pass on ``head`` (why: ``textrules``' docstring)."""
    if head.startswith(MARKS):
        return False
    trimmed = len(head.rstrip(b"\0")) if head[-1:] == b"\0" else len(head)
    return head.find(b"\0", 0, min(trimmed, ENCODING_MAX)) >= 0
