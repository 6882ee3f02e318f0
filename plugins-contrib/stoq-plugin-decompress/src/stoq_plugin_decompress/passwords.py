"""The passwords to try on a payload: its own, the request's, then the configured list."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List

from stoq.data_classes import Payload, RequestMeta

__all__ = ["passwords_for"]


def _from_extra(extra: Any) -> List[str]:
    """``password`` (one) and ``passwords`` (a list; a single string is one password)."""
    if not isinstance(extra, dict):
        return []
    found = []
    single = extra.get("password")
    if single not in (None, ""):
        found.append(str(single))
    many = extra.get("passwords")
    if isinstance(many, (list, tuple)):
        found.extend(str(p) for p in many if p not in (None, ""))
    elif many not in (None, ""):
        found.append(str(many))
    return found


def passwords_for(
    payload: Payload, request_meta: RequestMeta, configured: Iterable[str]
) -> List[str]:
    """Ordered, without duplicates: the submitter's passwords are tried first."""
    ordered: Dict[str, None] = {}
    for source in (
        _from_extra(payload.payload_meta.extra_data),
        _from_extra(request_meta.extra_data),
        configured,
    ):
        ordered.update(dict.fromkeys(source))
    return list(ordered)
