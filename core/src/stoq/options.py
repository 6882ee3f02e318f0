"""Plugin options, typed by the core (SPEC §7): plugins never parse their own options.

Options arrive as text from INI files and the command line (``'5'``, ``'true'``, ``'a,b'``).
Each option a plugin declares in ``DEFAULT_OPTIONS`` is converted to the type of its default;
options without a declared default pass unchanged. Three options belong to the core and are
read here once: ``timeout``, ``isolation`` and ``memory_limit``. A value that does not convert
is a ``StoqConfigError`` naming the plugin, the key and the expected type.
"""

from __future__ import annotations

import json
import math

from stoq.exceptions import StoqConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Mapping, Optional

__all__ = ["CORE_OPTIONS", "CoreOptions", "core_options", "parse_size", "typed_options"]

#: Options the engine itself reads, whatever the plugin.
CORE_OPTIONS = ("timeout", "isolation", "memory_limit")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_EXPECTED = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text",
    list: "a list (comma-separated or a JSON array)",
    tuple: "a list (comma-separated or a JSON array)",
    set: "a list (comma-separated or a JSON array)",
    frozenset: "a list (comma-separated or a JSON array)",
    dict: "a table (a JSON object)",
}


class CoreOptions:
    """The engine's reading of one plugin's ``timeout``, ``isolation`` and ``memory_limit``."""

    __slots__ = ("isolation", "memory_limit", "timeout")

    def __init__(self, timeout: float, isolation: str, memory_limit: Optional[int]) -> None:
        self.timeout = timeout
        self.isolation = isolation
        self.memory_limit = memory_limit


def _fail(plugin: str, key: str, value: Any, expected: str) -> StoqConfigError:
    return StoqConfigError(f"plugin {plugin!r}: option {key!r} = {value!r}: expected {expected}")


def _sequence(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            parsed = json.loads(text)
            if isinstance(parsed, list):
                return parsed
            raise ValueError
        return [item.strip() for item in text.split(",") if item.strip()]
    raise TypeError


def _convert(value: Any, default: Any) -> Any:
    """``value`` as the type of ``default``; TypeError/ValueError when it cannot be."""
    kind = type(default)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, (str, int)) and str(value).strip().lower() in _TRUE + _FALSE:
            return str(value).strip().lower() in _TRUE
        raise ValueError
    if isinstance(default, int):
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, (int, str)):
            return int(value)
        raise TypeError
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise TypeError
        number = float(value)
        if not math.isfinite(number):
            raise ValueError
        return number
    if isinstance(default, str):
        if isinstance(value, (dict, list, tuple, set)):
            raise TypeError
        return value if isinstance(value, str) else str(value)
    if isinstance(default, (list, tuple, set, frozenset)):
        return kind(_sequence(value))
    if isinstance(default, dict):
        parsed = json.loads(value) if isinstance(value, str) else value
        if not isinstance(parsed, dict):
            raise TypeError
        return parsed
    return value


def typed_options(
    plugin: str, options: Mapping[str, Any], defaults: Mapping[str, Any]
) -> Dict[str, Any]:
    """``options`` with each declared option converted to its default's type."""
    typed: Dict[str, Any] = {}
    for key, value in options.items():
        default = defaults.get(key)
        if default is None or key in CORE_OPTIONS or value is default:
            typed[key] = value
            continue
        try:
            typed[key] = _convert(value, default)
        except (TypeError, ValueError):
            expected = _EXPECTED.get(type(default), type(default).__name__)
            raise _fail(plugin, key, value, expected) from None
    return typed


def parse_size(value: Any) -> Optional[int]:
    """A size as bytes: a whole number, or text such as ``512M`` / ``2GiB``; 0 or empty: None."""
    if value in (None, "", 0):
        return None
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        if value < 0:
            raise ValueError
        return value
    text = str(value).strip().lower().replace("ib", "").replace("b", "")
    number, unit = (text[:-1], text[-1]) if text and text[-1] in _UNITS else (text, "")
    size = int(float(number) * _UNITS[unit])
    if size < 0:
        raise ValueError
    return size or None


def core_options(plugin: str, options: Mapping[str, Any], default_timeout: float) -> CoreOptions:
    """Read the core's options of one plugin.

    ``timeout``: seconds per call, a positive number; absent, empty or ``0`` means "not set",
    so the engine's ``plugin_timeout`` applies (there is no way to turn deadlines off).
    """
    raw = options.get("timeout")
    try:
        if isinstance(raw, bool):
            raise TypeError
        timeout = float(raw) if raw not in (None, "") else 0.0
        if timeout < 0 or not math.isfinite(timeout):
            raise ValueError
    except (TypeError, ValueError):
        raise _fail(plugin, "timeout", raw, "a positive number of seconds") from None
    isolation = options.get("isolation", "none")
    if isolation in (None, ""):
        isolation = "none"
    if isolation not in ("none", "process"):
        raise _fail(plugin, "isolation", isolation, "'none' or 'process'")
    raw_limit = options.get("memory_limit")
    try:
        memory_limit = parse_size(raw_limit)
    except (TypeError, ValueError, KeyError):
        raise _fail(plugin, "memory_limit", raw_limit, "bytes, e.g. 536870912 or '512M'") from None
    return CoreOptions(timeout or default_timeout, isolation, memory_limit)
