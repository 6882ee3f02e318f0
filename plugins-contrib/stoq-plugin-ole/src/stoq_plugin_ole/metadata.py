"""Summary and document-summary properties of an OLE file as JSON-ready values.

olefile returns text properties as bytes in the file's codepage, times as ``datetime``; the
codepage is decoded here so names like the author's come out as the author typed them.
"""

from __future__ import annotations

import codecs
import datetime
from typing import Any, Dict, Optional

__all__ = ["metadata"]

#: Codepages whose Windows number does not map onto a Python codec name by ``cp<number>``.
_CODEPAGES = {65001: "utf-8", 1200: "utf-16-le", 1201: "utf-16-be", 10000: "mac-roman"}


def _codec(codepage: Optional[int]) -> str:
    name = _CODEPAGES.get(codepage or 0, f"cp{codepage}")
    try:
        codecs.lookup(name)
    except LookupError:
        return "latin-1"
    return name


def _value(value: Any, codec: str) -> Any:
    if isinstance(value, bytes):
        return value.decode(codec, "replace").rstrip("\x00").strip() or None
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, (bool, int, float, str)):
        return value
    return None


def metadata(meta: Any) -> Dict[str, Any]:
    """Every non-empty property olefile parsed (``author``, ``create_time``, ``codepage``, ...)."""
    codec = _codec(meta.codepage if isinstance(meta.codepage, int) else None)
    found: Dict[str, Any] = {}
    for name in list(meta.SUMMARY_ATTRIBS) + list(meta.DOCSUM_ATTRIBS):
        value = _value(getattr(meta, name, None), codec)
        if value is not None and name not in found:
            found[name] = value
    return found
