"""JSON output that never guesses: bytes become escaped UTF-8 text, times are ISO 8601."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Optional

__all__ = ["dumps", "to_jsonable"]


def _default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "backslashreplace")
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset)):
        items = list(obj)
        try:
            return sorted(items)
        except TypeError:
            return items
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if hasattr(obj, "__dict__"):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    return repr(obj)


def to_jsonable(value: Any) -> Any:
    """Plain JSON types pass through; anything else is converted as the encoder would."""
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return _default(value)


def dumps(obj: Any, indent: Optional[int] = None) -> str:
    """Serialise a response (or any result) to JSON text."""
    if indent is None:
        return json.dumps(obj, default=_default, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(obj, default=_default, indent=indent, ensure_ascii=False)
