"""JSON output that never guesses and never fails: SPEC §5.7.

Bytes become UTF-8 text with undecodable bytes escaped (``\\xff``), in values and in keys; times
are ISO 8601; NaN and the infinities (which standard JSON lacks) become the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``; text holding lone surrogates (undecodable file names read
with ``surrogateescape``) is escaped the same way as bytes. The result is always valid UTF-8.
"""

from __future__ import annotations

import json
import json.encoder
import math
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Optional, Tuple

__all__ = ["dumps", "iso_now", "iso_utc", "jsonable", "to_jsonable"]

#: Deeper nesting than this is refused (json itself would hit the recursion limit).
MAX_DEPTH = 200
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _text(value: str) -> str:
    """``value`` if it encodes as UTF-8; otherwise with its lone surrogates escaped."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "surrogateescape" if _escapable(value) else "backslashreplace")
        return raw.decode("utf-8", "backslashreplace")


def _escapable(value: str) -> bool:
    """Whether every surrogate in ``value`` stands for an undecodable byte (U+DC80..U+DCFF)."""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _text(key)
    if isinstance(key, (bytes, bytearray, memoryview)):
        return bytes(key).decode("utf-8", "backslashreplace")
    if key is None or isinstance(key, bool):
        return json.dumps(key)
    if isinstance(key, float) and not math.isfinite(key):
        return "NaN" if key != key else _NON_FINITE[key]
    if isinstance(key, (int, float)):
        return json.dumps(key)
    return _text(str(key))


#: The last whole second ``iso_utc`` or ``iso_now`` wrote, and its text.
_second: Tuple[int, str] = (-1, "")


def iso_utc(timestamp: float) -> str:
    """``datetime.fromtimestamp(timestamp, timezone.utc).isoformat()``, without importing
    ``datetime`` (its import is ~1 % of a small ``stoq scan``): microseconds rounded half to
    even, left out when zero."""
    fraction, whole = math.modf(timestamp)
    seconds, micros = int(whole), round(fraction * 1e6)
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    elif micros < 0:
        seconds, micros = seconds - 1, micros + 1_000_000
    return _iso(seconds, micros)


def iso_now() -> str:
    """The time now, as ``iso_utc`` writes it, from the integer clock: no float to round
    (0.49 -> 0.37 us; a response's time is written once per request)."""
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    return _iso(seconds, nanos // 1000)


def _iso(seconds: int, micros: int) -> str:
    global _second
    if _second[0] != seconds:  # one strftime per second of responses (a tuple: thread-safe)
        _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    text = _second[1]
    return f"{text}.{micros:06d}+00:00" if micros else f"{text}+00:00"


def _is_date(obj: Any) -> bool:
    """Whether ``obj`` is a date or datetime. Without ``datetime`` imported none can exist; a
    scan that makes none then never imports it (~1 % of a small ``stoq scan``)."""
    module = sys.modules.get("datetime")
    return module is not None and isinstance(obj, module.date)


def _default(obj: Any) -> Any:
    """Non-JSON values as JSON ones (one level; ``jsonable`` recurses)."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "backslashreplace")
    if _is_date(obj):
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


def jsonable(value: Any, _depth: int = 0, _path: Optional[set[int]] = None) -> Any:
    """A copy of ``value`` made only of standard JSON types, following §5.7's rules.

    Raises ``ValueError`` for what cannot be written at all (a container that contains itself,
    nesting deeper than ``MAX_DEPTH``); an object's ``to_dict`` that raises propagates.
    """
    if value is None or value is True or value is False:
        return value
    kind = type(value)
    if kind is str:
        return _text(value)
    if kind is int:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        return "NaN" if value != value else _NON_FINITE[value]
    if _depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, (dict, list, tuple)):
        path = set() if _path is None else _path
        if id(value) in path:
            raise ValueError(f"a {type(value).__name__} that contains itself")
        path.add(id(value))
        try:
            if isinstance(value, dict):
                return {_key(k): jsonable(v, _depth + 1, path) for k, v in value.items()}
            return [jsonable(v, _depth + 1, path) for v in value]
        finally:
            path.discard(id(value))
    if isinstance(value, str):  # subclasses (str enums and the like): their text, as json writes
        return _text(str.__str__(value))
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return jsonable(float(value))
    return jsonable(_default(value), _depth + 1, _path)


def to_jsonable(value: Any) -> Any:
    """Plain JSON types pass through; anything else is converted as the encoder would."""
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return _default(value)


def _compact_encoder() -> Callable[[Any], str]:
    """``json.dumps(obj, default=_default, separators=(",", ":"), ensure_ascii=False,
    allow_nan=False)`` without the ``JSONEncoder`` that json.dumps builds and configures in
    Python on every call: the same C encoder it would use, made directly (fresh circular-
    reference markers each call, as json.dumps has). ~13k instructions less per response."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the _json accelerator
        return json.JSONEncoder(
            default=_default, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode
    quote = json.encoder.encode_basestring

    def encode(obj: Any) -> str:
        return "".join(make({}, _default, quote, None, ":", ",", False, False, False)(obj, 0))

    return encode


_compact = _compact_encoder()


def dumps(obj: Any, indent: Optional[int] = None) -> str:
    """Serialise a response (or any result) to JSON text that always encodes as UTF-8.

    The common case (results already plain JSON) costs one pass of the C encoder; anything
    else is converted by ``jsonable`` first.
    """
    try:
        if indent is None:
            text = _compact(obj)
        else:
            text = json.dumps(
                obj, default=_default, indent=indent, ensure_ascii=False, allow_nan=False
            )
        if not text.isascii():  # only non-ASCII text can hold a lone surrogate
            text.encode("utf-8")
        return text
    except (TypeError, ValueError, UnicodeEncodeError):
        pass
    separators = (",", ":") if indent is None else None
    return json.dumps(
        jsonable(obj), indent=indent, separators=separators, ensure_ascii=False, allow_nan=False
    )
