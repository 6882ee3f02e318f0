"""stoQ v2's ``stoq.helpers``, for plugins written against it (``from stoq import helpers``).

The public v2 plugins call ``helpers.dumps`` to write responses and ``helpers.get_sha1`` and
friends to name payloads; the same names behave the same way here. One deliberate difference:
bytes become UTF-8 text with undecodable bytes escaped (as in every stoQ response), where v2
guessed an encoding.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import traceback
from typing import Any, Iterable, List, Mapping, MutableMapping, Optional

__all__ = [
    "JsonComplexEncoder",
    "dumps",
    "format_exc",
    "get_md5",
    "get_sha1",
    "get_sha256",
    "get_sha512",
    "merge_dicts",
]


class JsonComplexEncoder(json.JSONEncoder):
    """A JSON encoder for what plugins put in results: bytes, datetimes, sets and objects."""

    def default(self, o: Any) -> Any:
        if isinstance(o, (bytes, bytearray, memoryview)):
            return bytes(o).decode("utf-8", "backslashreplace")
        if isinstance(o, datetime.datetime):
            return str(o)
        if isinstance(o, (set, frozenset)):
            return list(o)
        to_dict = getattr(o, "to_dict", None)
        if callable(to_dict):  # the data classes: the same JSON as their str()
            return to_dict()
        try:
            return vars(o)
        except TypeError:
            return super().default(o)


def dumps(data: Any, indent: Optional[int] = 4, compactly: bool = False) -> str:
    """``data`` as JSON text: indented by ``indent`` unless ``compactly`` or no indent."""
    if compactly or not indent:
        indent = None
    return json.dumps(data, indent=indent, cls=JsonComplexEncoder, ensure_ascii=False)


def get_md5(content: bytes) -> str:
    """Hex MD5 of ``content``."""
    return hashlib.md5(content).hexdigest()


def get_sha1(content: bytes) -> str:
    """Hex SHA-1 of ``content``."""
    return hashlib.sha1(content).hexdigest()


def get_sha256(content: bytes) -> str:
    """Hex SHA-256 of ``content``."""
    return hashlib.sha256(content).hexdigest()


def get_sha512(content: bytes) -> str:
    """Hex SHA-512 of ``content``."""
    return hashlib.sha512(content).hexdigest()


def format_exc(exc: BaseException, limit: int = -1, msg: Optional[str] = None) -> str:
    """One line naming where ``exc`` was raised and what it is, optionally after ``msg``.

    The shape is v2's: ``File "...", line N, in f ; module.Type: message``; an exception that
    was never raised (no traceback) gives just the type and message.
    """
    kind = type(exc).__qualname__
    if type(exc).__module__ not in ("__main__", "builtins"):
        kind = f"{type(exc).__module__}.{kind}"
    text = f"{kind}: {exc}"
    frames = traceback.format_tb(exc.__traceback__, limit=limit) if exc.__traceback__ else []
    if frames:
        text = f"{frames[0].splitlines()[0].strip()} ; {text}"
    return f"{msg}: {text}" if msg else text


def merge_dicts(
    d1: MutableMapping[str, List[Any]], d2: Mapping[str, Iterable[Any]]
) -> MutableMapping[str, List[Any]]:
    """Extend each list in ``d1`` with ``d2``'s list under the same key; returns ``d1``."""
    for key, values in d2.items():
        d1.setdefault(key, []).extend(values)
    return d1
