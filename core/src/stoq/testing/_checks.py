"""Checks on what a plugin returned; each gives a sentence saying what is wrong, or None."""

from __future__ import annotations

import json
import math
from typing import Any, Collection, Iterable, List, Optional, Tuple, Type, Union

from stoq.data_classes import Error, ExtractedPayload, Payload, PayloadMeta

__all__ = [
    "errors_problem",
    "extracted_problem",
    "json_problem",
    "names_problem",
    "optional_names_problem",
    "payload_meta_problem",
    "type_problem",
]

_SCALARS = (str, int, bool, type(None))


def _find_unserialisable(value: Any, where: str) -> Optional[str]:
    """The first value ``json.dumps`` (strict: no default hook, no NaN) would refuse."""
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} is {value!r}, which is not valid JSON"
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool, type(None))):
                return f"{where} has a key of type {type(key).__name__} ({key!r})"
            found = _find_unserialisable(item, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _find_unserialisable(item, f"{where}[{index}]")
            if found:
                return found
        return None
    return f"{where} is a {type(value).__name__} ({_short(value)}), which json.dumps cannot encode"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_problem(value: Any, where: str) -> Optional[str]:
    """Whether ``json.dumps(value)`` works without a ``default`` hook; if not, which part fails."""
    found = _find_unserialisable(value, where)
    if found:
        return (
            f"{found}; results must be plain JSON types (str, int, float, bool, None, list, dict)"
        )
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:  # e.g. a circular reference
        return f"json.dumps({where}) failed: {exc}"
    return None


def type_problem(result: Any, expected: Union[Type[Any], Tuple[Type[Any], ...]]) -> Optional[str]:
    """``None`` or an instance of ``expected`` is right; anything else is named."""
    if result is None or isinstance(result, expected):
        return None
    names = (
        expected.__name__
        if isinstance(expected, type)
        else " or ".join(t.__name__ for t in expected)
    )
    return f"returned {type(result).__name__} ({_short(result)}), expected {names} or None"


def errors_problem(errors: Any) -> Optional[str]:
    """A response's ``errors`` is a list of strings or ``Error`` records."""
    if not isinstance(errors, list):
        return f"errors is a {type(errors).__name__}, expected a list of str or stoq.Error"
    for index, item in enumerate(errors):
        if not isinstance(item, (str, Error)):
            return f"errors[{index}] is a {type(item).__name__} ({_short(item)}), expected str or stoq.Error"
    return None


def payload_meta_problem(meta: Any, where: str) -> Optional[str]:
    """Metadata travels with a payload into the JSON result, so it must serialise too."""
    if not isinstance(meta, PayloadMeta):
        return f"{where} is a {type(meta).__name__}, expected stoq.PayloadMeta"
    if not isinstance(meta.dispatch_to, list) or not all(
        isinstance(n, str) for n in meta.dispatch_to
    ):
        return f"{where}.dispatch_to is {_short(meta.dispatch_to)}, expected a list of plugin names"
    return json_problem(meta.extra_data, f"{where}.extra_data")


def extracted_problem(extracted: Any) -> Optional[str]:
    """Each extracted item is an ExtractedPayload with bytes content and serialisable metadata."""
    if not isinstance(extracted, list):
        return f"extracted is a {type(extracted).__name__}, expected a list of ExtractedPayload"
    for index, item in enumerate(extracted):
        where = f"extracted[{index}]"
        if not isinstance(item, (ExtractedPayload, Payload)):
            return f"{where} is a {type(item).__name__} ({_short(item)}), expected ExtractedPayload"
        if not isinstance(item.content, bytes):
            return f"{where}.content is a {type(item.content).__name__}, expected bytes"
        problem = payload_meta_problem(item.payload_meta, f"{where}.payload_meta")
        if problem:
            return problem
    return None


def optional_names_problem(names: Any) -> Optional[str]:
    """``if_installed`` is default routing: names that need not be installed, but a list."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return f"if_installed is {_short(names)}, expected a list of plugin names"
    return None


def names_problem(
    names: Any, available: Collection[str], external: Iterable[str], errors: List[Any]
) -> Optional[str]:
    """Dispatched names must exist in the test Stoq, be declared external, or be reported."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return f"plugin_names is {_short(names)}, expected a list of plugin names"
    said = " ".join(e.error if isinstance(e, Error) else str(e) for e in errors)
    allowed = set(external)
    missing = [n for n in names if n not in available and n not in allowed and n not in said]
    if missing:
        return (
            f"names plugin(s) {', '.join(map(repr, missing))} that are not installed in the test"
            f" environment (installed: {', '.join(sorted(available)) or 'none'}); list them in"
            " external_plugins if another distribution provides them, or report them in errors"
        )
    return None
