"""The code signature's SuperBlob: signing identifier, ad-hoc flag and entitlements.

Layout (big-endian, from Apple's cs_blobs.h): a SuperBlob (magic 0xfade0cc0, length, count)
indexes blobs by type and offset; the CodeDirectory (0xfade0c02) holds the flags and the
identifier, the entitlements blob (0xfade7171) an XML property list.
"""

from __future__ import annotations

import struct
from typing import Any, Dict, Optional

__all__ = ["read_signature"]

_SUPERBLOB, _CODE_DIRECTORY = 0xFADE0CC0, 0xFADE0C02
_ENTITLEMENTS, _DER_ENTITLEMENTS = 0xFADE7171, 0xFADE7172
_ADHOC = 0x2
_MAX_BLOBS = 64


def _blob(data: bytes, offset: int) -> Optional[tuple]:
    """(magic, payload) of the blob at ``offset``, or None if it runs past the end."""
    if offset + 8 > len(data):
        return None
    magic, length = struct.unpack_from(">II", data, offset)
    if length < 8 or offset + length > len(data):
        return None
    return magic, data[offset + 8 : offset + length]


def _identifier(directory: bytes) -> Dict[str, Any]:
    # After magic and length (stripped): version, flags, hashOffset, identOffset, ...
    if len(directory) < 16:
        return {}
    _version, flags, _hashes, ident = struct.unpack_from(">IIII", directory)
    start = ident - 8
    end = directory.find(b"\0", start) if 0 <= start < len(directory) else -1
    name = directory[start:end].decode("utf-8", "replace") if end > start else None
    return {"identifier": name, "adhoc": bool(flags & _ADHOC)}


def read_signature(data: bytes, max_entitlements: int) -> Dict[str, Any]:
    """What the signature blob says; ``valid_structure`` is False when it is not a SuperBlob."""
    found: Dict[str, Any] = {"size": len(data), "valid_structure": False}
    if len(data) < 12 or struct.unpack_from(">I", data)[0] != _SUPERBLOB:
        return found
    count = struct.unpack_from(">I", data, 8)[0]
    found["valid_structure"] = True
    found["entitlements"] = None
    for index in range(min(count, _MAX_BLOBS)):
        if 12 + index * 8 + 8 > len(data):
            break
        _kind, offset = struct.unpack_from(">II", data, 12 + index * 8)
        blob = _blob(data, offset)
        if blob is None:
            continue
        magic, body = blob
        if magic == _CODE_DIRECTORY and "identifier" not in found:
            found.update(_identifier(body))
        elif magic == _ENTITLEMENTS:
            found["entitlements"] = body[:max_entitlements].decode("utf-8", "replace")
        elif magic == _DER_ENTITLEMENTS:
            found["der_entitlements_size"] = len(body)
    return found
