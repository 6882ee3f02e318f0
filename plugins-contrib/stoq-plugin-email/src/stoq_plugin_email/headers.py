"""Header values a reader can use: decoded words, the Received chain, authentication results."""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.message import Message
from typing import Any, Dict, List, Optional

__all__ = ["ADDRESS_HEADERS", "auth_results", "decoded", "received_hop", "summary", "urls_in"]

#: The headers reported by name (lower-case keys in the results).
ADDRESS_HEADERS = ("from", "to", "cc", "bcc", "reply-to", "sender", "return-path")
OTHER_HEADERS = ("subject", "date", "message-id", "in-reply-to", "x-mailer", "user-agent")

_FOLD = re.compile(r"\r?\n[ \t]+")
_RECEIVED_PART = re.compile(r"\b(from|by|with|id|for|via)\s+(\S+)", re.IGNORECASE)
#: ``method=result`` pairs (spf=pass, dkim=fail ...), not ``ptype.property=value`` ones.
_AUTH_RESULT = re.compile(r"(?<![\w.])([a-z][a-z0-9_-]*)\s*=\s*([a-z]+)\b", re.IGNORECASE)


def decoded(value: Any) -> str:
    """RFC 2047 encoded words decoded; anything undecodable is kept as it was."""
    text = _FOLD.sub(" ", str(value))
    try:
        return str(make_header(decode_header(text)))
    except Exception:  # noqa: BLE001 - a hostile header: keep the raw text
        return text


def received_hop(value: str) -> Dict[str, Optional[str]]:
    """One Received header: its from/by/with/id/for clauses and the date after the ';'."""
    text = " ".join(value.split())
    clauses, _, date = text.rpartition(";") if ";" in text else (text, "", "")
    hop: Dict[str, Optional[str]] = {"raw": text[:1000]}
    for keyword, word in _RECEIVED_PART.findall(clauses):
        hop.setdefault(keyword.lower(), word.strip("<>;"))
    hop["date"] = date.strip() or None
    return hop


def auth_results(value: str) -> Dict[str, Any]:
    """``authserv-id; spf=pass ...; dkim=fail ...`` as the id and each method's result."""
    text = " ".join(value.split())
    segments = [segment.strip() for segment in text.split(";")]
    server = next((s for s in segments if s and "=" not in s), None)
    results: Dict[str, str] = {}
    for method, result in _AUTH_RESULT.findall(text):
        results.setdefault(method.lower(), result.lower())
    return {"authserv_id": server, "results": results, "raw": text[:2000]}


def summary(message: Message, max_headers: int) -> Dict[str, Any]:
    """The headers a reader looks at first, the whole list (bounded), and the chains."""
    found: Dict[str, Any] = {}
    for name in ADDRESS_HEADERS + OTHER_HEADERS:
        value = message.get(name)
        if value is not None:
            found[name.replace("-", "_")] = decoded(value)
    items = message.items()
    found["headers"] = [[name, decoded(value)[:2000]] for name, value in items[:max_headers]]
    if len(items) > max_headers:
        found["headers_omitted"] = len(items) - max_headers
    found["received"] = [received_hop(str(v)) for v in message.get_all("received", [])]
    found["authentication_results"] = [
        auth_results(str(v)) for v in message.get_all("authentication-results", [])
    ]
    return found


def urls_in(text: str, limit: int) -> List[str]:
    """http(s) and ftp URLs in text, in order, each once, at most ``limit``."""
    seen: Dict[str, None] = {}
    for match in _URL.finditer(text):
        seen.setdefault(match.group(0).rstrip(".,;:!?)]}'\""), None)
        if len(seen) >= limit:
            break
    return list(seen)


_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`]+", re.IGNORECASE)
